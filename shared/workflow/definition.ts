/**
 * A workflow specification is data: an ordered list of typed steps with their parameters. Two interpreters
 * read the same object — `workflow-yaml.ts` turns it into the Cloud Workflows file that is deployed,
 * `local-executor.ts` executes it against local ports for `npm start` — so the cloud and the laptop
 * run the same steps, in the same order, with the same batch size, concurrency limit, deadline,
 * polling and retry policy, and publish messages built from the same templates (./templates.ts).
 */

/** Exponential backoff, as Workflows' `retry` block has it (delays in seconds). */
export interface RetryPolicy {
  maxRetries: number;
  initialDelaySeconds: number;
  maxDelaySeconds: number;
  multiplier: number;
}

export type WorkflowStep =
  /** Publish the run request; fan-out only records the plan (dispatch "caller"). */
  | { kind: 'startRun'; id: 'start_run'; retry: RetryPolicy; planRetry: RetryPolicy }
  /**
   * Release one extract message per municipality, `batchSize` per publish call, never more than
   * `maxInFlight` municipalities in flight (released and neither settled nor waiting for a
   * redelivery: a source in backoff holds no slot), and none after the deadline. Staged
   * municipalities are loaded in waves meanwhile (see loadTables).
   */
  | { kind: 'fanOut'; id: 'fan_out'; batchSize: number; maxInFlight: number; retry: RetryPolicy }
  /** Wait until no municipality is pending, or the deadline, loading waves as they are due. */
  | { kind: 'awaitExtractions'; id: 'await_extractions'; deadlineMinutes: number; pollEverySeconds: number; retry: RetryPolicy }
  /**
   * Load staged municipalities in waves: one load request per wave (one load job per table), at
   * most one wave in flight, a wave when `waveMaxMunicipalities` are waiting or `waveEveryMinutes`
   * after the previous one, and the last ones once extraction is over (everything still staged); then
   * wait for them, up to `timeoutMinutes`. Waves are bounded (see `maxLoadWaves`): each is one
   * modification per table.
   */
  | {
      kind: 'loadTables';
      id: 'load_tables';
      timeoutMinutes: number;
      pollEverySeconds: number;
      waveEveryMinutes: number;
      waveMaxMunicipalities: number;
      retry: RetryPolicy;
    }
  /** Rebuild every mart from raw, `concurrency` at a time; a failed mart is recorded and reported. */
  | { kind: 'refreshMarts'; id: 'refresh_marts'; marts: readonly string[]; concurrency: number; retry: RetryPolicy }
  /** Build the run report from the bucket and write the ledger (plus reruns/backfills not yet reported). */
  | { kind: 'writeReport'; id: 'write_report'; retry: RetryPolicy }
  /** Log every alert the report raised (severity ERROR/ALERT, field `alert`). */
  | { kind: 'alertOnFailures'; id: 'alert_on_failures' };

export type WorkflowStepKind = WorkflowStep['kind'];
export type StepOf<K extends WorkflowStepKind> = Extract<WorkflowStep, { kind: K }>;

export interface WorkflowSpec {
  name: string;
  description: string;
  /** Cloud Scheduler's trigger (infra-cdktf reads it). */
  schedule: { cron: string; timeZone: string };
  steps: readonly WorkflowStep[];
}

/** The data dependencies between steps fix this order; `validateWorkflowSpec` enforces it. */
export const STEP_ORDER: readonly WorkflowStepKind[] = ['startRun', 'fanOut', 'awaitExtractions', 'loadTables', 'refreshMarts', 'writeReport', 'alertOnFailures'];

/** Steps a `finalizeOnly` execution runs (after reruns/backfills): marts, report, alerts. */
export const FINALIZE_STEPS: readonly WorkflowStepKind[] = ['refreshMarts', 'writeReport', 'alertOnFailures'];

export function step<K extends WorkflowStepKind>(workflow: WorkflowSpec, kind: K): StepOf<K> {
  const s = workflow.steps.find((x) => x.kind === kind);
  if (!s) throw new Error(`workflow ${workflow.name} has no ${kind} step`);
  return s as StepOf<K>;
}

/**
 * The most load waves the daily run sends WHILE EXTRACTING (= table modifications per table) for
 * `planned` municipalities: one timed wave per `waveEveryMinutes` until the deadline, plus the full
 * ones (each `waveMaxMunicipalities`). Once extraction is over the load step sends whatever is still
 * staged, one wave at a time, with no budget (a budget there left staged municipalities unloaded):
 * ⌈staged / waveMaxMunicipalities⌉ waves, one more per municipality that finishes after the
 * deadline, and never more than one per load poll until the load timeout. BigQuery allows 1,500
 * modifications per table per day, shared with reruns and backfills.
 *
 * `clock` is the deadline and wave interval the executor really runs with, when they are not the
 * specification's minutes (the local executor's LocalTiming): the budget must follow the interval at
 * which timed waves are actually sent, or a compressed clock spends it long before the deadline.
 */
export function maxLoadWaves(workflow: WorkflowSpec, planned: number, clock?: { deadlineMs: number; waveEveryMs: number }): number {
  const wait = step(workflow, 'awaitExtractions');
  const load = step(workflow, 'loadTables');
  const timed = clock ? Math.ceil(clock.deadlineMs / clock.waveEveryMs) : Math.ceil(wait.deadlineMinutes / load.waveEveryMinutes);
  return timed + Math.ceil(planned / load.waveMaxMunicipalities);
}

export function validateWorkflowSpec(workflow: WorkflowSpec): WorkflowSpec {
  const kinds = workflow.steps.map((s) => s.kind);
  if (kinds.join() !== STEP_ORDER.join()) throw new Error(`workflow ${workflow.name}: steps must be ${STEP_ORDER.join(' → ')}, got ${kinds.join(' → ')}`);
  const f = step(workflow, 'fanOut');
  if (f.batchSize < 1 || f.maxInFlight < f.batchSize) throw new Error(`workflow ${workflow.name}: fanOut needs 1 ≤ batchSize ≤ maxInFlight`);
  if (f.batchSize > 1000) throw new Error(`workflow ${workflow.name}: Pub/Sub accepts at most 1000 messages per publish call`);
  const l = step(workflow, 'loadTables');
  if (l.waveMaxMunicipalities < 1 || l.waveMaxMunicipalities > 100)
    throw new Error(`workflow ${workflow.name}: loadTables waveMaxMunicipalities must be 1–100 (the run status lists at most 100)`);
  if (l.waveEveryMinutes <= 0) throw new Error(`workflow ${workflow.name}: loadTables waveEveryMinutes must be positive`);
  const m = step(workflow, 'refreshMarts');
  if (m.concurrency < 1 || m.concurrency > 20) throw new Error(`workflow ${workflow.name}: refreshMarts concurrency must be 1–20 (Workflows' parallel limit)`);
  return workflow;
}
