import { z } from 'zod';
import type { TopicKey } from '../contracts/messages';
import type { DateWindow } from '../contracts/identifiers';
import { PipelineError } from '../errors';
import { LOG_FIELDS } from '../contracts/log-messages';
import { ALERT_FIELD_VALUE, REPORT_FAILED_ALERT, type Alert } from '../ledger/alerts';
import type { RunReportRequest } from '../ledger/report';
import type { RunReportResponse } from '../ledger/run-report';
import type { Clock } from '../ports';
import { saoPauloDate } from '../run/plan-run';
import { finalState, type RunStatus, type RunStatusSummary } from '../run/run-status';
import { FINALIZE_STEPS, maxLoadWaves, step, type WorkflowSpec, type WorkflowStep, type RetryPolicy } from './definition';
import {
  DISPATCH_STATUS_QUERY,
  EXTRACT_REQUEST,
  LOAD_REQUEST,
  MESSAGE_ATTRIBUTES,
  PLAN_STATUS_QUERY,
  REPORT_REQUEST,
  RUN_REQUEST,
  RUN_REQUEST_OPTIONAL_ARGS,
  STATUS_QUERY,
  evaluate,
} from './templates';

/**
 * Executes a workflow specification on this machine: the same steps, in the same order, with the same
 * batching, concurrency limit, deadline, polling and retry policy as the generated workflow, through
 * ports that stand in for what the workflow calls (Pub/Sub publish → the bus; the run-status function
 * → `runStatus` over the bucket; BigQuery jobs → the DuckDB marts; the run-report function →
 * `reportRuns`; sys.log → `logAlert`). Only the clock is scaled (see LocalTiming).
 */
export interface WorkflowPorts {
  /** Validates against the topic's contract, like the real publisher. */
  publish(topic: TopicKey, payload: unknown, attributes: Record<string, string>): Promise<unknown>;
  /**
   * The run-status function, summary view (what the workflow holds: counts, one dispatch page, at
   * most 100 loadable municipalities); undefined while fan-out has not written the plan (its 404).
   */
  runStatus(query: WorkflowStatusQuery): Promise<RunStatusSummary | undefined>;
  /** The full status, only to fill WorkflowRunResult's lists for local callers (the workflow never reads it). */
  fullStatus?(runId: string, lateAfterSeconds?: number): Promise<RunStatus | undefined>;
  refreshMart(name: string): Promise<void>;
  /**
   * The run-report function: writes the ledger, logs one line per alert through `logAlert` (as the
   * function does with its own logger) and answers counts only.
   */
  report(request: RunReportRequest, logAlert: (alert: Alert) => void): Promise<RunReportResponse>;
  logAlert(alert: Alert | Record<string, unknown>): void;
  /** A plain log line of the workflow's own (the workflow's sys.log), e.g. the alert count. */
  log?(entry: Record<string, unknown>): void;
  /** Called after every status poll while the workflow waits (local heartbeat). */
  onWait?(status: RunStatusSummary, waiting: { step: string; deadlineAt: string }): void;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
}

/** What the workflow asks the run-status function (the summary view). */
export type WorkflowStatusQuery = { runId: string; view: 'summary'; dispatchFrom?: number; dispatchLimit?: number; loadableLimit?: number };

/**
 * The cloud's durations are minutes; a laptop run takes seconds. Unset values are the workflow's own
 * (production) values, so tests can run the real deadline logic with short numbers.
 */
export interface LocalTiming {
  pollEveryMs?: number;
  deadlineMs?: number;
  loadTimeoutMs?: number;
  /** Time between timed load waves (default: the workflow's waveEveryMinutes). */
  loadWaveEveryMs?: number;
  /** Multiplies every retry delay (1 = the workflow's delays). */
  retryDelayScale?: number;
}

/** The workflow's runtime arguments. */
export interface WorkflowArgs {
  runDate?: string;
  cohort?: string;
  municipalities?: string[];
  window?: DateWindow;
  finalizeOnly?: boolean;
  /** With finalizeOnly: the run to report (else only runs not reported yet). */
  runId?: string;
}

export interface WorkflowRunResult {
  runId: string;
  /** Workflow step ids in the order they ran. */
  trace: string[];
  /** Municipalities of each extract batch, in publish order. */
  batches: string[][];
  /** Municipalities of each load wave, in publish order. */
  waves: string[][];
  /** The last summary the workflow polled. */
  status: RunStatusSummary | null;
  /** From the full status at the end (local callers only): */
  planned: string[];
  /** Extracted (manifest committed). */
  done: string[];
  /** Ended failed: terminal, a retry that never succeeded by the deadline, or slices the warehouse refused. */
  failed: string[];
  /** Still extracting at the deadline. */
  late: string[];
  /** Never started before the deadline. */
  skipped: string[];
  loadTimedOut: boolean;
  martsFailed: string[];
  report: RunReportResponse | null;
  /** Every alert logged during the execution (by the report, or by the workflow itself). */
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

export async function executeWorkflow(workflow: WorkflowSpec, ports: WorkflowPorts, args: WorkflowArgs = {}, timing: LocalTiming = {}): Promise<WorkflowRunResult> {
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

  const start = step(workflow, 'startRun');
  const fan = step(workflow, 'fanOut');
  const wait = step(workflow, 'awaitExtractions');
  const load = step(workflow, 'loadTables');
  const marts = step(workflow, 'refreshMarts');
  const reportStep = step(workflow, 'writeReport');
  const extractPollMs = timing.pollEveryMs ?? wait.pollEverySeconds * 1000;
  const loadPollMs = timing.pollEveryMs ?? load.pollEverySeconds * 1000;
  const waveEveryMs = timing.loadWaveEveryMs ?? load.waveEveryMinutes * 60_000;

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
    wave: [] as string[],
    status: null,
  };
  let deadline = now() + (timing.deadlineMs ?? wait.deadlineMinutes * 60_000);
  const result: WorkflowRunResult = {
    runId,
    trace: [],
    batches: [],
    waves: [],
    status: null,
    planned: [],
    done: [],
    failed: [],
    late: [],
    skipped: [],
    loadTimedOut: false,
    martsFailed: [],
    report: null,
    alerts: [],
  };
  const attributes = () => evaluate(MESSAGE_ATTRIBUTES, vars) as Record<string, string>;
  const logAlert = (a: Alert | Record<string, unknown>) => {
    ports.logAlert(a);
    result.alerts.push(a);
  };
  const status = () => {
    if (!vars.status) throw new Error('no run status yet');
    return vars.status as RunStatusSummary;
  };
  const poll = async (stepId: string, page?: { cursor: number; batch_size: number }): Promise<RunStatusSummary> => {
    const query = evaluate(page ? DISPATCH_STATUS_QUERY : STATUS_QUERY, { ...vars, wave_max: load.waveMaxMunicipalities, ...page }) as WorkflowStatusQuery;
    const s = await withRetry(start.retry, () => ports.runStatus(query));
    if (!s) throw new Error(`run ${runId} lost its plan`);
    vars.status = s;
    ports.onWait?.(s, { step: stepId, deadlineAt: new Date(deadline).toISOString() });
    return s;
  };

  // Load waves (the workflow's load_wave subworkflow): at most one in flight; `requested` is the
  // number of municipalities processed by a load once every wave sent so far has finished. The
  // budget (maxLoadWaves) bounds the waves sent while extracting; the last ones (`last`) always go,
  // or what is staged after the budget is spent would never be loaded.
  let requested = 0;
  let lastWaveAt = now();
  let maxWaves = Infinity;
  const outstanding = (s: RunStatusSummary) => requested - s.counts.loaded > 0;
  const maybeWave = async (s: RunStatusSummary, last: boolean): Promise<void> => {
    if (outstanding(s)) {
      // A wave that never finished (its load dead-lettered) must not stop the next ones: give up on
      // it after the load budget; its municipalities are loadable again.
      if (now() - lastWaveAt < (timing.loadTimeoutMs ?? load.timeoutMinutes * 60_000)) return;
      requested = s.counts.loaded;
      vars.load_timed_out = true;
      result.loadTimedOut = true;
    }
    const due = last || s.counts.loadable >= load.waveMaxMunicipalities || now() - lastWaveAt >= waveEveryMs;
    if (s.loadable.length === 0 || !due || (!last && result.waves.length >= maxWaves)) return;
    vars.wave = s.loadable;
    await withRetry(load.retry, () => ports.publish('loadRequests', evaluate(LOAD_REQUEST, vars), attributes()));
    result.waves.push([...s.loadable]);
    requested = s.counts.loaded + s.loadable.length;
    lastWaveAt = now();
  };
  // Released and neither settled nor waiting for a redelivery. Municipalities done before this
  // execution (a re-executed workflow) were not released again: they do not count.
  let doneBefore = 0;
  const inFlight = (s: RunStatusSummary, dispatched: number) => dispatched - (s.counts.done - doneBefore) - s.counts.failed - s.counts.retrying;

  const run: { [K in WorkflowStep['kind']]: () => Promise<void> } = {
    startRun: async () => {
      const request = evaluate(RUN_REQUEST, vars) as Record<string, unknown>;
      for (const arg of RUN_REQUEST_OPTIONAL_ARGS) if (args[arg] !== undefined) request[arg] = args[arg];
      await withRetry(start.retry, () => ports.publish('runRequests', request, attributes()));
      vars.status = await withRetry(
        start.planRetry,
        async () => {
          const s = await ports.runStatus(evaluate(PLAN_STATUS_QUERY, vars) as WorkflowStatusQuery);
          if (!s) throw new PlanNotReady(`run ${runId} has no plan yet`);
          return s;
        },
        (e) => e instanceof PlanNotReady || retryable(e),
      );
      deadline = Date.parse(status().createdAt) + (timing.deadlineMs ?? wait.deadlineMinutes * 60_000);
      vars.deadline_iso = new Date(deadline).toISOString();
      lastWaveAt = Date.parse(status().createdAt);
      // The budget follows the deadline and wave interval this execution runs with (LocalTiming).
      maxWaves = maxLoadWaves(workflow, status().counts.planned, { deadlineMs: deadline - Date.parse(status().createdAt), waveEveryMs });
      doneBefore = status().counts.done;
    },

    fanOut: async () => {
      // One page of the plan per batch (who is not done yet), so no per-municipality list is held.
      let dispatched = 0;
      for (let cursor: number | null = 0; cursor !== null && now() < deadline;) {
        const page = await poll(fan.id, { cursor, batch_size: fan.batchSize });
        const batch = page.dispatch?.municipalities ?? [];
        cursor = page.dispatch?.next ?? null;
        if (batch.length === 0) continue;
        // Wait until releasing the batch keeps the extractions in progress within the cap.
        let s = page;
        while (inFlight(s, dispatched) + batch.length > fan.maxInFlight && now() < deadline) {
          await maybeWave(s, false);
          await sleep(extractPollMs);
          s = await poll(fan.id);
        }
        if (now() >= deadline) break;
        await withRetry(fan.retry, async () => {
          for (const ibge of batch) await ports.publish('extractRequests', evaluate(EXTRACT_REQUEST, { ...vars, status: page, ibge }), attributes());
        });
        dispatched += batch.length;
        result.batches.push(batch);
        await maybeWave(s, false);
      }
    },

    awaitExtractions: async () => {
      for (;;) {
        const s = await poll(wait.id);
        if (s.counts.pending === 0 || now() >= deadline) break;
        await maybeWave(s, false);
        await sleep(extractPollMs);
      }
    },

    loadTables: async () => {
      const timeoutAt = now() + (timing.loadTimeoutMs ?? load.timeoutMinutes * 60_000);
      for (;;) {
        const s = await poll(load.id);
        // Out of budget: no new wave (a wave sent now could not be waited for).
        if (now() >= timeoutAt) {
          vars.load_timed_out = true;
          result.loadTimedOut = true;
          return;
        }
        await maybeWave(s, true);
        if (!outstanding(s) && s.counts.loadable === 0) return;
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
            logAlert({ severity: 'ERROR', message: 'mart refresh failed', mart, error: (err as Error).message });
            failed.push(mart);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(marts.concurrency, queue.length) }, worker));
      result.martsFailed = [...failed];
    },

    writeReport: async () => {
      try {
        result.report = await withRetry(reportStep.retry, () => ports.report(evaluate(REPORT_REQUEST, vars) as RunReportRequest, logAlert));
      } catch (err) {
        const alert = {
          [LOG_FIELDS.alert]: ALERT_FIELD_VALUE,
          [LOG_FIELDS.rule]: REPORT_FAILED_ALERT.rule,
          severity: REPORT_FAILED_ALERT.severity,
          runId: vars.report_run_id ?? runId,
          message: REPORT_FAILED_ALERT.message,
          error: (err as Error).message,
        };
        logAlert(alert);
      }
    },

    // The report logged each alert; the workflow logs their number and where they are (bounded).
    alertOnFailures: async () => {
      const r = result.report;
      if (r && r.alerts > 0)
        ports.log?.({ severity: 'ERROR', message: `${r.alerts} alert(s) raised by the run report`, runId: vars.report_run_id ?? runId, alerts: r.alerts, ledger: r.alertsQuery });
    },
  };

  for (const s of workflow.steps) {
    if (args.finalizeOnly && !FINALIZE_STEPS.includes(s.kind)) continue;
    result.trace.push(s.id);
    await run[s.kind]();
  }
  result.status = (vars.status as RunStatusSummary | null) ?? null;
  if (!args.finalizeOnly && ports.fullStatus) {
    const full = await ports.fullStatus(runId);
    const past = now() >= deadline;
    for (const m of full?.municipalities ?? []) {
      result.planned.push(m.ibge);
      if (m.state === 'done') result.done.push(m.ibge);
      const f = finalState(m, past);
      if (f === 'failed') result.failed.push(m.ibge);
      if (f === 'late') result.late.push(m.ibge);
      if (f === 'skipped') result.skipped.push(m.ibge);
    }
  }
  return result;
}
