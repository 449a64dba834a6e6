import type { Logger } from 'pino';
import type { Clock, ObjectStore } from '../ports';
import { ALERT_DEFAULTS, evaluateAlerts, type Alert, type AlertConfig } from './alerts';
import type { LedgerWriter } from './duckdb-ledger';
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

/** What the report step answers (the run-report function's JSON body): the workflow logs `alerts`. */
export interface RunReportResponse {
  runs: { runId: string; status: string; planned: number; loaded: number; failed: number; late: number; alerts: number }[];
  alerts: Alert[];
}

export function reportResponse(result: ReportResult): RunReportResponse {
  return {
    runs: result.reports.map((r) => ({
      runId: r.run.run_id,
      status: r.run.status,
      planned: r.run.municipalities_planned,
      loaded: r.run.municipalities_loaded,
      failed: r.run.municipalities_failed,
      late: r.run.municipalities_late,
      alerts: r.run.alerts,
    })),
    alerts: result.alerts,
  };
}

/**
 * The DAG's writeReport step: the report of the requested run, plus a report for every run that
 * loaded slices since the last report (reruns and backfills, which have no DAG of their own),
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
