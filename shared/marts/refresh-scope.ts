import { createHash } from 'node:crypto';
import type { OwnedTable } from '../ledger/table-schema';
import { sqlLiteral, tableRef, type SqlDialect } from './sql-dialect';

/**
 * Incremental refresh per municipality (docs/marts.md, "Refresh"). A mart's refresh recomputes only
 * the municipalities whose inputs changed since that mart was last refreshed for them — loaded
 * since (the loader's slice ledger `ops.loaded_slices` against the watermark in
 * `marts.refresh_state`) or last computed by another definition of the mart — and within them only the
 * rows that are not frozen (honest-periods.ts). A municipality that failed or was not loaded keeps
 * its rows as they are: no shared fate.
 *
 * The set of municipalities (the "refresh scope") is computed once, inside the refresh's
 * transaction, into a variable every statement reads: an ARRAY<STRING> in the BigQuery procedure
 * (DECLARE + SET, so the workflow still only CALLs it, without arguments), a DuckDB variable
 * locally (SET VARIABLE). Nothing but the ledger and the state table decides it: no user text.
 */

/**
 * The loader's slice ledger (defined with the loader: LOADED_SLICES_TABLE in
 * shared/adapters/gcp/bigquery-schema.ts, the DuckDB warehouse creates the same table), named here
 * because the marts may not import the adapters (test/unit/import-rules.test.ts).
 */
const LOADED_SLICES = 'loaded_slices';

/** Name of the scope variable, in both engines. */
const SCOPE = 'refresh_scope';

export const REFRESH_STATE_TABLE: OwnedTable = {
  dataset: 'marts',
  name: 'refresh_state',
  description: 'One row per refresh of a mart for a municipality: the newest load and the definition its rows were computed from (the incremental refresh reads the latest row)',
  clustering: ['mart', 'municipality_ibge'],
  columns: [
    { name: 'mart', type: 'string', required: true, description: 'Mart with a refresh of its own (its transaction also rebuilds the marts derived from it)' },
    { name: 'municipality_ibge', type: 'string', required: true, description: 'IBGE code (7 digits); the row access policies filter on it' },
    {
      name: 'loaded_through',
      type: 'timestamp',
      description: "Newest load of the municipality (max ops.loaded_slices.loaded_at) the mart's rows were computed from; NULL when the ledger has none (always recomputed)",
    },
    { name: 'definition_version', type: 'string', required: true, description: "Hash of the mart's generated SQL (both engines) the rows were computed with" },
    { name: 'refreshed_at', type: 'timestamp', required: true, description: 'When this refresh of the mart ran (UTC); the latest row per mart and municipality is the watermark' },
  ],
};

/** `column` is one of the municipalities of the current refresh (only inside a refresh's script). */
export function inRefreshScope(dialect: SqlDialect, column: string): string {
  return dialect === 'duckdb' ? `list_contains(getvariable('${SCOPE}'), ${column})` : `${column} IN UNNEST(${SCOPE})`;
}

/**
 * The version of a mart's definition: a hash of its refresh statements in both engines, so any change
 * to the SQL (an indicator's rule, a code list, a column) makes the next refresh recompute every
 * municipality's unfrozen rows, without anyone remembering to ask for it.
 */
export function definitionVersion(statements: (dialect: SqlDialect) => string[]): string {
  const h = createHash('sha256');
  for (const dialect of ['duckdb', 'bigquery'] as const) for (const s of statements(dialect)) h.update(s).update('\n;\n');
  return h.digest('hex').slice(0, 16);
}

/**
 * Per municipality the ledger or the raw data knows: its newest load (`loaded_through`), NULL when
 * the ledger has no slice of it (data written before the ledger existed, or by hand), so it is
 * always recomputed, as before this refresh was incremental.
 */
function newestLoads(dialect: SqlDialect): string {
  return `(SELECT l.municipality_ibge, MAX(l.loaded_at) AS loaded_through
FROM (
  SELECT municipality AS municipality_ibge, loaded_at FROM ${tableRef(dialect, 'ops', LOADED_SLICES)}
  UNION ALL
  SELECT DISTINCT _municipality_ibge, CAST(NULL AS TIMESTAMP) FROM ${tableRef(dialect, 'raw', 'tb_fat_atendimento_individual')}
) l
GROUP BY l.municipality_ibge)`;
}

/**
 * The municipalities `mart` must be recomputed for: never refreshed, loaded since, unknown to the
 * ledger, or last computed by another definition — against the latest state row of each.
 */
function changed(dialect: SqlDialect, mart: string, version: string): string {
  return `SELECT n.municipality_ibge
FROM ${newestLoads(dialect)} n
LEFT JOIN (
  SELECT municipality_ibge, loaded_through, definition_version,
    ROW_NUMBER() OVER (PARTITION BY municipality_ibge ORDER BY refreshed_at DESC) AS latest
  FROM ${tableRef(dialect, 'marts', REFRESH_STATE_TABLE.name)}
  WHERE mart = ${sqlLiteral(mart)}
) s ON s.municipality_ibge = n.municipality_ibge AND s.latest = 1
WHERE s.municipality_ibge IS NULL OR n.loaded_through IS NULL OR s.loaded_through IS NULL
  OR s.loaded_through < n.loaded_through OR s.definition_version <> ${sqlLiteral(version)}`;
}

/** Statements before the transaction (BigQuery scripting declares its variables first). */
export function scopeDeclaration(dialect: SqlDialect): string[] {
  return dialect === 'bigquery' ? [`DECLARE ${SCOPE} ARRAY<STRING> DEFAULT []`] : [];
}

/** First statement of the transaction: the municipalities this refresh recomputes. */
export function setRefreshScope(dialect: SqlDialect, mart: string, version: string): string {
  const select = changed(dialect, mart, version);
  return dialect === 'duckdb'
    ? `SET VARIABLE ${SCOPE} = (SELECT COALESCE(list(municipality_ibge ORDER BY municipality_ibge), []) FROM (${select}) scope)`
    : `SET ${SCOPE} = ARRAY(SELECT municipality_ibge FROM (${select}) scope ORDER BY municipality_ibge)`;
}

/**
 * Last statement of the transaction: the watermark of every municipality just recomputed. Read
 * again inside the same transaction, so it is the load the rows were computed from (a load that
 * commits later is newer, and its municipality is recomputed next time). Appended, never updated:
 * the workflow refreshes two marts at once, and BigQuery cancels one of two transactions that
 * UPDATE or DELETE rows of the same table, while INSERTs do not conflict. A refresh with nothing in
 * its scope appends nothing.
 */
export function recordRefreshState(dialect: SqlDialect, mart: string, version: string): string[] {
  const state = tableRef(dialect, 'marts', REFRESH_STATE_TABLE.name);
  return [
    `INSERT INTO ${state} (${REFRESH_STATE_TABLE.columns.map((c) => c.name).join(', ')})
SELECT ${sqlLiteral(mart)}, n.municipality_ibge, n.loaded_through, ${sqlLiteral(version)}, CAST(CURRENT_TIMESTAMP AS TIMESTAMP)
FROM ${newestLoads(dialect)} n
WHERE ${inRefreshScope(dialect, 'n.municipality_ibge')}`,
  ];
}
