import type { DuckDbWarehouse } from '../local/duckdb-warehouse';
import { OWNED_COLUMN_TYPES, bigQueryTableSpec, duckDbCreateTable, type BigQueryTableSpec, type OwnedTable } from '../ledger/table-schema';
import { DIABETES, HYPERTENSION, followUpTable, type FollowUpSpec } from './follow-up';
import { tableRef, type SqlDialect } from './sql-dialect';
import { FACT_TABLE, STAR_TABLES } from './star';
import { ACCESS_TABLE, accessRefreshStatements } from './access';
import { REFRESH_STATE_TABLE, definitionVersion, recordRefreshState, scopeDeclaration, setRefreshScope } from './refresh-scope';

/**
 * The marts Power BI reads, in the `marts` dataset. Each is refreshed from the raw tables at the end
 * of every run (the workflow's refreshMarts step), as one transaction per mart, for the
 * municipalities loaded since its last refresh (refresh-scope.ts). Documented column by column in
 * docs/marts.md (a test checks that every column is there).
 */
export interface Mart {
  name: string;
  table: OwnedTable;
  /** Statements of one refresh, to run in one transaction, in the given dialect. */
  refreshStatements(dialect: SqlDialect): string[];
  /**
   * The mart whose refresh transaction rebuilds this one (from its rows); this mart's own refresh
   * is then empty. Kept in MARTS so its table, row access policies and docs come from here.
   */
  refreshedWith?: string;
}

const followUp = (spec: FollowUpSpec): Mart => ({
  name: spec.name,
  table: followUpTable(spec),
  refreshedWith: FACT_TABLE,
  refreshStatements: () => [],
});

export const MARTS: readonly Mart[] = [
  followUp(HYPERTENSION),
  followUp(DIABETES),
  // The star schema (shared/marts/star.ts, docs/powerbi.md).
  ...STAR_TABLES.map((t): Mart => ({ name: t.table.name, table: t.table, refreshedWith: t.refreshedWith, refreshStatements: (dialect) => t.refreshStatements(dialect) })),
  // C1 "Mais Acesso": consultations, not people (shared/marts/access.ts).
  { name: ACCESS_TABLE.name, table: ACCESS_TABLE, refreshStatements: accessRefreshStatements },
];
export const MART_NAMES = MARTS.map((m) => m.name);

export function getMart(name: string): Mart {
  const m = MARTS.find((x) => x.name === name);
  if (!m) throw new Error(`unknown mart "${name}" (known: ${MART_NAMES.join(', ')})`);
  return m;
}

/** Every table of the `marts` dataset: the marts, then the incremental refresh's state. */
export const MART_TABLES: readonly OwnedTable[] = [...MARTS.map((m) => m.table), REFRESH_STATE_TABLE];

/** BigQuery schemas of the mart tables: infra-cdktf creates the tables (and their row access policies) from these. */
export function bigQueryMartTables(): BigQueryTableSpec[] {
  return MART_TABLES.map(bigQueryTableSpec);
}

/**
 * The marts the daily workflow refreshes: those rebuilt by their own transaction. The others
 * (`refreshedWith`) are rebuilt inside one of these and have nothing of their own to run.
 */
export const REFRESHED_MART_NAMES = MARTS.filter((m) => !m.refreshedWith).map((m) => m.name);

/** The version of a mart's definition the state table records (refresh-scope.ts). */
export function martDefinitionVersion(mart: Mart): string {
  return definitionVersion((dialect) => mart.refreshStatements(dialect));
}

/**
 * The statements of a mart's refresh transaction, in either engine: decide which municipalities to
 * recompute, recompute them, record their watermark.
 */
export function refreshTransaction(mart: Mart, dialect: SqlDialect, version = martDefinitionVersion(mart)): string[] {
  return [setRefreshScope(dialect, mart.name, version), ...mart.refreshStatements(dialect), ...recordRefreshState(dialect, mart.name, version)];
}

/**
 * One BigQuery script per mart (the scope variable's declaration, then a multi-statement
 * transaction), with `{{raw}}`/`{{marts}}`/`{{ops}}` placeholders for `project.dataset`: the body of
 * the mart's stored procedure.
 */
export function bigQueryRefreshScript(mart: Mart): string {
  return [...scopeDeclaration('bigquery'), 'BEGIN TRANSACTION', ...refreshTransaction(mart, 'bigquery').map(compactSql), 'COMMIT TRANSACTION'].join(';\n') + ';';
}

/**
 * A BigQuery stored procedure (`marts.refresh_<mart>`, no arguments) whose body is the mart's
 * refresh script. infra-cdktf creates one per refreshed mart (datasets bound at deploy time: a
 * procedure cannot take a table name as an argument without dynamic SQL); the workflow only CALLs
 * it, so its source does not grow with the SQL (Workflows limits a source to 128 KB).
 */
export interface MartProcedure {
  mart: string;
  routineId: string;
  description: string;
  /** The refresh script, with the dataset placeholders (bindBigQueryDatasets fills them). */
  body: string;
}

export const martProcedureId = (mart: string): string => `refresh_${mart}`;

export function bigQueryMartProcedures(): MartProcedure[] {
  return REFRESHED_MART_NAMES.map((name) => {
    const rebuilt = MARTS.filter((m) => m.refreshedWith === name).map((m) => m.name);
    return {
      mart: name,
      routineId: martProcedureId(name),
      description: `Refreshes marts.${name}${rebuilt.length > 0 ? ` and, from its rows, ${rebuilt.join(', ')}` : ''} in one transaction, for the municipalities loaded since (or every one after a change of definition; generated from shared/marts; do not edit)`,
      body: bigQueryRefreshScript(getMart(name)),
    };
  });
}

/** The statement the workflow runs for a mart, with the `{{marts}}` placeholder it fills at run time. */
export function bigQueryCallStatement(mart: string): string {
  return `CALL ${tableRef('bigquery', 'marts', martProcedureId(mart))}()`;
}

/**
 * The SQL without comments and runs of blanks: smaller procedure bodies (limits.ts,
 * bigQueryRoutineBody), and one line per statement in BigQuery's job history. Safe for our SQL: no string literal holds `--` or relies
 * on repeated blanks (codes are checked by sqlLiteral).
 */
export function compactSql(sql: string): string {
  return sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Create the mart tables locally, and add the columns a newer definition has to a table an older
 * version created (what BigQuery does in place for a NULLABLE column).
 */
export async function ensureMartTables(warehouse: DuckDbWarehouse): Promise<void> {
  for (const t of MART_TABLES) await ensureMartTable(warehouse, t);
}

async function ensureMartTable(warehouse: DuckDbWarehouse, table: OwnedTable): Promise<void> {
  await warehouse.execute(duckDbCreateTable(table));
  for (const c of table.columns.filter((x) => !x.required))
    await warehouse.execute(`ALTER TABLE marts.${table.name} ADD COLUMN IF NOT EXISTS ${c.name} ${OWNED_COLUMN_TYPES[c.type].duckdb}`);
}

/**
 * Refresh one mart in the local warehouse, in one transaction, for the municipalities loaded since
 * its last refresh (refresh-scope.ts); returns its row count. A mart rebuilt in another's
 * transaction (`refreshedWith`) has nothing of its own to run.
 */
export async function refreshMartDuckDb(warehouse: DuckDbWarehouse, mart: Mart): Promise<number> {
  // This mart's table, those its transaction rebuilds too, and the state.
  for (const t of [mart.table, ...MARTS.filter((x) => x.refreshedWith === mart.name).map((x) => x.table), REFRESH_STATE_TABLE]) await ensureMartTable(warehouse, t);
  // One execute call: the statements run back to back on the warehouse's single connection, so no
  // load can interleave with the transaction.
  if (!mart.refreshedWith) {
    const script = ['BEGIN TRANSACTION', ...refreshTransaction(mart, 'duckdb'), 'COMMIT'].join(';\n');
    try {
      await warehouse.execute(script);
    } catch (err) {
      await warehouse.execute('ROLLBACK').catch(() => {});
      throw new Error(`refreshing marts.${mart.name} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  const [r] = await warehouse.query(`SELECT count(*)::INTEGER AS n FROM marts.${mart.name}`);
  return Number(r?.n ?? 0);
}
