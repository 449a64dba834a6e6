/**
 * Log messages that something outside the code matches on (log-based metrics and alerts in
 * infra-cdktf/modules/monitoring.ts). One definition, imported by the code that logs and by the
 * monitoring that filters: a reworded message would otherwise silently stop an alert.
 */
export const LOG_MESSAGES = {
  /** The load function, once per load; fields `loaded` (slices applied) and `slices`. The freshness heartbeat. */
  loadFinished: 'load finished',
} as const;

/** Cloud Logging's structured-log field whose object becomes the entry's labels (`labels.<name>` in a filter). */
export const LOG_LABELS_FIELD = 'logging.googleapis.com/labels';

/** Entry labels on every line about one message (alerts group by them; the terminal-failure metric extracts `municipality`). */
export const LOG_LABELS = { run: 'run', municipality: 'municipality' } as const;

/** Payload fields that log-based metrics filter on or extract (`jsonPayload.<field>`). */
export const LOG_FIELDS = {
  /** shared/errors.ts error class of a failure line. */
  errorClass: 'errorClass',
  /** Slices a load applied ("load finished" line). */
  loaded: 'loaded',
  /** Marks an alert line (value ALERT_FIELD_VALUE, shared/ledger/alerts.ts). */
  alert: 'alert',
  /** The alert rule of an alert line. */
  rule: 'rule',
} as const;

/** Logger bindings that put `labels` on every entry (absent values are left out). */
export function logLabels(labels: Partial<Record<keyof typeof LOG_LABELS, string>>): Record<typeof LOG_LABELS_FIELD, Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(LOG_LABELS) as [keyof typeof LOG_LABELS, string][]) if (labels[key]) out[name] = labels[key];
  return { [LOG_LABELS_FIELD]: out };
}
