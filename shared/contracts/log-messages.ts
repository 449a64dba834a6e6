/**
 * Log messages that something outside the code matches on (log-based metrics and alerts in
 * infra-cdktf/modules/monitoring.ts). One definition, imported by the code that logs and by the
 * monitoring that filters: a reworded message would otherwise silently stop an alert.
 */
export const LOG_MESSAGES = {
  /** The load function, once per load; fields `loaded` (slices applied) and `slices`. The freshness heartbeat. */
  loadFinished: 'load finished',
} as const;
