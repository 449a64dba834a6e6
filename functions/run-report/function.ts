import type { Logger } from 'pino';
import type { RunReportConfig } from '../../shared/adapters/gcp/function-config';
import { formatIssues } from '../../shared/contracts/issues';
import { logLabels } from '../../shared/contracts/log-messages';
import { alertLogEntry } from '../../shared/ledger/alerts';
import { RunReportRequest } from '../../shared/ledger/report';
import { reportResponse, reportRuns } from '../../shared/ledger/run-report';
import { instrumentHttp } from '../../shared/observability/instrument';
import { withSpan } from '../../shared/observability/telemetry';
import type { Clock, LedgerWriter, ObjectStore } from '../../shared/ports';

export interface RunReportAdapters {
  /** The staging bucket: the report is built from the run's objects alone. */
  store: ObjectStore;
  /** Where the ledger rows go (BigQueryLedger over the ops dataset in the cloud). */
  ledger: LedgerWriter;
  clock: Clock;
  logger: Logger;
}

/** Seconds the caller should wait before retrying a transient failure (a hint: Workflows backs off by itself). */
export const RETRY_AFTER_SECONDS = 30;

const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

/**
 * The run-report function (HTTP), the daily workflow's write_report step: POST a RunReportRequest
 * (`{"runId","runDate","deadlineAt","loadTimedOut","martsFailed"}`), get `{"runs":[…],"alerts":n,"alertsQuery":…}`
 * once the ledger rows of that run (and of every run that loaded slices without a report yet) are
 * written. The function logs one line per alert; the workflow logs only their number.
 *
 * Answers: 200 report written; 400 the body breaks the contract (the field is named); 405 not a
 * POST; 422 the run cannot be reported (no plan in the bucket: wrong id, or it never started);
 * 503 + Retry-After on a transient failure (the workflow's retry predicate retries 503); 500 on
 * any other terminal failure (e.g. the ledger tables are missing or access is denied), which the
 * workflow does not retry and turns into a `report_failed` alert.
 */
export function runReportFunction(config: RunReportConfig, a: RunReportAdapters, options: { afterInvocation?: () => Promise<void> } = {}) {
  const alertConfig = { staleSourceHours: config.staleSourceHours };
  return instrumentHttp(
    {
      stage: 'run-report',
      logger: a.logger,
      afterInvocation: options.afterInvocation,
      failureMessage: 'run report failed',
      retryAfterSeconds: RETRY_AFTER_SECONDS,
      // No plan for the run: the request names a run that cannot be reported, not a server fault.
      terminalStatus: (f) => (f.errorClass === 'invalid_message' ? 422 : 500),
    },
    async (req, res) => {
      if (req.method !== 'POST') {
        res.set('Allow', 'POST').status(405).json({ error: 'use POST with a JSON RunReportRequest body, e.g. {"runId":"daily-20261122"}' });
        return;
      }
      if (!isJsonObject(req.body)) {
        res.status(400).json({ error: '(body): must be a JSON object (Content-Type: application/json)' });
        return;
      }
      const parsed = RunReportRequest.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).json({ error: formatIssues(parsed.error) });
        return;
      }
      const request = parsed.data;
      const logger = request.runId ? a.logger.child(logLabels({ run: request.runId })) : a.logger;
      const result = await withSpan('run-report', { 'pipeline.run': request.runId ?? '(unreported runs)' }, () =>
        reportRuns({ store: a.store, ledger: a.ledger, clock: a.clock, alertConfig, logger }, request),
      );
      const body = reportResponse(result);
      // One log line per alert (matched by the log-based metric). Logged here, not by the workflow,
      // so the workflow holds only their number, whatever it is.
      for (const alert of result.alerts) logger.error(alertLogEntry(alert), alert.message);
      logger.info({ runs: body.runs.map((r) => `${r.runId}:${r.status}`), runsReported: body.runsReported, alerts: body.alerts }, 'run report written');
      res.status(200).json(body);
    },
  );
}
