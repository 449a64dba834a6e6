import { z } from 'zod';
import { IsoDate, RunId } from '../contracts/identifiers';
import type { Manifest } from '../contracts/manifest';
import { TerminalError } from '../errors';
import { readManifest } from '../records/bucket-records';
import type { ObjectStore } from '../ports';
import { addDays } from '../run/plan-run';
import { finalState, runStatus, type MunicipalityStatus } from '../run/run-status';
import { readFailedAttemptMarker, readLoadRecords, type LoadRecord } from '../records/run-records';
import type { MunicipalityLedgerStatus, ReconciliationStatus, RunLedgerStatus } from './schema';

/**
 * The run report: the ledger rows of one run, computed from the run's objects in the bucket alone
 * (plan, manifests, failure and load records), so the local workflow and the cloud's report step build
 * exactly the same rows. Writing them is the ledger's job (DuckDB locally, BigQuery in the cloud).
 */

/**
 * What the workflow's writeReport step sends. Example:
 *   {"runId":"daily-20261122","runDate":"2026-11-22","deadlineAt":"2026-11-22T12:00:00Z","loadTimedOut":false,"martsFailed":[]}
 */
export const RunReportRequest = z.strictObject({
  /** The run to report; null: only the runs not reported yet (a finalize-only execution). */
  runId: RunId.nullable().default(null),
  runDate: IsoDate.nullable().optional(),
  /** Municipalities still pending after this instant are late. Absent: pending stays pending. */
  deadlineAt: z.string().datetime({ offset: true }).nullable().optional(),
  /** The workflow stopped waiting for the fan-in load (it may still land, or be in the dead-letter topic). */
  loadTimedOut: z.boolean().default(false),
  /** Marts whose refresh failed after its retries. */
  martsFailed: z.array(z.string()).default([]),
  /** The run was stopped before its end (Ctrl-C on a local run): recorded as `interrupted`. */
  interrupted: z.boolean().default(false),
});
export type RunReportRequest = z.input<typeof RunReportRequest>;

/** Rows keyed by their ledger column names (see ./schema.ts). Timestamps are ISO-8601 UTC strings. */
export interface RunRow {
  run_id: string;
  trigger: string | null;
  run_date: string | null;
  window_start: string | null;
  window_end: string | null;
  started_at: string;
  deadline_at: string | null;
  finished_at: string;
  status: RunLedgerStatus;
  municipalities_planned: number;
  municipalities_done: number;
  municipalities_loaded: number;
  municipalities_failed: number;
  municipalities_late: number;
  municipalities_skipped: number;
  alerts: number;
}

export interface MunicipalityRunRow {
  run_id: string;
  municipality: string;
  status: MunicipalityLedgerStatus;
  attempts: number | null;
  rows: number | null;
  bytes: number | null;
  seconds: number | null;
  error_class: string | null;
  error_message: string | null;
  error_classes: string | null;
  pec_version: string | null;
  dw_processed_at: string | null;
  extracted_at: string | null;
  loaded_at: string | null;
  updated_at: string;
  /** Values set aside at extraction (manifest `setAside.rows`): also feeds the `values_set_aside` alert. */
  set_aside_values: number | null;
  /** Source columns unknown to the registry, "table.column, …" (manifest `unknownColumns` per table). */
  unknown_columns: string | null;
}

export interface ReconciliationRow {
  run_id: string;
  municipality: string;
  table_name: string;
  window_start: string | null;
  window_end: string | null;
  source_rows: number | null;
  staged_rows: number | null;
  loaded_rows: number | null;
  status: ReconciliationStatus;
}

export interface RunReport {
  run: RunRow;
  municipalities: MunicipalityRunRow[];
  reconciliation: ReconciliationRow[];
  /** Marts whose refresh failed (from the request). */
  martsFailed: string[];
  loadTimedOut: boolean;
}

/** A PEC timestamp without zone ("2026-11-21T03:00:00") is read as UTC; returns ISO-8601 UTC. */
export function utcIso(value: string): string {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`;
  const t = Date.parse(zoned);
  if (Number.isNaN(t)) throw new Error(`not a timestamp: ${JSON.stringify(value)}`);
  return new Date(t).toISOString();
}

/** The day a run is for: daily runs carry it in their id; others end their window on it. */
export function runDateOf(runId: string, window: { end: string } | null): string | null {
  const m = /^daily-(\d{4})(\d{2})(\d{2})$/.exec(runId);
  if (m) return `${m[1]}-${m[2]}-${m[3]}`;
  return window ? addDays(window.end, -1) : null;
}

async function loadRecords(store: ObjectStore, runId: string): Promise<LoadRecord[]> {
  return (await readLoadRecords(store, runId)).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** "source_unreachable:3, source_timeout:1": the failed deliveries a municipality met, per class. */
export function formatErrorClasses(classes: Record<string, number>): string | null {
  const entries = Object.entries(classes).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([c, n]) => `${c}:${n}`).join(', ') : null;
}

/** The message of a municipality's latest failed delivery (one read), for one that ends failed at the deadline. */
async function lastFailureMessage(store: ObjectStore, runId: string, m: MunicipalityStatus): Promise<string | null> {
  if (!m.lastFailure) return null;
  const message = (await readFailedAttemptMarker(store, runId, m.ibge, m.lastFailure))?.message;
  const running = m.phase === 'extracting' ? ` (attempt ${m.attempts} was still running)` : '';
  return `still failing at the deadline after ${m.attempts} attempt(s)${running}${message ? `: ${message}` : ''}`.slice(0, 2000);
}

/** The manifest's unknown source columns as one "table.column, …" cell (NULL when there is none). */
export function unknownColumnsOf(m: Manifest): string | null {
  const list = m.tables.flatMap((t) => (t.unknownColumns ?? []).map((c) => `${t.table}.${c}`));
  return list.length > 0 ? list.join(', ') : null;
}

type LoadOutcome = LoadRecord['outcomes'][number];

/**
 * Each municipality's load outcomes in load order, and the last load that touched it: one pass over
 * the run's loads. Looking them up per municipality and table in every load's outcomes made the
 * report quadratic (650 municipalities × 28 slices × 18,200 outcomes: seconds per report).
 */
function outcomesByMunicipality(loads: LoadRecord[]): Map<string, { outcomes: LoadOutcome[]; lastLoad: LoadRecord }> {
  const by = new Map<string, { outcomes: LoadOutcome[]; lastLoad: LoadRecord }>();
  for (const l of loads)
    for (const o of l.outcomes) {
      const entry = by.get(o.municipality);
      if (entry) {
        entry.outcomes.push(o);
        entry.lastLoad = l;
      } else by.set(o.municipality, { outcomes: [o], lastLoad: l });
    }
  return by;
}

/** `municipalityOutcomes`: the load outcomes of `m`'s municipality, in load order (outcomesByMunicipality). */
function reconcile(runId: string, m: Manifest, municipalityOutcomes: readonly LoadOutcome[]): ReconciliationRow[] {
  // The set-aside records are a slice like any other: staged, loaded, counted.
  const rows: ReconciliationRow[] = [...m.tables, ...(m.setAside ? [m.setAside] : [])].map((t) => {
    const outcomes = municipalityOutcomes.filter((o) => o.table === t.table);
    const loaded = outcomes.filter((o) => o.status === 'loaded').at(-1);
    const base = {
      run_id: runId,
      municipality: m.municipality,
      table_name: t.table,
      window_start: t.window?.start ?? null,
      window_end: t.window?.end ?? null,
      source_rows: t.sourceRows,
      staged_rows: t.rows,
    };
    const refused = outcomes.find((o) => o.status === 'failed');
    if (refused && !loaded) return { ...base, loaded_rows: null, status: 'load_failed' };
    if (loaded && loaded.status === 'loaded') {
      const ok = t.sourceRows === t.rows && t.rows === loaded.rowsInserted;
      return { ...base, loaded_rows: loaded.rowsInserted, status: ok ? 'match' : 'mismatch' };
    }
    // Loaded by an earlier load of the same extraction whose record is gone: only source vs staged can be checked.
    if (outcomes.some((o) => o.status === 'already_loaded')) return { ...base, loaded_rows: null, status: t.sourceRows === t.rows ? 'match' : 'mismatch' };
    if (outcomes.some((o) => o.status === 'stale')) return { ...base, loaded_rows: null, status: 'superseded' };
    return { ...base, loaded_rows: null, status: 'not_loaded' };
  });
  for (const f of m.failedTables)
    rows.push({
      run_id: runId,
      municipality: m.municipality,
      table_name: f.table,
      window_start: null,
      window_end: null,
      source_rows: null,
      staged_rows: null,
      loaded_rows: null,
      status: 'extract_failed',
    });
  return rows;
}

/**
 * Builds the report of `runId` as of `now`. Throws a TerminalError when the run has no plan (it
 * never started, or the id is wrong).
 */
export async function buildRunReport(store: ObjectStore, request: RunReportRequest & { runId: string }, now: Date): Promise<RunReport> {
  const req = RunReportRequest.parse(request) as z.infer<typeof RunReportRequest> & { runId: string };
  const status = await runStatus(store, { runId: req.runId }, { now });
  if (!status) throw new TerminalError(`run ${req.runId} has no plan in the bucket: it never started, or the id is wrong`, 'invalid_message');
  const loads = outcomesByMunicipality(await loadRecords(store, req.runId));
  const pastDeadline = !!req.deadlineAt && now.getTime() >= Date.parse(req.deadlineAt);
  const nowIso = now.toISOString();

  const municipalities: MunicipalityRunRow[] = [];
  const reconciliation: ReconciliationRow[] = [];
  for (const m of status.municipalities) {
    const final = finalState(m, pastDeadline);
    // Before the deadline a pending municipality shows its live phase (queued shows as pending).
    const live = m.phase === 'extracting' || m.phase === 'retrying' ? m.phase : 'pending';
    const row: MunicipalityRunRow = {
      run_id: req.runId,
      municipality: m.ibge,
      status: final === 'pending' ? live : final,
      attempts: m.attempts || null,
      rows: null,
      bytes: null,
      seconds: null,
      // A retry that later succeeded keeps its classes in error_classes, not as the row's error.
      error_class: m.failure?.errorClass ?? m.loadFailure?.errorClass ?? (m.state === 'pending' ? m.lastFailure?.errorClass : undefined) ?? null,
      error_message:
        m.failure?.message ??
        (m.loadFailure ? `${m.loadFailure.tables.join(', ')}: ${m.loadFailure.message}`.slice(0, 2000) : null) ??
        (final === 'failed' && m.state === 'pending' ? await lastFailureMessage(store, req.runId, m) : null),
      error_classes: formatErrorClasses(m.errorClasses),
      pec_version: null,
      dw_processed_at: null,
      extracted_at: null,
      loaded_at: null,
      updated_at: nowIso,
      set_aside_values: null,
      unknown_columns: null,
    };
    if (m.state === 'done') {
      const manifest = await readManifest(store, req.runId, m.ibge);
      if (manifest) {
        row.rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
        row.bytes = manifest.tables.reduce((n, t) => n + t.parts.reduce((b, p) => b + p.bytes, 0), 0);
        row.seconds = Math.max(0, (Date.parse(manifest.finishedAt) - Date.parse(manifest.extractedAt)) / 1000);
        row.pec_version = manifest.pecVersion;
        row.dw_processed_at = manifest.dwProcessedAt ? utcIso(manifest.dwProcessedAt) : null;
        row.extracted_at = utcIso(manifest.extractedAt);
        row.set_aside_values = manifest.setAside?.rows ?? 0;
        row.unknown_columns = unknownColumnsOf(manifest);
        if (manifest.failedTables.length > 0 && !row.error_class) {
          row.error_class = manifest.failedTables[0]!.errorClass;
          row.error_message = manifest.failedTables
            .map((f) => `${f.table}: ${f.message}`)
            .join('; ')
            .slice(0, 2000);
        }
        reconciliation.push(...reconcile(req.runId, manifest, loads.get(m.ibge)?.outcomes ?? []));
      }
      const lastLoad = loads.get(m.ibge)?.lastLoad;
      row.loaded_at = lastLoad ? utcIso(lastLoad.finishedAt) : null;
    }
    municipalities.push(row);
  }

  const count = (s: MunicipalityLedgerStatus) => municipalities.filter((m) => m.status === s).length;
  const loaded = count('loaded');
  const planned = municipalities.length;
  const live = count('pending') + count('extracting') + count('retrying');
  const runStatusValue: RunLedgerStatus = req.interrupted
    ? 'interrupted'
    : live > 0
      ? 'running'
      : loaded === planned && req.martsFailed.length === 0
        ? 'succeeded'
        : loaded === 0 && planned > 0
          ? 'failed'
          : 'partial';
  return {
    run: {
      run_id: req.runId,
      trigger: status.trigger,
      run_date: req.runDate ?? runDateOf(req.runId, status.window),
      window_start: status.window?.start ?? null,
      window_end: status.window?.end ?? null,
      started_at: utcIso(status.createdAt),
      deadline_at: req.deadlineAt ? utcIso(req.deadlineAt) : null,
      finished_at: nowIso,
      status: runStatusValue,
      municipalities_planned: planned,
      municipalities_done: status.counts.done,
      municipalities_loaded: loaded,
      municipalities_failed: count('failed'),
      municipalities_late: count('late'),
      municipalities_skipped: count('skipped'),
      alerts: 0,
    },
    municipalities,
    reconciliation,
    martsFailed: req.martsFailed,
    loadTimedOut: req.loadTimedOut,
  };
}
