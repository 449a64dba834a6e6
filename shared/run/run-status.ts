import { z } from 'zod';
import { RunId } from '../contracts/identifiers';
import { layout } from '../extract/layout';
import type { ObjectStore } from '../ports';
import { FailureRecord, LoadRecord, PlanRecord } from './store-observer';

/**
 * Where a run stands, per municipality, from the run's objects alone (plan, manifests, failures,
 * checkpoints, load records): the workflow polls it to decide when to fan in the load, and people
 * read it when something is late. A manifest wins over a failure record: a municipality that failed
 * and then succeeded on a later delivery is done.
 *
 * Cost: one read of the plan, three listings and one read per failure or load record, whatever the
 * number of municipalities; manifests are only listed, never read.
 */

/** The request, as the run-status function accepts it. Example: {"runId":"daily-20261122","lateAfterSeconds":"3600"} */
export const RunStatusQuery = z.strictObject({
  runId: RunId,
  /** Pending municipalities are flagged late this long after the plan was written. */
  lateAfterSeconds: z.coerce.number().int().min(0).max(7 * 86_400).optional(),
});
export type RunStatusQuery = z.infer<typeof RunStatusQuery>;

export type MunicipalityState = 'done' | 'failed' | 'pending';

export interface MunicipalityStatus {
  ibge: string;
  name?: string;
  state: MunicipalityState;
  /** Pending past the deadline the caller gave. */
  late: boolean;
  /** Time-budget continuations so far: an extract that is still making progress. */
  continuations: number;
  /** A load processed this municipality's slices (see `loads` for what it did). */
  loaded: boolean;
  failure?: { errorClass: string; message: string; recordedAt: string };
}

export interface RunStatus {
  runId: string;
  createdAt: string;
  trigger: string | null;
  window: { start: string; end: string } | null;
  /** No municipality is pending any more: the workflow can fan in the load. */
  complete: boolean;
  counts: { planned: number; done: number; failed: number; pending: number; late: number; loaded: number };
  municipalities: MunicipalityStatus[];
  loads: { loadId: string; finishedAt: string; loaded: number; alreadyLoaded: number; stale: number; missingManifests: string[] }[];
}

function ibgeFromKey(prefix: string, key: string): string | undefined {
  const m = /^(\d{7})(?:\.json|\/)/.exec(key.slice(prefix.length));
  return m?.[1];
}

async function readJson<T>(store: ObjectStore, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const raw = await store.read(key);
  if (!raw) return undefined;
  const parsed = schema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!parsed.success) throw new Error(`${key} does not match its record contract: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The status of `runId`, or undefined when fan-out has not written its plan (yet). */
export async function runStatus(
  store: ObjectStore,
  query: RunStatusQuery,
  options: { now: Date; name?: (ibge: string) => string | undefined },
): Promise<RunStatus | undefined> {
  const { runId } = query;
  const plan = await readJson(store, layout.plan(runId), PlanRecord);
  if (!plan) return undefined;

  const manifestsPrefix = layout.manifestsPrefix(runId);
  const failuresPrefix = layout.failuresPrefix(runId);
  const checkpointsPrefix = layout.allCheckpointsPrefix(runId);
  const [manifestKeys, failureKeys, checkpointKeys, loadKeys] = await Promise.all([
    store.list(manifestsPrefix),
    store.list(failuresPrefix),
    store.list(checkpointsPrefix),
    store.list(layout.loadsPrefix(runId)),
  ]);
  const done = new Set(manifestKeys.map((k) => ibgeFromKey(manifestsPrefix, k)).filter((x): x is string => !!x));
  const failures = new Map<string, FailureRecord>();
  for (const key of failureKeys) {
    const ibge = ibgeFromKey(failuresPrefix, key);
    if (!ibge || done.has(ibge)) continue;
    const f = await readJson(store, key, FailureRecord);
    if (f) failures.set(ibge, f);
  }
  const continuations = new Map<string, number>();
  for (const key of checkpointKeys) {
    const ibge = ibgeFromKey(checkpointsPrefix, key);
    if (ibge) continuations.set(ibge, (continuations.get(ibge) ?? 0) + 1);
  }
  const loads: LoadRecord[] = [];
  for (const key of loadKeys) {
    const l = await readJson(store, key, LoadRecord);
    if (l) loads.push(l);
  }
  const loadedSet = new Set(loads.flatMap((l) => l.outcomes.map((o) => o.municipality)));

  const pastDeadline =
    query.lateAfterSeconds !== undefined && options.now.getTime() - Date.parse(plan.createdAt) > query.lateAfterSeconds * 1000;
  const municipalities: MunicipalityStatus[] = plan.municipalities.map((ibge) => {
    const failure = failures.get(ibge);
    const state: MunicipalityState = done.has(ibge) ? 'done' : failure ? 'failed' : 'pending';
    const name = options.name?.(ibge);
    return {
      ibge,
      ...(name ? { name } : {}),
      state,
      late: state === 'pending' && pastDeadline,
      continuations: continuations.get(ibge) ?? 0,
      loaded: loadedSet.has(ibge),
      ...(failure ? { failure: { errorClass: failure.errorClass, message: failure.message, recordedAt: failure.recordedAt } } : {}),
    };
  });
  const count = (f: (m: MunicipalityStatus) => boolean) => municipalities.filter(f).length;
  const pending = count((m) => m.state === 'pending');
  return {
    runId,
    createdAt: plan.createdAt,
    trigger: plan.trigger,
    window: plan.window,
    complete: pending === 0,
    counts: {
      planned: municipalities.length,
      done: count((m) => m.state === 'done'),
      failed: count((m) => m.state === 'failed'),
      pending,
      late: count((m) => m.late),
      loaded: count((m) => m.loaded),
    },
    municipalities,
    loads: loads.map((l) => ({
      loadId: l.loadId,
      finishedAt: l.finishedAt,
      loaded: l.outcomes.filter((o) => o.status === 'loaded').length,
      alreadyLoaded: l.outcomes.filter((o) => o.status === 'already_loaded').length,
      stale: l.outcomes.filter((o) => o.status === 'stale').length,
      missingManifests: l.missingManifests,
    })),
  };
}
