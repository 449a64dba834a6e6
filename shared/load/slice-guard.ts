import type { SliceLoad } from '../ports';

/**
 * The slice guard, decided in TypeScript once for both warehouses (DuckDbWarehouse and
 * BigQueryWarehouse read the ledger rows, call `decideSlices`, then execute plain statements).
 * Keeping the decision out of SQL means one definition, testable without a warehouse, and a
 * BigQuery script that only carries parameters (no logic a fake server would have to play).
 *
 * For a slice (table, municipality, window, extractedAt):
 * - `already_loaded`: the ledger holds the same slice (same window) from the same extraction;
 * - `stale`: the ledger holds an overlapping slice from a newer extraction (loading would put
 *   older data over newer data);
 * - otherwise `load`.
 */

/** A row of the slice ledger, as both warehouses read it. */
export interface LedgerSlice {
  table: string;
  municipality: string;
  /** null: a full refresh. */
  windowStart: string | null;
  windowEnd: string | null;
  /** ISO-8601 UTC, microseconds kept. */
  extractedAt: string;
}

export type SliceDecision = { status: 'load' } | { status: 'already_loaded' } | { status: 'stale'; newerExtractedAt: string };

/**
 * Microseconds since the epoch of an ISO-8601 timestamp, exactly (Date drops microseconds, and the
 * guard compares extractions that can be microseconds apart).
 */
export function isoMicros(iso: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) throw new Error(`not an ISO-8601 timestamp: ${JSON.stringify(iso)}`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new Error(`not an ISO-8601 timestamp: ${JSON.stringify(iso)}`);
  return BigInt(ms) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** Two windows overlap when each starts before the other ends (ends are exclusive); a full refresh overlaps everything. */
function overlaps(a: { start: string | null; end: string | null }, b: { start: string | null; end: string | null }): boolean {
  if (a.start === null || b.start === null) return true;
  return a.start < b.end! && b.start < a.end!;
}

/** The decision for one slice of `table`, against the ledger rows (any table or municipality: filtered here). */
export function decideSlice(table: string, slice: Pick<SliceLoad, 'municipality' | 'window' | 'extractedAt'>, ledger: readonly LedgerSlice[]): SliceDecision {
  const at = isoMicros(slice.extractedAt);
  const start = slice.window?.start ?? null;
  const end = slice.window?.end ?? null;
  let newest: { micros: bigint; iso: string } | undefined;
  for (const l of ledger) {
    if (l.table !== table || l.municipality !== slice.municipality) continue;
    const lAt = isoMicros(l.extractedAt);
    if (lAt === at && l.windowStart === start && l.windowEnd === end) return { status: 'already_loaded' };
    if (lAt > at && overlaps({ start: l.windowStart, end: l.windowEnd }, { start, end }) && (!newest || lAt > newest.micros)) newest = { micros: lAt, iso: l.extractedAt };
  }
  return newest ? { status: 'stale', newerExtractedAt: newest.iso } : { status: 'load' };
}

/** Decisions for every slice of every table, in request order. */
export function decideSlices<T extends { table: { name: string }; slices: readonly SliceLoad[] }>(
  loads: readonly T[],
  ledger: readonly LedgerSlice[],
): { table: T['table']; slice: SliceLoad; decision: SliceDecision }[] {
  return loads.flatMap(({ table, slices }) => slices.map((slice) => ({ table, slice, decision: decideSlice(table.name, slice, ledger) })));
}

/**
 * The oldest extraction among the slices: ledger rows older than it can change no decision, so
 * both warehouses read (and BigQuery's optimistic guard re-counts) only rows at or after it.
 */
export function oldestExtraction(slices: readonly Pick<SliceLoad, 'extractedAt'>[]): string {
  let oldest: { micros: bigint; iso: string } | undefined;
  for (const s of slices) {
    const m = isoMicros(s.extractedAt);
    if (!oldest || m < oldest.micros) oldest = { micros: m, iso: s.extractedAt };
  }
  if (!oldest) throw new Error('no slices');
  return oldest.iso;
}

/** ISO-8601 UTC with microseconds, the form both warehouses return ledger timestamps in. */
export const MICROS_FORMAT = { duckdb: '%Y-%m-%dT%H:%M:%S.%fZ', bigquery: '%Y-%m-%dT%H:%M:%E6SZ' } as const;
