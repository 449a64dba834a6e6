import { z } from 'zod';
import type { TopicKey } from '../contracts/messages';
import type { DateWindow } from '../contracts/identifiers';
import { PipelineError } from '../errors';
import type { Alert } from '../ledger/alerts';
import type { RunReportRequest } from '../ledger/report';
import type { RunReportResponse } from '../ledger/run-report';
import type { Clock } from '../ports';
import { saoPauloDate } from '../run/plan-run';
import type { RunStatus } from '../run/run-status';
import { FINALIZE_STEPS, step, type Dag, type DagStep, type RetryPolicy } from './definition';
import { EXTRACT_REQUEST, LOAD_REQUEST, MESSAGE_ATTRIBUTES, REPORT_REQUEST, RUN_REQUEST, RUN_REQUEST_OPTIONAL_ARGS, evaluate } from './templates';

/**
 * Executes a DAG definition on this machine: the same steps, in the same order, with the same
 * batching, concurrency limit, deadline, polling and retry policy as the generated workflow, through
 * ports that stand in for what the workflow calls (Pub/Sub publish → the bus; the run-status function
 * → `runStatus` over the bucket; BigQuery jobs → the DuckDB marts; the run-report function →
 * `reportRuns`; sys.log → `logAlert`). Only the clock is scaled (see LocalTiming).
 */
export interface DagPorts {
  /** Validates against the topic's contract, like the real publisher. */
  publish(topic: TopicKey, payload: unknown, attributes: Record<string, string>): Promise<unknown>;
  /** The run-status function; undefined while fan-out has not written the plan (the function's 404). */
  runStatus(runId: string): Promise<RunStatus | undefined>;
  refreshMart(name: string): Promise<void>;
  report(request: RunReportRequest): Promise<RunReportResponse>;
  logAlert(alert: Alert | Record<string, unknown>): void;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The cloud's durations are minutes; a laptop run takes seconds. Unset values are the DAG's own
 * (production) values, so tests can run the real deadline logic with short numbers.
 */
export interface LocalTiming {
  pollEveryMs?: number;
  deadlineMs?: number;
  loadTimeoutMs?: number;
  /** Multiplies every retry delay (1 = the workflow's delays). */
  retryDelayScale?: number;
}

/** The workflow's runtime arguments. */
export interface DagArgs {
  runDate?: string;
  cohort?: string;
  municipalities?: string[];
  window?: DateWindow;
  finalizeOnly?: boolean;
  /** With finalizeOnly: the run to report (else only runs not reported yet). */
  runId?: string;
}

export interface DagRunResult {
  runId: string;
  /** DAG step ids in the order they ran. */
  trace: string[];
  /** Municipalities of each extract batch, in publish order. */
  batches: string[][];
  status: RunStatus | null;
  planned: string[];
  done: string[];
  failed: string[];
  late: string[];
  loadTimedOut: boolean;
  martsFailed: string[];
  report: RunReportResponse | null;
  alerts: (Alert | Record<string, unknown>)[];
}

class PlanNotReady extends Error {}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Never retried: a message that breaks its contract, or an error that says it is terminal. */
function retryable(err: unknown): boolean {
  if (err instanceof z.ZodError) return false;
  if (err instanceof PipelineError) return err.transient;
  return true;
}

export async function executeDag(dag: Dag, ports: DagPorts, args: DagArgs = {}, timing: LocalTiming = {}): Promise<DagRunResult> {
  const sleep = ports.sleep ?? defaultSleep;
  const now = () => ports.clock.now().getTime();
  const scale = timing.retryDelayScale ?? 1;

  /** Workflows' try/retry: exponential backoff, then rethrow. */
  async function withRetry<T>(policy: RetryPolicy, work: () => Promise<T>, predicate: (e: unknown) => boolean = retryable): Promise<T> {
    let delay = policy.initialDelaySeconds;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (attempt >= policy.maxRetries || !predicate(err)) throw err;
        await sleep(delay * 1000 * scale);
        delay = Math.min(delay * policy.multiplier, policy.maxDelaySeconds);
      }
    }
  }

  const start = step(dag, 'startRun');
  const fan = step(dag, 'fanOut');
  const wait = step(dag, 'awaitExtractions');
  const load = step(dag, 'loadTables');
  const marts = step(dag, 'refreshMarts');
  const reportStep = step(dag, 'writeReport');
  const extractPollMs = timing.pollEveryMs ?? wait.pollEverySeconds * 1000;
  const loadPollMs = timing.pollEveryMs ?? load.pollEverySeconds * 1000;

  // init (as the workflow's init step)
  const runDate = args.runDate ?? saoPauloDate(ports.clock.now());
  const runId = `daily-${runDate.replaceAll('-', '')}`;
  const vars: Record<string, unknown> = {
    run_id: runId,
    run_date: runDate,
    report_run_id: args.finalizeOnly ? (args.runId ?? null) : runId,
    report_run_date: args.finalizeOnly ? null : runDate,
    deadline_iso: null,
    load_timed_out: false,
    marts_failed: [] as string[],
    done: [] as string[],
    status: null,
  };
  let deadline = now() + (timing.deadlineMs ?? wait.deadlineMinutes * 60_000);
  const result: DagRunResult = {
    runId,
    trace: [],
    batches: [],
    status: null,
    planned: [],
    done: [],
    failed: [],
    late: [],
    loadTimedOut: false,
    martsFailed: [],
    report: null,
    alerts: [],
  };
  const attributes = () => evaluate(MESSAGE_ATTRIBUTES, vars) as Record<string, string>;
  const status = () => {
    if (!vars.status) throw new Error('no run status yet');
    return vars.status as RunStatus;
  };
  const poll = async (): Promise<RunStatus> => {
    const s = await withRetry(start.retry, () => ports.runStatus(runId));
    if (!s) throw new Error(`run ${runId} lost its plan`);
    vars.status = s;
    return s;
  };

  const run: { [K in DagStep['kind']]: () => Promise<void> } = {
    startRun: async () => {
      const request = evaluate(RUN_REQUEST, vars) as Record<string, unknown>;
      for (const arg of RUN_REQUEST_OPTIONAL_ARGS) if (args[arg] !== undefined) request[arg] = args[arg];
      await withRetry(start.retry, () => ports.publish('runRequests', request, attributes()));
      vars.status = await withRetry(
        start.planRetry,
        async () => {
          const s = await ports.runStatus(runId);
          if (!s) throw new PlanNotReady(`run ${runId} has no plan yet`);
          return s;
        },
        (e) => e instanceof PlanNotReady || retryable(e),
      );
      deadline = Date.parse(status().createdAt) + (timing.deadlineMs ?? wait.deadlineMinutes * 60_000);
      vars.deadline_iso = new Date(deadline).toISOString();
      result.planned = status().municipalities.map((m) => m.ibge);
    },

    fanOut: async () => {
      /** True once at most `allowed` dispatched municipalities are still extracting; false past the deadline. */
      const hasCapacity = async (dispatched: number, allowed: number): Promise<boolean> => {
        if (now() >= deadline) return false;
        if (dispatched <= allowed) return true;
        for (;;) {
          const s = await poll();
          if (dispatched - s.counts.done - s.counts.failed <= allowed) return true;
          if (now() >= deadline) return false;
          await sleep(extractPollMs);
        }
      };
      const planned = status().municipalities;
      let messages: { ibge: string; payload: unknown }[] = [];
      let dispatched = 0;
      for (const [i, m] of planned.entries()) {
        // A municipality already extracted in this run (a second run the same day) is not sent again.
        if (m.state !== 'done') messages.push({ ibge: m.ibge, payload: evaluate(EXTRACT_REQUEST, { ...vars, m }) });
        if (messages.length > 0 && (messages.length === fan.batchSize || i === planned.length - 1)) {
          if (await hasCapacity(dispatched, fan.maxInFlight - messages.length)) {
            const batch = messages;
            await withRetry(fan.retry, async () => {
              for (const msg of batch) await ports.publish('extractRequests', msg.payload, attributes());
            });
            dispatched += batch.length;
            result.batches.push(batch.map((b) => b.ibge));
          }
          messages = [];
        }
      }
    },

    awaitExtractions: async () => {
      for (;;) {
        const s = await poll();
        if (s.counts.pending === 0 || now() >= deadline) break;
        await sleep(extractPollMs);
      }
      const s = status();
      result.done = s.municipalities.filter((m) => m.state === 'done').map((m) => m.ibge);
      result.failed = s.municipalities.filter((m) => m.state === 'failed').map((m) => m.ibge);
      result.late = s.municipalities.filter((m) => m.state === 'pending').map((m) => m.ibge);
    },

    loadTables: async () => {
      const done = status()
        .municipalities.filter((m) => m.state === 'done')
        .map((m) => m.ibge);
      vars.done = done;
      if (done.length === 0) return;
      await withRetry(load.retry, () => ports.publish('loadRequests', evaluate(LOAD_REQUEST, vars), attributes()));
      const timeoutAt = now() + (timing.loadTimeoutMs ?? load.timeoutMinutes * 60_000);
      for (;;) {
        const s = await poll();
        if (s.counts.loaded >= done.length) return;
        if (now() >= timeoutAt) {
          vars.load_timed_out = true;
          result.loadTimedOut = true;
          return;
        }
        await sleep(loadPollMs);
      }
    },

    refreshMarts: async () => {
      const queue = [...marts.marts];
      const failed = vars.marts_failed as string[];
      const worker = async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          const mart = name;
          try {
            await withRetry(marts.retry, () => ports.refreshMart(mart));
          } catch (err) {
            ports.logAlert({ severity: 'ERROR', message: 'mart refresh failed', mart, error: (err as Error).message });
            failed.push(mart);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(marts.concurrency, queue.length) }, worker));
      result.martsFailed = [...failed];
    },

    writeReport: async () => {
      try {
        result.report = await withRetry(reportStep.retry, () => ports.report(evaluate(REPORT_REQUEST, vars) as RunReportRequest));
      } catch (err) {
        const alert = {
          alert: 'pec-pipeline',
          rule: 'report_failed',
          severity: 'ALERT',
          runId: vars.report_run_id ?? runId,
          message: 'the run report could not be written: ledger and alerts are missing for this run',
          error: (err as Error).message,
        };
        ports.logAlert(alert);
        result.alerts.push(alert);
      }
    },

    alertOnFailures: async () => {
      for (const a of result.report?.alerts ?? []) {
        ports.logAlert(a);
        result.alerts.push(a);
      }
    },
  };

  for (const s of dag.steps) {
    if (args.finalizeOnly && !FINALIZE_STEPS.includes(s.kind)) continue;
    result.trace.push(s.id);
    await run[s.kind]();
  }
  result.status = (vars.status as RunStatus | null) ?? null;
  return result;
}
