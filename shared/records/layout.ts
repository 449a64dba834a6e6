/**
 * Object names in the staging bucket (and the local directory that mirrors it). Every name is
 * derived from (run, municipality, table, attempt, part), so a retry writes predictable names
 * and a fan-in load can list one table's files for a whole run under one prefix.
 *
 *   runs/<run>/plan.json                                               who the run is for (fan-out)
 *   runs/<run>/manifests/<ibge>.json                                   commit record, written last
 *   runs/<run>/failures/<ibge>.json                                    first terminal failure, if any
 *   runs/<run>/loads/<load-id>.json                                    outcome of a load (run status)
 *   runs/<run>/attempts/<ibge>-s<seq>-a<attempt>-started.json          an extract delivery began (run status)
 *   runs/<run>/attempts/<ibge>-s<seq>-a<attempt>-failed-<class>.json   …and failed (transient or not)
 *   runs/<run>/checkpoints/<ibge>/<seq>.json                           time-budget continuation state
 *   runs/<run>/tables/<table>/<ibge>-<attempt>-part-00000.csv.gz       data
 *   leases/<installation>/<n>.json, <n>.released                      per-server extraction lease (./source-lease.ts)
 *
 * Names under a run are flat below their kind's folder (`<ibge>-…`, not `<ibge>/<attempt>/…`): Cloud
 * Storage has no folders, but the local store mirrors names as paths, where a folder per part cost a
 * directory creation per part (18,850 at 650 municipalities) and the run status, which lists
 * `attempts/` on every poll, read one directory per municipality.
 */
export const layout = {
  runPrefix: (runId: string) => `runs/${runId}/`,
  plan: (runId: string) => `runs/${runId}/plan.json`,
  failure: (runId: string, ibge: string) => `runs/${runId}/failures/${ibge}.json`,
  failuresPrefix: (runId: string) => `runs/${runId}/failures/`,
  load: (runId: string, loadId: string) => `runs/${runId}/loads/${loadId}.json`,
  loadsPrefix: (runId: string) => `runs/${runId}/loads/`,
  manifest: (runId: string, ibge: string) => `runs/${runId}/manifests/${ibge}.json`,
  manifestsPrefix: (runId: string) => `runs/${runId}/manifests/`,
  /** Attempt markers: listed, not read, by the run status (the state and error class are in the name). */
  attemptsPrefix: (runId: string) => `runs/${runId}/attempts/`,
  attemptMarker: (runId: string, ibge: string, sequence: number, attempt: number, event: 'started' | { failed: string }) =>
    `runs/${runId}/attempts/${ibge}-s${String(sequence).padStart(4, '0')}-a${String(Math.min(attempt, 9999)).padStart(4, '0')}-${event === 'started' ? 'started' : `failed-${event.failed.replace(/[^a-z0-9_]/g, '_')}`}.json`,
  checkpoint: (runId: string, ibge: string, sequence: number) => `runs/${runId}/checkpoints/${ibge}/${String(sequence).padStart(4, '0')}.json`,
  checkpointsPrefix: (runId: string, ibge: string) => `runs/${runId}/checkpoints/${ibge}/`,
  allCheckpointsPrefix: (runId: string) => `runs/${runId}/checkpoints/`,
  tablePrefix: (runId: string, table: string) => `runs/${runId}/tables/${table}/`,
  part: (runId: string, table: string, ibge: string, attempt: string, index: number) =>
    `runs/${runId}/tables/${table}/${ibge}-${attempt}-part-${String(index).padStart(5, '0')}.csv.gz`,
  leasesPrefix: (installation: string) => `leases/${installation}/`,
  lease: (installation: string, sequence: number) => `leases/${installation}/${String(sequence).padStart(8, '0')}.json`,
  leaseReleased: (installation: string, sequence: number) => `leases/${installation}/${String(sequence).padStart(8, '0')}.released`,
};

/** The municipality a key under `prefix` belongs to (`<prefix><ibge>.json` or `<prefix><ibge>/…`). */
export function ibgeFromKey(prefix: string, key: string): string | undefined {
  const m = /^(\d{7})(?:\.json$|\/)/.exec(key.slice(prefix.length));
  return m?.[1];
}

const ATTEMPT_MARKER = /\/(\d{7})-s(\d{4})-a(\d{4})-(started|failed-([a-z0-9_]+))\.json$/;

/** What an attempt marker's name says (see layout.attemptMarker), or undefined for another key. */
export function parseAttemptMarkerKey(key: string): { ibge: string; sequence: number; attempt: number; failedClass?: string } | undefined {
  const m = ATTEMPT_MARKER.exec(key);
  if (!m) return undefined;
  return { ibge: m[1]!, sequence: Number(m[2]), attempt: Number(m[3]), ...(m[5] ? { failedClass: m[5] } : {}) };
}

/** The sequence number of a lease object (see layout.lease), NaN for another key. */
export const leaseSequenceOf = (key: string): number => Number(/\/(\d+)\.json$/.exec(key)?.[1] ?? NaN);
