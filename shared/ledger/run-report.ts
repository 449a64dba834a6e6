import type { Logger } from 'pino';
import type { Clock, ObjectStore } from '../ports';
import { ALERT_DEFAULTS, evaluateAlerts, type Alert, type AlertConfig } from './alerts';
import type { LedgerWriter } from '../ports';
import { buildRunReport, RunReportRequest, type RunReport } from './report';

export interface ReportDeps {
  store: ObjectStore;
  ledger: LedgerWriter;
  clock: Clock;
  alertConfig?: AlertConfig;
  logger?: Logger;
}

export interface ReportResult {
  reports: RunReport[];
  /** Every alert raised, for the caller to log (the workflow logs them; the local run prints them). */
  alerts: Alert[];
}

/** Most runs the report step's answer lists (the requested one first): the workflow holds the answer. */
export const MAX_RUNS_IN_RESPONSE = 10;

/**
 * What the report step answers (the run-report function's JSON body). Bounded whatever the number
 * of municipalities, alerts or runs reported: counts and a pointer to the ledger. The alert lines
 * themselves are logged by whoever built the report (the run-report function, the local runtime).
 */
export interface RunReportResponse {
  runs: { runId: string; status: string; planned: number; loaded: number; failed: number; late: number; skipped: number; alerts: number }[];
  /** Runs reported, when more than `runs` lists. */
  runsReported: number;
  /** Alerts raised, all runs together. */
  alerts: number;
  /** Where the alerts are (ops.alerts), as a ledger query. */
  alertsQuery: string;
}

export function reportResponse(result: ReportResult): RunReportResponse {
  const ids = result.reports.map((r) => r.run.run_id);
  return {
    runs: result.reports.slice(0, MAX_RUNS_IN_RESPONSE).map((r) => ({
      runId: r.run.run_id,
      status: r.run.status,
      planned: r.run.municipalities_planned,
      loaded: r.run.municipalities_loaded,
      failed: r.run.municipalities_failed,
      late: r.run.municipalities_late,
      skipped: r.run.municipalities_skipped,
      alerts: r.run.alerts,
    })),
    runsReported: ids.length,
    alerts: result.alerts.length,
    // Run ids are RunId-validated ([a-z0-9-]): safe to quote. Only the first few are named.
    alertsQuery:
      ids.length === 0
        ? ''
        : `SELECT * FROM ops.alerts WHERE run_id IN (${ids
            .slice(0, MAX_RUNS_IN_RESPONSE)
            .map((id) => `'${id}'`)
            .join(', ')})${ids.length > MAX_RUNS_IN_RESPONSE ? ' -- and more runs: see ops.runs' : ''} ORDER BY run_id, rule, municipality`,
  };
}

/**
 * The workflow's writeReport step: the report of the requested run, plus a report for every run that
 * loaded slices since the last report (reruns and backfills, which have no workflow of their own),
 * each written to the ledger with its alerts. Idempotent: a report replaces the run's rows.
 * The cloud's run-report function is a thin HTTP wrapper around this.
 */
export async function reportRuns(deps: ReportDeps, request: RunReportRequest): Promise<ReportResult> {
  const req = RunReportRequest.parse(request);
  const config = deps.alertConfig ?? ALERT_DEFAULTS;
  const reports: RunReport[] = [];
  const alerts: Alert[] = [];
  const one = async (r: RunReportRequest & { runId: string }) => {
    const report = await buildRunReport(deps.store, r, deps.clock.now());
    const raised = evaluateAlerts(report, config);
    report.run.alerts = raised.length;
    await deps.ledger.writeReport(report, raised);
    reports.push(report);
    alerts.push(...raised);
  };
  if (req.runId) await one({ ...req, runId: req.runId });
  for (const runId of await deps.ledger.unreportedRuns()) {
    if (runId === req.runId) continue;
    try {
      await one({ runId });
    } catch (err) {
      // Another run's report must not fail this one's: it is tried again at the next report.
      deps.logger?.warn({ run: runId, err: (err as Error).message }, 'could not report an earlier run');
    }
  }
  return { reports, alerts };
}
