import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';

/**
 * How the runs a command started ended for each municipality, from the ledger the report just wrote
 * (the same rows `npm run status` shows). A command exits 0 only when every one of them is `loaded`;
 * otherwise it names each one that is not, with its state and error class.
 */
export interface MunicipalityOutcome {
  run_id: string;
  municipality: string;
  status: string;
  error_class: string | null;
  error_message: string | null;
}

export async function outcomesOf(warehouse: Pick<DuckDbWarehouse, 'query'>, runIds: string[]): Promise<MunicipalityOutcome[]> {
  if (runIds.length === 0) return [];
  const rows = await warehouse.query(
    `SELECT run_id, municipality, status, error_class, error_message FROM ops.municipality_runs
     WHERE run_id IN (${runIds.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY run_id, municipality`,
    runIds,
  );
  return rows.map((r) => ({
    run_id: String(r.run_id),
    municipality: String(r.municipality),
    status: String(r.status),
    error_class: r.error_class == null ? null : String(r.error_class),
    error_message: r.error_message == null ? null : String(r.error_message),
  }));
}

/**
 * Lines saying why the command did not fully succeed; empty when every planned municipality of every
 * run is `loaded`. `expected` lists (run, municipality) pairs that must appear: a pair with no ledger
 * row at all is reported too (the report never saw it).
 */
export function failureLines(outcomes: MunicipalityOutcome[], expected: { runId: string; municipality: string }[], names: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const e of expected) {
    const o = outcomes.find((x) => x.run_id === e.runId && x.municipality === e.municipality);
    const who = `${e.municipality} ${names.get(e.municipality) ?? ''}`.trim();
    if (!o) lines.push(`${who} in ${e.runId}: no ledger row (the run was not reported)`);
    else if (o.status !== 'loaded') lines.push(`${who} in ${e.runId}: ${o.status}${o.error_class ? ` (${o.error_class})` : ''}${o.error_message ? `: ${o.error_message}` : ''}`);
  }
  return lines;
}
