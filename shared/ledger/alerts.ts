import { LOG_FIELDS } from '../contracts/log-messages';
import type { RunReport } from './report';

/**
 * Alert rules over a run report: a pure function, so the local run and the cloud report step
 * raise exactly the same alerts. Locally they are printed in the run summary and stored in
 * ops.alerts; in the cloud each one is one log line (severity ERROR or ALERT) carrying the fixed
 * field `alert: "pec-pipeline"`, which the log-based metric matches:
 *
 *   {"severity":"ERROR","message":"3509502: source data warehouse is stale (…)","alert":"pec-pipeline",
 *    "rule":"stale_source","runId":"daily-20261122","municipality":"3509502"}
 */
export const ALERT_FIELD_VALUE = 'pec-pipeline';

/** The alert the workflow raises itself when the report step fails (the generated YAML and the local executor). */
export const REPORT_FAILED_ALERT = {
  rule: 'report_failed',
  severity: 'ALERT',
  message: 'the run report could not be written: ledger and alerts are missing for this run',
} as const;

export const ALERT_RULES = {
  municipality_failed: 'ERROR',
  municipality_late: 'ERROR',
  municipality_skipped: 'ERROR',
  not_loaded: 'ALERT',
  stale_source: 'ERROR',
  reconciliation_mismatch: 'ALERT',
  table_failed: 'ERROR',
  /** Source values the warehouse types cannot hold were staged as NULL (records in ops.set_aside_values). */
  values_set_aside: 'ERROR',
  marts_failed: 'ALERT',
  /** Raised by the workflow itself when the report step fails after its retries. */
  report_failed: 'ALERT',
} as const;
export type AlertRule = keyof typeof ALERT_RULES;
export type AlertSeverity = (typeof ALERT_RULES)[AlertRule];

export interface Alert {
  alert: typeof ALERT_FIELD_VALUE;
  rule: AlertRule;
  severity: AlertSeverity;
  runId: string;
  municipality?: string;
  message: string;
}

export interface AlertConfig {
  /**
   * A source whose PEC data warehouse was last processed more than this many hours before the run
   * started is stale: the PEC's nightly job runs 00:00–06:00, so a healthy source is < 1 day old
   * at the 06:00 run; 26 h leaves room for a slow night without hiding a skipped one.
   */
  staleSourceHours: number;
}
export const ALERT_DEFAULTS: AlertConfig = { staleSourceHours: 26 };

export function evaluateAlerts(report: RunReport, config: AlertConfig = ALERT_DEFAULTS): Alert[] {
  const runId = report.run.run_id;
  const alerts: Alert[] = [];
  const raise = (rule: AlertRule, message: string, municipality?: string) =>
    alerts.push({ alert: ALERT_FIELD_VALUE, rule, severity: ALERT_RULES[rule], runId, ...(municipality ? { municipality } : {}), message });
  const startedAt = Date.parse(report.run.started_at);

  for (const m of report.municipalities) {
    const who = m.municipality;
    if (m.status === 'failed')
      raise('municipality_failed', `${who}: ${m.extracted_at ? 'load' : 'extraction'} failed (${m.error_class ?? 'unknown'}): ${m.error_message ?? ''}`.trim(), who);
    if (m.status === 'late') raise('municipality_late', `${who}: still extracting at the deadline ${report.run.deadline_at ?? ''}`.trim(), who);
    if (m.status === 'skipped') raise('municipality_skipped', `${who}: not started before the deadline ${report.run.deadline_at ?? ''}`.trim(), who);
    if (m.status === 'staged') raise('not_loaded', `${who}: extracted but not loaded${report.loadTimedOut ? ' (the load did not finish in time)' : ''}`, who);
    if (m.set_aside_values)
      raise(
        'values_set_aside',
        `${who}: ${m.set_aside_values} source value(s) the warehouse types cannot hold were loaded as NULL; each is recorded in ops.set_aside_values (table, column, primary key, reason)`,
        who,
      );
    if (m.status === 'staged' || m.status === 'loaded') {
      if (!m.dw_processed_at) raise('stale_source', `${who}: the PEC's data warehouse has no processing record (tb_relatorio_processamento is empty)`, who);
      else {
        const ageHours = (startedAt - Date.parse(m.dw_processed_at)) / 3_600_000;
        if (ageHours > config.staleSourceHours)
          raise(
            'stale_source',
            `${who}: source data warehouse is stale (last processed ${m.dw_processed_at}, ${ageHours.toFixed(1)} h before the run, threshold ${config.staleSourceHours} h)`,
            who,
          );
      }
    }
  }
  const byMunicipality = new Map<string, { mismatch: string[]; failed: string[] }>();
  for (const r of report.reconciliation) {
    const e = byMunicipality.get(r.municipality) ?? { mismatch: [], failed: [] };
    if (r.status === 'mismatch') e.mismatch.push(`${r.table_name} (source ${r.source_rows}, staged ${r.staged_rows}, loaded ${r.loaded_rows ?? '?'})`);
    if (r.status === 'extract_failed') e.failed.push(r.table_name);
    byMunicipality.set(r.municipality, e);
  }
  for (const [who, e] of byMunicipality) {
    if (e.mismatch.length) raise('reconciliation_mismatch', `${who}: row counts do not reconcile: ${e.mismatch.join(', ')}`, who);
    // The failure messages name what is wrong (e.g. the missing columns).
    const why = report.municipalities.find((m) => m.municipality === who)?.error_message;
    if (e.failed.length) raise('table_failed', `${who}: tables not extracted: ${e.failed.join(', ')}${why ? ` (${why})` : ''}`, who);
  }
  if (report.martsFailed.length) raise('marts_failed', `marts not refreshed: ${report.martsFailed.join(', ')}`);
  return alerts;
}

/** The Cloud Logging line of an alert (what the workflow's sys.log and the local log write). */
export function alertLogEntry(a: Alert): Record<string, unknown> {
  return {
    severity: a.severity,
    message: a.message,
    [LOG_FIELDS.alert]: a.alert,
    [LOG_FIELDS.rule]: a.rule,
    runId: a.runId,
    ...(a.municipality ? { municipality: a.municipality } : {}),
  };
}
