import { z } from 'zod';
import { RunId } from '../contracts/identifiers';
import { readRecordCached } from '../records/bucket-records';
import { ibgeFromKey, layout, parseAttemptMarkerKey } from '../records/layout';
import type { ObjectStore } from '../ports';
import { FailureRecord, LoadRecord, PlanRecord } from '../records/run-records';

/**
 * Where a run stands, per municipality, from the run's objects alone (plan, manifests, failures,
 * attempt markers, checkpoints, load records): the workflow polls it to release extract messages and
 * load waves, and people read it when something is late. A manifest wins over a failure: a
 * municipality that failed and then succeeded on a later delivery is done (and keeps the error
 * classes it met).
 *
 * A pending municipality is in one of three phases, from its attempt markers (latest wins):
 *   queued      no delivery has started yet (not released, or waiting in Pub/Sub)
 *   extracting  a delivery started and has not failed: it holds a slot of the in-flight cap
 *   retrying    its last delivery failed transiently: it waits for a redelivery and holds no slot
 * At the deadline each one settles into a final state (`finalState`): extracting → late, retrying
 * → failed with its own error class (a source down for good is not "late"), queued → skipped.
 *
 * Cost: one read of the plan, five listings and one read per terminal failure or load record,
 * whatever the number of municipalities; manifests and attempt markers are only listed.
 */

/** Most municipalities one summary lists as loadable (a load wave): bounds the workflow's variables. */
export const MAX_LOADABLE_LISTED = 100;
/** Most municipalities of the plan one summary pages through for dispatch. */
export const MAX_DISPATCH_PAGE = 1000;

/** The request, as the run-status function accepts it. Example: {"runId":"daily-20261122","view":"summary","dispatchFrom":"10","dispatchLimit":"10"} */
export const RunStatusQuery = z.strictObject({
  runId: RunId,
  /** Pending municipalities are settled (late, failed, skipped) this long after the plan was written. */
  lateAfterSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
  /**
   * `full` (default): every municipality. `summary`: counts, at most MAX_LOADABLE_LISTED loadable
   * municipalities and one page of the plan: what the workflow holds, bounded whatever the run's size.
   */
  view: z.enum(['full', 'summary']).default('full'),
  /** Summary only: the plan page [dispatchFrom, dispatchFrom + dispatchLimit) minus who is done. */
  dispatchFrom: z.coerce.number().int().min(0).optional(),
  dispatchLimit: z.coerce.number().int().min(1).max(MAX_DISPATCH_PAGE).optional(),
  /** Summary only: list at most this many loadable municipalities. */
  loadableLimit: z.coerce.number().int().min(1).max(MAX_LOADABLE_LISTED).optional(),
});
export type RunStatusQuery = z.input<typeof RunStatusQuery>;

export type MunicipalityState = 'done' | 'failed' | 'pending';
export type PendingPhase = 'queued' | 'extracting' | 'retrying';
/** Where a municipality ends (the ledger's final states), or `pending`/`staged` while the run is live. */
export type FinalState = 'loaded' | 'staged' | 'failed' | 'late' | 'skipped' | 'pending';

export interface MunicipalityStatus {
  ibge: string;
  name?: string;
  state: MunicipalityState;
  /** Set when pending. */
  phase?: PendingPhase;
  /** Pending past the deadline the caller gave. */
  late: boolean;
  /** Time-budget continuations so far: an extract that is still making progress. */
  continuations: number;
  /** Extract deliveries that started. */
  attempts: number;
  /** Failed deliveries per error class (kept when a later delivery succeeded). */
  errorClasses: Record<string, number>;
  /** The latest failed delivery (also once a later delivery started or succeeded). */
  lastFailure?: { errorClass: string; attempt: number; sequence: number };
  /** A load processed this municipality's slices (see `loads` for what it did). */
  loaded: boolean;
  /** Slices the warehouse refused (a data error, terminal for those slices only). */
  loadFailure?: { errorClass: string; message: string; tables: string[] };
  failure?: { errorClass: string; message: string; recordedAt: string };
}

export interface RunStatusCounts {
  planned: number;
  done: number;
  failed: number;
  pending: number;
  queued: number;
  extracting: number;
  retrying: number;
  late: number;
  /** Processed by a load (loaded, already loaded, stale or refused). */
  loaded: number;
  /** Done and not processed by any load yet: the next load wave. */
  loadable: number;
  /** Some slices refused by the warehouse. */
  loadFailed: number;
}

export interface RunStatus {
  runId: string;
  createdAt: string;
  trigger: string | null;
  window: { start: string; end: string } | null;
  /** No municipality is pending any more: the workflow can fan in the load. */
  complete: boolean;
  counts: RunStatusCounts;
  /** Retrying municipalities per last error class (bounded by the number of classes). */
  retryingByClass: Record<string, number>;
  municipalities: MunicipalityStatus[];
  loads: { loadId: string; finishedAt: string; loaded: number; alreadyLoaded: number; stale: number; failed: number; missingManifests: string[] }[];
}

/** What the workflow holds while it polls: counts and short, bounded lists; never the whole run. */
export interface RunStatusSummary {
  runId: string;
  createdAt: string;
  window: { start: string; end: string } | null;
  complete: boolean;
  counts: RunStatusCounts;
  retryingByClass: Record<string, number>;
  /** Up to `loadableLimit` done municipalities no load has processed yet, in plan order. */
  loadable: string[];
  /** With dispatchFrom: the page's municipalities not done yet, and where the next page starts (null: end of plan). */
  dispatch?: { municipalities: string[]; next: number | null };
}

/**
 * The state a municipality ends in, given whether the deadline has passed. A source that kept
 * failing ends `failed` with its own class even when the deadline catches it in the middle of
 * yet another attempt (a dead VPN path takes the whole connect timeout to fail): `late` is for an
 * extraction that was making progress (no failure yet, or continuing past its time budget).
 */
export function finalState(m: MunicipalityStatus, pastDeadline: boolean): FinalState {
  if (m.state === 'done') return m.loadFailure ? 'failed' : m.loaded ? 'loaded' : 'staged';
  if (m.state === 'failed') return 'failed';
  if (!pastDeadline) return 'pending';
  if (m.phase === 'retrying') return 'failed';
  if (m.phase === 'extracting') return m.lastFailure && m.continuations === 0 ? 'failed' : 'late';
  return 'skipped';
}

interface Attempts {
  started: number;
  errorClasses: Record<string, number>;
  /** Latest marker by (sequence, attempt, started < failed): it gives the phase. */
  latest?: { order: number; failedClass?: string; attempt: number; sequence: number };
  /** Latest failed marker. */
  latestFailure?: { order: number; errorClass: string; attempt: number; sequence: number };
}

function readAttempts(prefix: string, keys: string[]): Map<string, Attempts> {
  const out = new Map<string, Attempts>();
  for (const key of keys) {
    const m = key.startsWith(prefix) ? parseAttemptMarkerKey(key) : undefined;
    if (!m) continue;
    const { ibge, sequence, attempt, failedClass } = m;
    const a = out.get(ibge) ?? { started: 0, errorClasses: {} };
    const order = sequence * 100_000 + attempt * 10 + (failedClass ? 1 : 0);
    if (failedClass) a.errorClasses[failedClass] = (a.errorClasses[failedClass] ?? 0) + 1;
    else a.started++;
    if (!a.latest || order > a.latest.order) a.latest = { order, attempt, sequence, ...(failedClass ? { failedClass } : {}) };
    if (failedClass && (!a.latestFailure || order > a.latestFailure.order)) a.latestFailure = { order, errorClass: failedClass, attempt, sequence };
    out.set(ibge, a);
  }
  return out;
}

export async function runStatus(
  store: ObjectStore,
  query: RunStatusQuery & { view?: 'full' },
  options: { now: Date; name?: (ibge: string) => string | undefined },
): Promise<RunStatus | undefined>;
export async function runStatus(
  store: ObjectStore,
  query: RunStatusQuery & { view: 'summary' },
  options: { now: Date; name?: (ibge: string) => string | undefined },
): Promise<RunStatusSummary | undefined>;
export async function runStatus(
  store: ObjectStore,
  query: RunStatusQuery,
  options: { now: Date; name?: (ibge: string) => string | undefined },
): Promise<RunStatus | RunStatusSummary | undefined>;
/** The status of `runId`, or undefined when fan-out has not written its plan (yet). */
export async function runStatus(
  store: ObjectStore,
  rawQuery: RunStatusQuery,
  options: { now: Date; name?: (ibge: string) => string | undefined },
): Promise<RunStatus | RunStatusSummary | undefined> {
  const query = RunStatusQuery.parse(rawQuery);
  const { runId } = query;
  const plan = await readRecordCached(store, layout.plan(runId), PlanRecord);
  if (!plan) return undefined;

  const manifestsPrefix = layout.manifestsPrefix(runId);
  const failuresPrefix = layout.failuresPrefix(runId);
  const checkpointsPrefix = layout.allCheckpointsPrefix(runId);
  const attemptsPrefix = layout.attemptsPrefix(runId);
  const [manifestKeys, failureKeys, checkpointKeys, loadKeys, attemptKeys] = await Promise.all([
    store.list(manifestsPrefix),
    store.list(failuresPrefix),
    store.list(checkpointsPrefix),
    store.list(layout.loadsPrefix(runId)),
    store.list(attemptsPrefix),
  ]);
  const done = new Set(manifestKeys.map((k) => ibgeFromKey(manifestsPrefix, k)).filter((x): x is string => !!x));
  const failures = new Map<string, FailureRecord>();
  for (const key of failureKeys) {
    const ibge = ibgeFromKey(failuresPrefix, key);
    if (!ibge || done.has(ibge)) continue;
    const f = await readRecordCached(store, key, FailureRecord);
    if (f) failures.set(ibge, f);
  }
  const continuations = new Map<string, number>();
  for (const key of checkpointKeys) {
    const ibge = ibgeFromKey(checkpointsPrefix, key);
    if (ibge) continuations.set(ibge, (continuations.get(ibge) ?? 0) + 1);
  }
  const attempts = readAttempts(attemptsPrefix, attemptKeys);
  const loads: LoadRecord[] = [];
  for (const key of loadKeys) {
    const l = await readRecordCached(store, key, LoadRecord);
    if (l) loads.push(l);
  }
  const loadedSet = new Set(loads.flatMap((l) => l.outcomes.map((o) => o.municipality)));
  const loadFailures = new Map<string, { errorClass: string; message: string; tables: string[] }>();
  for (const l of loads)
    for (const o of l.outcomes) {
      if (o.status !== 'failed') continue;
      const f = loadFailures.get(o.municipality) ?? { errorClass: o.errorClass, message: o.message, tables: [] };
      if (!f.tables.includes(o.table)) f.tables.push(o.table);
      loadFailures.set(o.municipality, f);
    }

  const pastDeadline = query.lateAfterSeconds !== undefined && options.now.getTime() - Date.parse(plan.createdAt) > query.lateAfterSeconds * 1000;
  const municipalities: MunicipalityStatus[] = plan.municipalities.map((ibge) => {
    const failure = failures.get(ibge);
    const state: MunicipalityState = done.has(ibge) ? 'done' : failure ? 'failed' : 'pending';
    const a = attempts.get(ibge);
    const phase: PendingPhase | undefined = state !== 'pending' ? undefined : !a?.latest ? 'queued' : a.latest.failedClass ? 'retrying' : 'extracting';
    const name = options.name?.(ibge);
    const loadFailure = loadFailures.get(ibge);
    return {
      ibge,
      ...(name ? { name } : {}),
      state,
      ...(phase ? { phase } : {}),
      late: state === 'pending' && pastDeadline,
      continuations: continuations.get(ibge) ?? 0,
      attempts: a?.started ?? 0,
      errorClasses: a?.errorClasses ?? {},
      ...(a?.latestFailure ? { lastFailure: { errorClass: a.latestFailure.errorClass, attempt: a.latestFailure.attempt, sequence: a.latestFailure.sequence } } : {}),
      loaded: loadedSet.has(ibge),
      ...(loadFailure ? { loadFailure } : {}),
      ...(failure ? { failure: { errorClass: failure.errorClass, message: failure.message, recordedAt: failure.recordedAt } } : {}),
    };
  });
  const count = (f: (m: MunicipalityStatus) => boolean) => municipalities.filter(f).length;
  const pending = count((m) => m.state === 'pending');
  const retryingByClass: Record<string, number> = {};
  for (const m of municipalities) if (m.phase === 'retrying' && m.lastFailure) retryingByClass[m.lastFailure.errorClass] = (retryingByClass[m.lastFailure.errorClass] ?? 0) + 1;
  const isLoadable = (m: MunicipalityStatus) => m.state === 'done' && !m.loaded;
  const counts: RunStatusCounts = {
    planned: municipalities.length,
    done: count((m) => m.state === 'done'),
    failed: count((m) => m.state === 'failed'),
    pending,
    queued: count((m) => m.phase === 'queued'),
    extracting: count((m) => m.phase === 'extracting'),
    retrying: count((m) => m.phase === 'retrying'),
    late: count((m) => m.late),
    loaded: count((m) => m.loaded),
    loadable: count(isLoadable),
    loadFailed: count((m) => !!m.loadFailure),
  };

  if (query.view === 'summary') {
    const summary: RunStatusSummary = {
      runId,
      createdAt: plan.createdAt,
      window: plan.window,
      complete: pending === 0,
      counts,
      retryingByClass,
      loadable: municipalities
        .filter(isLoadable)
        .slice(0, query.loadableLimit ?? MAX_LOADABLE_LISTED)
        .map((m) => m.ibge),
    };
    if (query.dispatchFrom !== undefined) {
      const end = query.dispatchFrom + (query.dispatchLimit ?? MAX_DISPATCH_PAGE);
      summary.dispatch = {
        municipalities: municipalities
          .slice(query.dispatchFrom, end)
          .filter((m) => m.state !== 'done')
          .map((m) => m.ibge),
        next: end < municipalities.length ? end : null,
      };
    }
    return summary;
  }
  return {
    runId,
    createdAt: plan.createdAt,
    trigger: plan.trigger,
    window: plan.window,
    complete: pending === 0,
    counts,
    retryingByClass,
    municipalities,
    loads: loads.map((l) => ({
      loadId: l.loadId,
      finishedAt: l.finishedAt,
      loaded: l.outcomes.filter((o) => o.status === 'loaded').length,
      alreadyLoaded: l.outcomes.filter((o) => o.status === 'already_loaded').length,
      stale: l.outcomes.filter((o) => o.status === 'stale').length,
      failed: l.outcomes.filter((o) => o.status === 'failed').length,
      missingManifests: l.missingManifests,
    })),
  };
}
