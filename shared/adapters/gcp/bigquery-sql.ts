import { COLUMN_TYPES, type ColumnType, type TableDef } from '../../contracts/tables';
import type { SliceLoad } from '../../ports';
import type { SliceDecision } from '../../load/slice-guard';

/**
 * The BigQuery SQL the loader sends, built here and nowhere else. Statement text holds only
 * registry identifiers and table references (checked against strict patterns); every value (IBGE
 * codes, windows, run ids, timestamps, row counts, the guard's decisions) travels as a query
 * parameter. The decisions themselves (already loaded, stale, load) are made in TypeScript by
 * shared/load/slice-guard.ts, the same function the local warehouse calls: the script only executes
 * them, and its optimistic-concurrency ASSERT fails the transaction when the ledger changed after
 * the adapter read it (a concurrent load), so the adapter re-reads and decides again.
 *
 * Quotas: per raw table the script runs ONE DELETE and ONE INSERT for all of the load's
 * municipalities (none when no slice of the table is to load), and the ledger gets one INSERT per
 * load. Filters on parameters (the municipalities to load, the windows' outer bounds) let BigQuery
 * prune partitions and clustered blocks; the exact per-slice condition is applied on top.
 */

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const IBGE = /^\d{7}$/;
const RUN_ID = /^[a-z0-9][a-z0-9-]{2,62}$/;
const LOAD_ID = /^[a-z0-9][a-z0-9-]{0,119}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TS = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}:\d{2})$/;
const TABLE_REF = /^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_]{1,1024}$/;

export function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`refusing a non-registry identifier: ${JSON.stringify(name)}`);
  return name;
}

/** `project.dataset.table`, backquoted. */
export function tableRef(project: string, dataset: string, table: string): string {
  const ref = `${project}.${dataset}.${table}`;
  if (!TABLE_REF.test(ref)) throw new Error(`refusing a table reference: ${JSON.stringify(ref)}`);
  return `\`${ref}\``;
}

function text(value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new Error(`refusing an unchecked SQL string literal: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/** One staging table holding (part of) a table's staged files, with the files' columns. */
export interface StagingSource {
  ref: string;
  columns: readonly { name: string; type: ColumnType }[];
}

export interface ApplyTable {
  table: TableDef;
  /** The raw table, backquoted. */
  rawRef: string;
  /** Every slice of the request for this table, with what the guard (or staging) decided. */
  slices: readonly { slice: SliceLoad; decision: SliceDecision | { status: 'failed'; message: string } }[];
  /** Staging tables holding the rows of the slices to load. */
  staging: readonly StagingSource[];
}

export type StepKind = 'begin' | 'commit' | 'create_temp' | 'assert' | 'delete' | 'insert' | 'select';
export interface Step {
  kind: StepKind;
  sql: string;
  /** What the step is for, as a SQL comment in the script. */
  why?: string;
}

/** A BigQuery REST query parameter (jobs.insert configuration.query.queryParameters[]). */
export interface QueryParameter {
  name: string;
  parameterType: ParameterType;
  parameterValue: ParameterValue;
}
export interface ParameterType {
  type: string;
  arrayType?: ParameterType;
  structTypes?: { name: string; type: ParameterType }[];
}
export interface ParameterValue {
  value?: string;
  arrayValues?: ParameterValue[];
  structValues?: Record<string, ParameterValue>;
}

export interface ApplyScript {
  steps: Step[];
  /** The steps as one multi-statement query. */
  sql: string;
  /** Named parameters, in the REST form the job configuration takes. */
  params: QueryParameter[];
}

/** Columns of the script's final SELECT, one row per slice of the request. */
export interface ApplyResultRow {
  table_name: string;
  municipality: string;
  status: 'load' | 'already_loaded' | 'stale' | 'failed';
  newer_extracted_at: string | null;
  message: string | null;
  rows_deleted: number | null;
  rows_inserted: number | null;
}

/** The @slices struct: one per slice of the request. */
export const SLICE_FIELDS = [
  ['table_name', 'STRING'],
  ['municipality', 'STRING'],
  ['window_start', 'DATE'],
  ['window_end', 'DATE'],
  ['window_start_key', 'INT64'],
  ['window_end_key', 'INT64'],
  ['run_id', 'STRING'],
  ['extracted_at', 'TIMESTAMP'],
  ['rows_expected', 'INT64'],
  ['status', 'STRING'],
  ['newer_extracted_at', 'STRING'],
  ['message', 'STRING'],
] as const;
export type SliceParam = Record<(typeof SLICE_FIELDS)[number][0], string | null>;

const scalar = (v: string | null): ParameterValue => (v === null ? {} : { value: v });
export function scalarParam(name: string, type: string, value: string | null): QueryParameter {
  return { name, parameterType: { type }, parameterValue: scalar(value) };
}
export function arrayParam(name: string, type: string, values: readonly string[]): QueryParameter {
  return { name, parameterType: { type: 'ARRAY', arrayType: { type } }, parameterValue: { arrayValues: values.map((v) => ({ value: v })) } };
}
function slicesParam(rows: readonly SliceParam[]): QueryParameter {
  return {
    name: 'slices',
    parameterType: { type: 'ARRAY', arrayType: { type: 'STRUCT', structTypes: SLICE_FIELDS.map(([name, type]) => ({ name, type: { type } })) } },
    parameterValue: { arrayValues: rows.map((r) => ({ structValues: Object.fromEntries(SLICE_FIELDS.map(([f]) => [f, scalar(r[f])])) })) },
  };
}

/** Read a parameter back (tests, and the adapter's own checks). */
export function sliceParams(params: readonly QueryParameter[]): SliceParam[] {
  const p = params.find((x) => x.name === 'slices');
  return (p?.parameterValue.arrayValues ?? []).map((v) => Object.fromEntries(SLICE_FIELDS.map(([f]) => [f, v.structValues?.[f]?.value ?? null])) as SliceParam);
}

/** "2026-11-22T10:15:00.123456Z" → "2026-11-22 10:15:00.123456+00:00", microseconds kept (a TIMESTAMP parameter value). */
export function timestampParam(iso: string): string {
  const m = ISO_TS.exec(iso);
  if (!m) throw new Error(`refusing a non-timestamp value: ${JSON.stringify(iso)}`);
  return `${m[1]} ${m[2]}${m[3] === 'Z' ? '+00:00' : m[3]}`;
}

const key = (iso: string | undefined): string | null => (iso ? iso.replaceAll('-', '') : null);

/** The exact rows of one slice in raw table alias `r`, for slice row alias `d` (the window's end is exclusive). */
function slicePredicate(table: TableDef, r: string, d: string): string {
  if (table.mode.kind !== 'window') return 'TRUE';
  const col = `${r}.${ident(table.mode.column)}`;
  return table.mode.keyFormat === 'yyyymmdd'
    ? `(${d}.window_start_key IS NULL OR (${col} >= ${d}.window_start_key AND ${col} < ${d}.window_end_key))`
    : `(${d}.window_start IS NULL OR (${col} >= ${d}.window_start AND ${col} < ${d}.window_end))`;
}

/**
 * The ledger rows that can change a decision for these slices: same (table, municipality), extracted
 * at or after the oldest slice. The adapter reads them (`ledgerReadQuery`) and the transaction
 * re-counts them (its ASSERT): one definition, so the two always look at the same rows.
 */
function ledgerScope(ledgerRef: string): string {
  return `FROM ${ledgerRef} AS l WHERE l.extracted_at >= @since AND CONCAT(l.table_name, '/', l.municipality) IN UNNEST(@pairs)`;
}

/** The guard's input: the ledger rows of the request's (table, municipality) pairs since @since. */
export function ledgerReadQuery(ledgerRef: string): string {
  return (
    `SELECT l.table_name, l.municipality, FORMAT_DATE('%Y-%m-%d', l.window_start) AS window_start, FORMAT_DATE('%Y-%m-%d', l.window_end) AS window_end, ` +
    `FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6SZ', l.extracted_at, 'UTC') AS extracted_at ${ledgerScope(ledgerRef)}`
  );
}

/** Parameters of ledgerReadQuery and of the transaction's optimistic guard. */
export function ledgerScopeParams(pairs: readonly string[], since: string): QueryParameter[] {
  return [arrayParam('pairs', 'STRING', pairs), scalarParam('since', 'TIMESTAMP', timestampParam(since))];
}

/**
 * The transaction that applies a load request's decisions (see the module comment).
 * `ledgerRowsRead`: how many ledger rows the decisions were made from; `since`: their lower bound.
 */
export function applySlicesScript(loads: readonly ApplyTable[], loadId: string, ledgerRef: string, guard: { ledgerRowsRead: number; since: string }): ApplyScript {
  if (loads.length === 0) throw new Error('nothing to apply');
  text(loadId, LOAD_ID);
  const rows: SliceParam[] = [];
  const pairs: string[] = [];
  for (const { table, slices } of loads)
    for (const { slice: s, decision: d } of slices) {
      text(s.municipality, IBGE);
      text(s.runId, RUN_ID);
      for (const x of [s.window?.start, s.window?.end]) if (x !== undefined) text(x, DATE);
      pairs.push(`${ident(table.name)}/${s.municipality}`);
      rows.push({
        table_name: table.name,
        municipality: s.municipality,
        window_start: s.window?.start ?? null,
        window_end: s.window?.end ?? null,
        window_start_key: key(s.window?.start),
        window_end_key: key(s.window?.end),
        run_id: s.runId,
        extracted_at: timestampParam(s.extractedAt),
        rows_expected: String(s.rows),
        status: d.status,
        newer_extracted_at: d.status === 'stale' ? d.newerExtractedAt : null,
        message: d.status === 'failed' ? d.message : null,
      });
    }
  const params: QueryParameter[] = [
    slicesParam(rows),
    scalarParam('load_id', 'STRING', loadId),
    ...ledgerScopeParams(pairs, guard.since),
    scalarParam('ledger_rows_read', 'INT64', String(guard.ledgerRowsRead)),
  ];
  const steps: Step[] = [{ kind: 'begin', sql: 'BEGIN TRANSACTION' }];
  steps.push({
    kind: 'assert',
    why: 'optimistic concurrency: the ledger rows the decisions were made from are still all there is (else a concurrent load committed: the adapter re-reads and decides again)',
    sql: `ASSERT (SELECT COUNT(*) ${ledgerScope(ledgerRef)}) = @ledger_rows_read AS '${LEDGER_CONFLICT}'`,
  });

  const outcomeTables: string[] = [];
  loads.forEach(({ table, rawRef, slices, staging }, i) => {
    const toLoad = slices.filter((x) => x.decision.status === 'load').map((x) => x.slice);
    if (toLoad.length === 0) return;
    // No staging table: every slice to load has no parts (0 rows): the DELETE still replaces them.
    if (staging.length === 0 && toLoad.some((s) => s.uris.length > 0)) throw new Error(`${table.name}: no staging table`);
    const name = text(table.name, IDENT);
    const munis = `munis_${i}`;
    params.push(arrayParam(munis, 'STRING', [...new Set(toLoad.map((s) => s.municipality))].sort()));
    let prune = `r._municipality_ibge IN UNNEST(@${munis})`;
    if (table.mode.kind === 'window' && toLoad.every((s) => s.window)) {
      const col = `r.${ident(table.mode.column)}`;
      const yyyymmdd = table.mode.keyFormat === 'yyyymmdd';
      const lo = toLoad.map((s) => s.window!.start).sort()[0]!;
      const hi = toLoad
        .map((s) => s.window!.end)
        .sort()
        .at(-1)!;
      params.push(scalarParam(`lo_${i}`, yyyymmdd ? 'INT64' : 'DATE', yyyymmdd ? key(lo) : lo), scalarParam(`hi_${i}`, yyyymmdd ? 'INT64' : 'DATE', yyyymmdd ? key(hi) : hi));
      prune += ` AND ${col} >= @lo_${i} AND ${col} < @hi_${i}`;
    }
    const todo = `(SELECT * FROM UNNEST(@slices) WHERE table_name = ${name} AND status = 'load')`;
    const stagedIbge =
      staging.length > 0
        ? staging.map((st) => `SELECT _municipality_ibge FROM ${st.ref}`).join(' UNION ALL ')
        : 'SELECT CAST(NULL AS STRING) AS _municipality_ibge FROM UNNEST([1]) WHERE FALSE';
    const outcome = `_outcome_${i}`;
    outcomeTables.push(outcome);
    steps.push({
      kind: 'create_temp',
      why: `${table.name}: rows each slice will delete and insert, counted in the transaction's snapshot`,
      sql:
        `CREATE TEMP TABLE ${outcome} AS WITH todo AS ${todo}, ` +
        `staged AS (SELECT _municipality_ibge AS municipality, COUNT(*) AS n FROM (${stagedIbge}) GROUP BY _municipality_ibge), ` +
        `existing AS (SELECT todo.municipality, COUNT(*) AS n FROM todo JOIN ${rawRef} AS r ON r._municipality_ibge = todo.municipality ` +
        `WHERE ${prune} AND ${slicePredicate(table, 'r', 'todo')} GROUP BY todo.municipality) ` +
        `SELECT ${name} AS table_name, todo.municipality, COALESCE(existing.n, 0) AS rows_deleted, COALESCE(staged.n, 0) AS rows_inserted, todo.rows_expected ` +
        `FROM todo LEFT JOIN existing USING (municipality) LEFT JOIN staged USING (municipality)`,
    });
    steps.push({
      kind: 'assert',
      why: `${table.name}: every slice inserts exactly the rows its manifest declares (the staging load checked each load job's total; this catches rows filed under another municipality)`,
      sql: `ASSERT NOT EXISTS (SELECT 1 FROM ${outcome} WHERE rows_inserted != rows_expected) AS '${table.name}: staged files do not hold the rows their manifests declare'`,
    });
    steps.push({
      kind: 'delete',
      why: `${table.name}: one DELETE for all slices to load`,
      sql: `DELETE ${rawRef} r WHERE ${prune} AND EXISTS (SELECT 1 FROM ${todo} AS d WHERE d.municipality = r._municipality_ibge AND ${slicePredicate(table, 'r', 'd')})`,
    });
    // Files of one table share their columns unless a registry change happened mid-run: each
    // staging table then supplies NULL for a column it lacks.
    const allColumns: { name: string; type: ColumnType }[] = [];
    for (const st of staging) for (const c of st.columns) if (!allColumns.some((x) => x.name === c.name)) allColumns.push(c);
    const names = allColumns.map((c) => ident(c.name));
    const selects = staging.map((st) => {
      const have = new Set(st.columns.map((c) => c.name));
      return `SELECT ${allColumns.map((c) => (have.has(c.name) ? ident(c.name) : `CAST(NULL AS ${COLUMN_TYPES[c.type].bigquery}) AS ${ident(c.name)}`)).join(', ')} FROM ${st.ref}`;
    });
    if (staging.length > 0)
      steps.push({
        kind: 'insert',
        why: `${table.name}: one INSERT of the staged rows of the slices to load`,
        sql: `INSERT INTO ${rawRef} (${names.join(', ')}) SELECT ${names.join(', ')} FROM (${selects.join(' UNION ALL ')}) AS s WHERE s._municipality_ibge IN UNNEST(@${munis})`,
      });
  });

  // Empty when no table has a slice to load: no ledger INSERT, and the result SELECT joins nothing.
  const outcomes = outcomeTables.map((t) => `SELECT table_name, municipality, rows_deleted, rows_inserted FROM ${t}`).join(' UNION ALL ');
  if (outcomes)
    steps.push({
      kind: 'insert',
      why: 'the ledger: one INSERT per load',
      sql:
        `INSERT INTO ${ledgerRef} (table_name, municipality, window_start, window_end, run_id, extracted_at, rows_loaded, load_id, loaded_at) ` +
        `SELECT d.table_name, d.municipality, d.window_start, d.window_end, d.run_id, d.extracted_at, o.rows_inserted, @load_id, CURRENT_TIMESTAMP() ` +
        `FROM UNNEST(@slices) AS d JOIN (${outcomes}) AS o USING (table_name, municipality) WHERE d.status = 'load'`,
    });
  steps.push({ kind: 'commit', sql: 'COMMIT TRANSACTION' });
  steps.push({
    kind: 'select',
    why: 'the outcome of every slice: the result of the script',
    sql:
      `SELECT d.table_name, d.municipality, d.status, d.newer_extracted_at, d.message, o.rows_deleted, o.rows_inserted ` +
      `FROM UNNEST(@slices) AS d ${outcomes ? `LEFT JOIN (${outcomes}) AS o USING (table_name, municipality)` : 'LEFT JOIN (SELECT CAST(NULL AS STRING) AS table_name, CAST(NULL AS STRING) AS municipality, CAST(NULL AS INT64) AS rows_deleted, CAST(NULL AS INT64) AS rows_inserted) AS o USING (table_name, municipality)'} ` +
      `ORDER BY d.table_name, d.municipality`,
  });

  const sql = [`-- load ${loadId}: ${rows.length} slice(s) of ${loads.length} table(s) in one transaction`, ...steps.map((s) => `${s.why ? `-- ${s.why}\n` : ''}${s.sql};`)].join(
    '\n',
  );
  return { steps, sql, params };
}

/** The ASSERT message of the optimistic guard: the adapter recognises its own statement's failure by it. */
export const LEDGER_CONFLICT = 'pec-load: the slice ledger changed during the load';
