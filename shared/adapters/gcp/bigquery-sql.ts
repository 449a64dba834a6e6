import { COLUMN_TYPES, type ColumnType, type TableDef } from '../../contracts/tables';
import type { SliceLoad } from '../../ports';

/**
 * The BigQuery SQL the loader sends, built here and nowhere else, from registry identifiers and
 * values the pipeline produced and validated (IBGE codes, run ids, dates, timestamps from the
 * manifests). Every literal is checked against a strict pattern before it is written; nothing
 * else is ever interpolated.
 *
 * One script per load request, one transaction, the same semantics as the local DuckDB warehouse:
 * for each slice (table, municipality, window): `already_loaded` when the ledger holds the same
 * slice from the same extraction, `stale` when it holds an overlapping slice from a newer one,
 * otherwise `loaded`: the slice's rows are deleted and the staged rows inserted.
 *
 * Quotas: per raw table the script runs ONE DELETE and ONE INSERT for all of the load's
 * municipalities (skipped entirely when none of its slices is to be loaded), and the ledger gets
 * one INSERT per load. Filters on constants (the municipalities' IBGE codes, the windows' outer
 * bounds) let BigQuery prune partitions and clustered blocks; the exact per-slice condition is
 * applied on top.
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

function dateLit(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return 'NULL';
  if (!DATE.test(iso)) throw new Error(`refusing a non-date literal: ${JSON.stringify(iso)}`);
  return `DATE '${iso}'`;
}

function intLit(n: number | string | null | undefined): string {
  if (n === null || n === undefined) return 'NULL';
  const s = String(n);
  if (!/^-?\d{1,19}$/.test(s)) throw new Error(`refusing a non-integer literal: ${JSON.stringify(s)}`);
  return s;
}

/** "2026-11-22T10:15:00.123456Z" → TIMESTAMP '2026-11-22 10:15:00.123456+00:00', microseconds kept (the guard compares them). */
export function timestampLit(iso: string): string {
  const m = ISO_TS.exec(iso);
  if (!m) throw new Error(`refusing a non-timestamp literal: ${JSON.stringify(iso)}`);
  return `TIMESTAMP '${m[1]} ${m[2]}${m[3] === 'Z' ? '+00:00' : m[3]}'`;
}

const yyyymmdd = (iso: string | null | undefined): string | null => (iso ? intLit(iso.replaceAll('-', '')) : null);

/** One staging table holding (part of) a table's staged files, with the files' columns. */
export interface StagingSource {
  ref: string;
  columns: readonly { name: string; type: ColumnType }[];
}

export interface ApplyTable {
  table: TableDef;
  /** The raw table, backquoted. */
  rawRef: string;
  slices: readonly SliceLoad[];
  staging: readonly StagingSource[];
}

export type StepKind = 'begin' | 'commit' | 'create_temp' | 'assert' | 'if' | 'end_if' | 'delete' | 'insert' | 'select';
export interface Step {
  kind: StepKind;
  sql: string;
  /** What the step is for, as a SQL comment in the script. */
  why?: string;
}

export interface ApplyScript {
  steps: Step[];
  /** The steps as one multi-statement query. */
  sql: string;
}

/** Columns of the script's final SELECT, one row per slice. */
export interface ApplyResultRow {
  table_name: string;
  municipality: string;
  status: 'loaded' | 'already_loaded' | 'stale';
  newer_extracted_at: string | null;
  rows_deleted: number | null;
  rows_inserted: number | null;
}

/** The exact rows of one slice in raw table alias `r`, for slice row alias `d`. */
function slicePredicate(table: TableDef, r: string, d: string): string {
  if (table.mode.kind !== 'window') return 'TRUE';
  const col = `${r}.${ident(table.mode.column)}`;
  return table.mode.keyFormat === 'yyyymmdd'
    ? `(${d}.window_start_key IS NULL OR (${col} >= ${d}.window_start_key AND ${col} < ${d}.window_end_key))`
    : `(${d}.window_start IS NULL OR (${col} >= ${d}.window_start AND ${col} < ${d}.window_end))`;
}

/**
 * Constant filters implied by the slice predicates (so they change no result) that BigQuery can
 * prune on: the candidate municipalities (clustering) and the windows' outer bounds (partitions).
 */
function pruningFilter(table: TableDef, slices: readonly SliceLoad[], r: string): string {
  const munis = [...new Set(slices.map((s) => s.municipality))].sort();
  const parts = [`${r}._municipality_ibge IN (${munis.map((m) => text(m, IBGE)).join(', ')})`];
  if (table.mode.kind === 'window' && slices.every((s) => s.window)) {
    const col = `${r}.${ident(table.mode.column)}`;
    const start = slices.map((s) => s.window!.start).sort()[0]!;
    const end = slices.map((s) => s.window!.end).sort().at(-1)!;
    const lit = table.mode.keyFormat === 'yyyymmdd' ? (d: string) => yyyymmdd(d)! : dateLit;
    parts.push(`${col} >= ${lit(start)} AND ${col} < ${lit(end)}`);
  }
  return parts.join(' AND ');
}

const SLICE_TYPE =
  'STRUCT<table_name STRING, municipality STRING, window_start DATE, window_end DATE, window_start_key INT64, window_end_key INT64, run_id STRING, extracted_at TIMESTAMP, rows_expected INT64>';

/** The transaction that applies every slice of a load request (see the module comment). */
export function applySlicesScript(loads: readonly ApplyTable[], loadId: string, ledgerRef: string): ApplyScript {
  if (loads.length === 0) throw new Error('nothing to apply');
  const load = text(loadId, LOAD_ID);
  const steps: Step[] = [{ kind: 'begin', sql: 'BEGIN TRANSACTION' }];

  const tuples = loads.flatMap(({ table, slices }) =>
    slices.map((s) =>
      `(${[
        text(table.name, IDENT),
        text(s.municipality, IBGE),
        dateLit(s.window?.start),
        dateLit(s.window?.end),
        yyyymmdd(s.window?.start) ?? 'NULL',
        yyyymmdd(s.window?.end) ?? 'NULL',
        text(s.runId, RUN_ID),
        timestampLit(s.extractedAt),
        intLit(s.rows),
      ].join(', ')})`,
    ),
  );
  steps.push({
    kind: 'create_temp',
    why: 'the slices this load declares (from the manifests)',
    sql: `CREATE TEMP TABLE _slices AS SELECT * FROM UNNEST(ARRAY<${SLICE_TYPE}>[\n  ${tuples.join(',\n  ')}\n])`,
  });

  const sameWindow = (a: string, b: string) => `(l.${a} = s.${b} OR (l.${a} IS NULL AND s.${b} IS NULL))`;
  const overlaps = '(l.window_start IS NULL OR s.window_start IS NULL OR (l.window_start < s.window_end AND s.window_start < l.window_end))';
  const newer = `MAX(IF(l.extracted_at > s.extracted_at AND ${overlaps}, l.extracted_at, NULL))`;
  steps.push({
    kind: 'create_temp',
    why: 'the guard, inside the transaction: already loaded from the same extraction, or stale behind a newer overlapping one',
    sql:
      `CREATE TEMP TABLE _decisions AS SELECT s.table_name, s.municipality, s.window_start, s.window_end, s.window_start_key, s.window_end_key, s.run_id, s.extracted_at, s.rows_expected, ` +
      `CASE WHEN LOGICAL_OR(l.extracted_at = s.extracted_at AND ${sameWindow('window_start', 'window_start')} AND ${sameWindow('window_end', 'window_end')}) THEN 'already_loaded' ` +
      `WHEN ${newer} IS NOT NULL THEN 'stale' ELSE 'loaded' END AS status, ` +
      `${newer} AS newer_extracted_at ` +
      `FROM _slices AS s LEFT JOIN ${ledgerRef} AS l ON l.table_name = s.table_name AND l.municipality = s.municipality ` +
      `GROUP BY s.table_name, s.municipality, s.window_start, s.window_end, s.window_start_key, s.window_end_key, s.run_id, s.extracted_at, s.rows_expected`,
  });

  const outcomeTables: string[] = [];
  loads.forEach(({ table, rawRef, slices, staging }, i) => {
    if (staging.length === 0) throw new Error(`${table.name}: no staging table`);
    const name = text(table.name, IDENT);
    const outcome = `_outcome_${i}`;
    outcomeTables.push(outcome);
    const todo = `SELECT municipality, window_start, window_end, window_start_key, window_end_key FROM _decisions WHERE table_name = ${name} AND status = 'loaded'`;
    const stagedIbge = staging.map((st) => `SELECT _municipality_ibge FROM ${st.ref}`).join(' UNION ALL ');
    steps.push({
      kind: 'create_temp',
      why: `${table.name}: rows each slice will delete and insert, counted in the transaction's snapshot`,
      sql:
        `CREATE TEMP TABLE ${outcome} AS WITH todo AS (${todo}), ` +
        `staged AS (SELECT _municipality_ibge AS municipality, COUNT(*) AS n FROM (${stagedIbge}) GROUP BY _municipality_ibge), ` +
        `existing AS (SELECT todo.municipality, COUNT(*) AS n FROM todo JOIN ${rawRef} AS r ON r._municipality_ibge = todo.municipality ` +
        `WHERE ${pruningFilter(table, slices, 'r')} AND ${slicePredicate(table, 'r', 'todo')} GROUP BY todo.municipality) ` +
        `SELECT ${name} AS table_name, todo.municipality, COALESCE(existing.n, 0) AS rows_deleted, COALESCE(staged.n, 0) AS rows_inserted ` +
        `FROM todo LEFT JOIN existing USING (municipality) LEFT JOIN staged USING (municipality)`,
    });
    steps.push({
      kind: 'assert',
      why: `${table.name}: every slice inserts exactly the rows its manifest declares`,
      sql: `ASSERT NOT EXISTS (SELECT 1 FROM ${outcome} AS o JOIN _decisions AS d USING (table_name, municipality) WHERE o.rows_inserted != d.rows_expected) AS '${table.name}: staged files do not hold the rows their manifests declare'`,
    });
    steps.push({
      kind: 'if',
      why: `${table.name}: no statement at all when every slice is already loaded or stale (table modification quota)`,
      sql: `IF EXISTS (${todo}) THEN`,
    });
    steps.push({
      kind: 'delete',
      why: `${table.name}: one DELETE for all slices to load`,
      sql:
        `DELETE ${rawRef} r WHERE ${pruningFilter(table, slices, 'r')} AND EXISTS (SELECT 1 FROM _decisions AS d ` +
        `WHERE d.table_name = ${name} AND d.status = 'loaded' AND d.municipality = r._municipality_ibge AND ${slicePredicate(table, 'r', 'd')})`,
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
    steps.push({
      kind: 'insert',
      why: `${table.name}: one INSERT of the staged rows of the slices to load`,
      sql:
        `INSERT INTO ${rawRef} (${names.join(', ')}) SELECT ${names.join(', ')} FROM (${selects.join(' UNION ALL ')}) AS s ` +
        `WHERE s._municipality_ibge IN (SELECT municipality FROM _decisions WHERE table_name = ${name} AND status = 'loaded')`,
    });
    steps.push({ kind: 'end_if', sql: 'END IF' });
  });

  const outcomes = outcomeTables.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL ');
  steps.push({ kind: 'if', why: 'the ledger: one INSERT per load', sql: `IF EXISTS (SELECT 1 FROM _decisions WHERE status = 'loaded') THEN` });
  steps.push({
    kind: 'insert',
    sql:
      `INSERT INTO ${ledgerRef} (table_name, municipality, window_start, window_end, run_id, extracted_at, rows_loaded, load_id, loaded_at) ` +
      `SELECT d.table_name, d.municipality, d.window_start, d.window_end, d.run_id, d.extracted_at, o.rows_inserted, ${load}, CURRENT_TIMESTAMP() ` +
      `FROM _decisions AS d JOIN (${outcomes}) AS o USING (table_name, municipality) WHERE d.status = 'loaded'`,
  });
  steps.push({ kind: 'end_if', sql: 'END IF' });
  steps.push({ kind: 'commit', sql: 'COMMIT TRANSACTION' });
  steps.push({
    kind: 'select',
    why: 'the outcome of every slice: the result of the script',
    sql:
      `SELECT d.table_name, d.municipality, d.status, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6SZ', d.newer_extracted_at, 'UTC') AS newer_extracted_at, o.rows_deleted, o.rows_inserted ` +
      `FROM _decisions AS d LEFT JOIN (${outcomes}) AS o USING (table_name, municipality) ORDER BY d.table_name, d.municipality`,
  });

  const sql = [`-- load ${loadId}: ${tuples.length} slice(s) of ${loads.length} table(s) in one transaction`, ...steps.map((s) => `${s.why ? `-- ${s.why}\n` : ''}${s.sql};`)].join('\n');
  return { steps, sql };
}
