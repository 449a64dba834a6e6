import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { duckDbColumnType, INGESTION_COLUMNS, landedColumns, type ColumnType, type TableDef } from '../../shared/contracts/tables';
import { loadedSlicesSchema } from '../../shared/adapters/gcp/bigquery-schema';
import type { ApplyResultRow, ApplyScript, ParameterType, QueryParameter } from '../../shared/adapters/gcp/bigquery-sql';

/**
 * Runs the BigQuery SQL the loader generates (shared/adapters/gcp/bigquery-sql.ts: the load
 * transaction's text as sent, `ApplyScript.sql`, and `ledgerReadQuery`) in a real SQL engine,
 * DuckDB, so that its joins, predicates and counts are executed rather than read as text. No
 * BigQuery emulator is available here; DuckDB's dialect is close to GoogleSQL for what the script
 * uses, and the difference is bridged by the small set of NAMED, mechanical rewrites below (each
 * one a regular expression or a function). Whatever is left that DuckDB would read differently
 * (a backquote, an `@` parameter, a BigQuery type name, a scripting keyword) makes `translate`
 * THROW: an untranslated statement never runs, and never passes silently.
 *
 * Datasets become DuckDB schemas of the same name (`project.ops.t` → "ops"."t"); the project must
 * be the harness's. BigQuery's TIMESTAMP (an instant) is DuckDB's TIMESTAMPTZ, with the session's
 * time zone set to UTC.
 */

/** GoogleSQL type names → DuckDB, for parameters, ledger columns and CASTs. Anything else throws. */
const TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BOOL: 'BOOLEAN',
  DATE: 'DATE',
  DATETIME: 'TIMESTAMP',
  TIMESTAMP: 'TIMESTAMPTZ',
};
function duckType(bigquery: string): string {
  const t = TYPES[bigquery];
  if (!t) throw new Error(`bigquery-on-duckdb: no DuckDB type for GoogleSQL type ${JSON.stringify(bigquery)}`);
  return t;
}

/** FORMAT_TIMESTAMP / FORMAT_DATE elements → strftime's. Only these: another element throws. */
const FORMAT_ELEMENTS: Record<string, string> = { '%Y': '%Y', '%m': '%m', '%d': '%d', '%H': '%H', '%M': '%M', '%E6S': '%S.%f' };
function strftimeFormat(format: string): string {
  return format.replace(/%E\dS|%./g, (el) => {
    const t = FORMAT_ELEMENTS[el];
    if (!t) throw new Error(`bigquery-on-duckdb: format element ${el} not translated`);
    return t;
  });
}

/** A scalar parameter's name → its declared type; array parameters become temp tables `_param_<name>`. */
interface Params {
  scalars: Map<string, string>;
  arrays: Map<string, { struct: boolean }>;
}

/**
 * The rewrites, in the order they apply. Each is named for the test that lists them (and the docs).
 */
export const REWRITES: readonly { name: string; why: string; apply: (sql: string, p: Params, project: string) => string }[] = [
  {
    name: 'assert',
    why: '`ASSERT cond AS msg` (BigQuery scripting) → a SELECT that raises msg through DuckDB error() unless cond is TRUE (FALSE and NULL both fail, as in BigQuery)',
    apply: (sql) => sql.replace(/^ASSERT (.+) AS '([^'\\]*)'$/s, (_, cond: string, msg: string) => `SELECT CASE WHEN (${cond}) THEN NULL ELSE error('${msg}') END`),
  },
  {
    name: 'delete-alias',
    why: "`DELETE t r WHERE` (GoogleSQL's FROM-less form) → `DELETE FROM t AS r WHERE`",
    apply: (sql) => sql.replace(/^DELETE (`[^`]+`) ([a-z_][a-z0-9_]*) WHERE /, 'DELETE FROM $1 AS $2 WHERE '),
  },
  {
    name: 'table-ref',
    why: '`project.dataset.table` → "dataset"."table" (a DuckDB schema per dataset; another project throws)',
    apply: (sql, _p, project) =>
      sql.replace(/`([^`.]+)\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)`/g, (_, proj: string, ds: string, t: string) => {
        if (proj !== project) throw new Error(`bigquery-on-duckdb: table of project ${proj}, expected ${project}`);
        return `"${ds}"."${t}"`;
      }),
  },
  {
    name: 'in-unnest',
    why: '`IN UNNEST(@x)` (an ARRAY<scalar> parameter) → `IN (SELECT v FROM _param_x)`',
    apply: (sql, p) =>
      sql.replace(/\bIN UNNEST\(@([a-z_][a-z0-9_]*)\)/g, (_, n: string) => {
        if (p.arrays.get(n)?.struct !== false) throw new Error(`bigquery-on-duckdb: IN UNNEST(@${n}) needs an ARRAY of scalars`);
        return `IN (SELECT v FROM _param_${n})`;
      }),
  },
  {
    name: 'from-unnest',
    why: '`FROM UNNEST(@x)` (an ARRAY<STRUCT> parameter) → `FROM _param_x`, its struct fields as columns',
    apply: (sql, p) =>
      sql.replace(/\bFROM UNNEST\(@([a-z_][a-z0-9_]*)\)/g, (_, n: string) => {
        if (p.arrays.get(n)?.struct !== true) throw new Error(`bigquery-on-duckdb: FROM UNNEST(@${n}) needs an ARRAY of STRUCTs`);
        return `FROM _param_${n}`;
      }),
  },
  {
    name: 'scalar-param',
    why: '`@x` → `CAST($x AS <declared type>)`, the value bound as its REST text (so the declared type decides how it reads)',
    apply: (sql, p) =>
      sql.replace(/@([a-z_][a-z0-9_]*)/g, (_, n: string) => {
        const t = p.scalars.get(n);
        if (!t) throw new Error(`bigquery-on-duckdb: @${n} is not a scalar parameter of the script`);
        return `CAST($${n} AS ${duckType(t)})`;
      }),
  },
  {
    name: 'format-timestamp',
    why: "`FORMAT_TIMESTAMP(fmt, x, 'UTC')` → `strftime(timezone('UTC', x), fmt')` (only the elements of FORMAT_ELEMENTS; another zone throws)",
    apply: (sql) =>
      sql.replace(/FORMAT_TIMESTAMP\('([^']*)', ([a-z_.]+)(?:, '([^']*)')?\)/g, (_, f: string, x: string, zone: string | undefined) => {
        if (zone !== 'UTC') throw new Error(`bigquery-on-duckdb: FORMAT_TIMESTAMP in zone ${zone ?? '(default)'} not translated`);
        return `strftime(timezone('UTC', ${x}), '${strftimeFormat(f)}')`;
      }),
  },
  {
    name: 'format-date',
    why: '`FORMAT_DATE(fmt, x)` → `strftime(x, fmt)`',
    apply: (sql) => sql.replace(/FORMAT_DATE\('([^']*)', ([a-z_.]+)\)/g, (_, f: string, x: string) => `strftime(${x}, '${strftimeFormat(f)}')`),
  },
  {
    name: 'current-timestamp',
    why: '`CURRENT_TIMESTAMP()` → `now()` (DuckDB takes no parentheses)',
    apply: (sql) => sql.replaceAll('CURRENT_TIMESTAMP()', 'now()'),
  },
  {
    name: 'cast-type',
    why: '`CAST(x AS STRING|INT64|FLOAT64|…)` → the DuckDB type (TYPES)',
    apply: (sql) => sql.replace(/\bAS ([A-Z][A-Z0-9]*)\)/g, (m, t: string) => (t in TYPES ? `AS ${duckType(t)})` : m)),
  },
];

/** What must not be left after the rewrites: DuckDB would misread it or it is BigQuery-only. */
const UNTRANSLATED = /[`@]|\bUNNEST\(@|\bASSERT\b|\bFORMAT_(?:TIMESTAMP|DATE)\b|\b(?:STRING|INT64|FLOAT64|BIGNUMERIC|STRUCT|ARRAY)\b|CURRENT_TIMESTAMP\(\)|\bSAFE\.|\bQUALIFY\b/;

/** One GoogleSQL statement of the script → DuckDB; throws on anything not translated. */
export function translate(sql: string, params: readonly QueryParameter[], project: string): string {
  const p: Params = { scalars: new Map(), arrays: new Map() };
  for (const q of params)
    if (q.parameterType.type === 'ARRAY') p.arrays.set(q.name, { struct: q.parameterType.arrayType?.type === 'STRUCT' });
    else p.scalars.set(q.name, q.parameterType.type);
  let out = sql;
  for (const r of REWRITES) out = r.apply(out, p, project);
  // String literals may say anything; only the statement text outside them must be translated.
  const bare = out.replace(/'[^']*'/g, "''");
  const left = UNTRANSLATED.exec(bare);
  if (left) throw new Error(`bigquery-on-duckdb: untranslated GoogleSQL ${JSON.stringify(left[0])} in: ${sql}`);
  return out;
}

/** The statements of `ApplyScript.sql` (what BigQuery receives): split at `;` + newline, leading `-- ` comment lines dropped. */
export function statements(script: string): string[] {
  const parts = script.split(';\n');
  const last = parts.pop()!;
  if (!last.endsWith(';')) throw new Error('bigquery-on-duckdb: the script does not end with ";"');
  return [...parts, last.slice(0, -1)].map((s) => s.replace(/^(?:-- [^\n]*\n)+/, ''));
}

function paramType(t: ParameterType): string {
  if (t.type === 'ARRAY' || t.type === 'STRUCT') throw new Error(`bigquery-on-duckdb: nested ${t.type} parameter not translated`);
  return duckType(t.type);
}

export class BigQueryOnDuckDb {
  private constructor(
    readonly project: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** An in-memory database with the datasets `raw` and `ops` and the slice ledger (its BigQuery schema, types mapped). */
  static async create(project: string): Promise<BigQueryOnDuckDb> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    await conn.run(`SET TimeZone = 'UTC'; CREATE SCHEMA raw; CREATE SCHEMA ops;`);
    const ledger = loadedSlicesSchema();
    await conn.run(`CREATE TABLE ops.${ledger.tableId} (${ledger.fields.map((f) => `${f.name} ${duckType(f.type)}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`).join(', ')})`);
    return new BigQueryOnDuckDb(project, instance, conn);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  /** A raw table as the registry defines it (landed columns + ingestion columns). */
  async createRaw(table: TableDef): Promise<void> {
    const cols = [...landedColumns(table), ...INGESTION_COLUMNS].map((c) => `"${c.name}" ${duckDbColumnType(c)}`);
    await this.conn.run(`CREATE TABLE raw."${table.name}" (${cols.join(', ')})`);
  }

  /** A staging table in `ops` holding what the staging load job would have loaded from the files. */
  async createStaging(name: string, columns: readonly { name: string; type: ColumnType }[], rows: readonly Record<string, string | number | null>[]): Promise<void> {
    await this.conn.run(`CREATE TABLE ops."${name}" (${columns.map((c) => `"${c.name}" ${duckDbColumnType(c)}`).join(', ')})`);
    await this.insert(
      `ops."${name}"`,
      columns.map((c) => c.name),
      rows,
    );
  }

  /** Rows into a table, every value bound as text and cast by the column's type. */
  async insert(table: string, columns: readonly string[], rows: readonly Record<string, string | number | null>[]): Promise<void> {
    for (const r of rows)
      await this.conn.run(
        `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => (r[c] === null || r[c] === undefined ? null : String(r[c]))),
      );
  }

  async query(sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return (await this.conn.runAndReadAll(sql, values)).getRowObjectsJson() as Record<string, unknown>[];
  }

  /** One GoogleSQL query (e.g. ledgerReadQuery) with its parameters. */
  async runQuery(sql: string, params: readonly QueryParameter[]): Promise<Record<string, unknown>[]> {
    await this.bindArrays(params);
    try {
      return await this.exec(translate(sql, params, this.project), params);
    } finally {
      await this.dropArrays(params);
    }
  }

  /**
   * The load transaction as BigQuery receives it (`script.sql` with `script.params`): every
   * statement in order; an error (an ASSERT's included) rolls the transaction back and is thrown,
   * as BigQuery fails the script's job. Returns the last statement's rows (the result SELECT).
   */
  async runScript(script: ApplyScript): Promise<ApplyResultRow[]> {
    const stmts = statements(script.sql);
    if (stmts.length !== script.steps.length) throw new Error(`bigquery-on-duckdb: ${stmts.length} statements in the text, ${script.steps.length} steps`);
    await this.bindArrays(script.params);
    const temps: string[] = [];
    let open = false;
    let rows: Record<string, unknown>[] = [];
    try {
      for (const s of stmts) {
        const sql = translate(s, script.params, this.project);
        const temp = /^CREATE TEMP TABLE ([a-z_][a-z0-9_]*) AS /.exec(sql);
        if (temp) temps.push(temp[1]!);
        rows = await this.exec(sql, script.params);
        if (sql === 'BEGIN TRANSACTION') open = true;
        if (sql === 'COMMIT TRANSACTION') open = false;
      }
    } catch (err) {
      if (open) await this.conn.run('ROLLBACK');
      throw err;
    } finally {
      for (const t of temps) await this.conn.run(`DROP TABLE IF EXISTS temp.main.${t}`);
      await this.dropArrays(script.params);
    }
    return rows.map((r) => ({
      ...(r as unknown as ApplyResultRow),
      rows_deleted: r.rows_deleted === null ? null : Number(r.rows_deleted),
      rows_inserted: r.rows_inserted === null ? null : Number(r.rows_inserted),
    }));
  }

  /** Run with only the scalar parameters the statement names ($x), bound as their REST text. */
  private async exec(sql: string, params: readonly QueryParameter[]): Promise<Record<string, unknown>[]> {
    const used = new Set([...sql.matchAll(/\$([a-z_][a-z0-9_]*)/g)].map((m) => m[1]!));
    const values: Record<string, DuckDBValue> = {};
    for (const q of params) if (used.has(q.name)) values[q.name] = q.parameterValue.value ?? null;
    return (await this.conn.runAndReadAll(sql, used.size > 0 ? values : undefined)).getRowObjectsJson() as Record<string, unknown>[];
  }

  /** Every ARRAY parameter as temp table `_param_<name>`: a column `v`, or one column per STRUCT field, typed as declared. */
  private async bindArrays(params: readonly QueryParameter[]): Promise<void> {
    for (const q of params) {
      if (q.parameterType.type !== 'ARRAY') continue;
      const el = q.parameterType.arrayType;
      if (!el) throw new Error(`bigquery-on-duckdb: @${q.name}: ARRAY without an element type`);
      const fields = el.type === 'STRUCT' ? (el.structTypes ?? []).map((f) => ({ name: f.name, type: paramType(f.type) })) : [{ name: 'v', type: paramType(el) }];
      const table = `_param_${q.name}`;
      await this.conn.run(`CREATE TEMP TABLE ${table} (${fields.map((f) => `${f.name} ${f.type}`).join(', ')})`);
      for (const v of q.parameterValue.arrayValues ?? []) {
        const values = el.type === 'STRUCT' ? fields.map((f) => v.structValues?.[f.name]?.value ?? null) : [v.value ?? null];
        await this.conn.run(`INSERT INTO ${table} VALUES (${fields.map((f, i) => `CAST($${i + 1} AS ${f.type})`).join(', ')})`, values);
      }
    }
  }

  private async dropArrays(params: readonly QueryParameter[]): Promise<void> {
    for (const q of params) if (q.parameterType.type === 'ARRAY') await this.conn.run(`DROP TABLE IF EXISTS temp.main._param_${q.name}`);
  }
}
