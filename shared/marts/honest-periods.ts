import type { OwnedColumn } from '../ledger/table-schema';
import { inRefreshScope } from './refresh-scope';
import type { SqlDialect } from './sql-dialect';

/**
 * Honest periods (docs/indicators/common.md): every indicator row says whether its quadrimestre is
 * closed and whether the municipality's loaded history covers the whole evaluation window. A row
 * that is both is frozen: later refreshes neither delete nor recompute it, so registrations, deaths
 * or corrections arriving after the period closed do not rewrite a published figure. Everything
 * else is recomputed by every refresh of the municipality (refresh-scope.ts: only municipalities
 * loaded since, or every one after a change of definition).
 *
 * Nullable on purpose: the follow-up marts predate these columns, and BigQuery adds a NULLABLE
 * column in place where a REQUIRED one would replace the table (and drop its row access policies).
 */
export const HONESTY_COLUMNS: readonly OwnedColumn[] = [
  {
    name: 'period_closed',
    type: 'int',
    description: '1 when the data is as of the first day of the second month after the quadrimestre (one month of grace for late records); 0 while it may still change',
  },
  {
    name: 'history_complete',
    type: 'int',
    description: "1 when the municipality's loaded history starts no later than the first month of the evaluation window; 0: the figure is an undercount",
  },
  { name: 'data_as_of', type: 'date', description: "Day of the municipality's newest extraction the row was computed from" },
];

/** A row is frozen when its period is closed and its history complete. */
export const FROZEN = 'COALESCE(period_closed, 0) = 1 AND COALESCE(history_complete, 0) = 1';

/**
 * Predicate for the INSERT: the municipality is in the refresh's scope (refresh-scope.ts), and the
 * (municipality, quadrimestre[, indicator]) has no frozen row in the target yet. After the
 * refresh's DELETE only frozen rows and the rows of other municipalities are left, so this keeps
 * them untouched.
 */
export function frozenClause(dialect: SqlDialect, target: string, municipality: string, quadrimestre: string, indicator?: string): string {
  return `${inRefreshScope(dialect, municipality)} AND NOT EXISTS (SELECT 1 FROM ${target} frozen WHERE frozen.municipality_ibge = ${municipality} AND frozen.quadrimestre = ${quadrimestre}${
    indicator ? ` AND frozen.indicator_id = ${indicator}` : ''
  } AND COALESCE(frozen.period_closed, 0) = 1 AND COALESCE(frozen.history_complete, 0) = 1)`;
}

/** The two statements of an incremental refresh: drop what may change in the scope, insert what is not frozen. */
export function refreshUnfrozen(dialect: SqlDialect, target: string, insert: string): string[] {
  return [`DELETE FROM ${target} WHERE ${inRefreshScope(dialect, 'municipality_ibge')} AND NOT (${FROZEN})`, insert];
}

/** Rebuild the scope's rows whole (tables without frozen rows: dimensions, the nominal list). */
export function refreshInScope(dialect: SqlDialect, target: string, insert: string): string[] {
  return [`DELETE FROM ${target} WHERE ${inRefreshScope(dialect, 'municipality_ibge')}`, insert];
}
