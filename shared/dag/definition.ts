/**
 * A DAG definition is data: an ordered list of typed steps with their parameters. Two interpreters
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

export type DagStep =
  /** Publish the run request; fan-out only records the plan (dispatch "caller"). */
  | { kind: 'startRun'; id: 'start_run'; retry: RetryPolicy; planRetry: RetryPolicy }
  /**
   * Release one extract message per municipality, `batchSize` per publish call, never more than
   * `maxInFlight` municipalities extracting at once, and none after the deadline.
   */
  | { kind: 'fanOut'; id: 'fan_out'; batchSize: number; maxInFlight: number; retry: RetryPolicy }
  /** Wait until no municipality is pending, or the deadline: late ones are recorded, not waited for. */
  | { kind: 'awaitExtractions'; id: 'await_extractions'; deadlineMinutes: number; pollEverySeconds: number; retry: RetryPolicy }
  /** One fan-in load for every extracted municipality (one load job per table), then wait for it. */
  | { kind: 'loadTables'; id: 'load_tables'; timeoutMinutes: number; pollEverySeconds: number; retry: RetryPolicy }
  /** Rebuild every mart from raw, `concurrency` at a time; a failed mart is recorded and reported. */
  | { kind: 'refreshMarts'; id: 'refresh_marts'; marts: readonly string[]; concurrency: number; retry: RetryPolicy }
  /** Build the run report from the bucket and write the ledger (plus reruns/backfills not yet reported). */
  | { kind: 'writeReport'; id: 'write_report'; retry: RetryPolicy }
  /** Log every alert the report raised (severity ERROR/ALERT, field `alert`). */
  | { kind: 'alertOnFailures'; id: 'alert_on_failures' };

export type DagStepKind = DagStep['kind'];
export type StepOf<K extends DagStepKind> = Extract<DagStep, { kind: K }>;

export interface Dag {
  name: string;
  description: string;
  /** Cloud Scheduler's trigger (infra-cdktf reads it). */
  schedule: { cron: string; timeZone: string };
  steps: readonly DagStep[];
}

/** The data dependencies between steps fix this order; `validateDag` enforces it. */
export const STEP_ORDER: readonly DagStepKind[] = ['startRun', 'fanOut', 'awaitExtractions', 'loadTables', 'refreshMarts', 'writeReport', 'alertOnFailures'];

/** Steps a `finalizeOnly` execution runs (after reruns/backfills): marts, report, alerts. */
export const FINALIZE_STEPS: readonly DagStepKind[] = ['refreshMarts', 'writeReport', 'alertOnFailures'];

export function step<K extends DagStepKind>(dag: Dag, kind: K): StepOf<K> {
  const s = dag.steps.find((x) => x.kind === kind);
  if (!s) throw new Error(`DAG ${dag.name} has no ${kind} step`);
  return s as StepOf<K>;
}

export function validateDag(dag: Dag): Dag {
  const kinds = dag.steps.map((s) => s.kind);
  if (kinds.join() !== STEP_ORDER.join()) throw new Error(`DAG ${dag.name}: steps must be ${STEP_ORDER.join(' → ')}, got ${kinds.join(' → ')}`);
  const f = step(dag, 'fanOut');
  if (f.batchSize < 1 || f.maxInFlight < f.batchSize) throw new Error(`DAG ${dag.name}: fanOut needs 1 ≤ batchSize ≤ maxInFlight`);
  if (f.batchSize > 1000) throw new Error(`DAG ${dag.name}: Pub/Sub accepts at most 1000 messages per publish call`);
  const m = step(dag, 'refreshMarts');
  if (m.concurrency < 1 || m.concurrency > 20) throw new Error(`DAG ${dag.name}: refreshMarts concurrency must be 1–20 (Workflows' parallel limit)`);
  return dag;
}
