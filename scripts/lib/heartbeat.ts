import type { RunStatusSummary } from '../../shared/run/run-status';

/**
 * The line a local run prints while the workflow waits, so a silent minute never looks like a hang:
 *   waiting for 20 municipalities: 20 retrying (source_unreachable), next attempt in 40 s, deadline 07:30
 * Pure (the caller passes the clock and the next redelivery it knows of), so it is tested as text.
 */
export function waitingLine(s: RunStatusSummary, o: { step: string; now: Date; deadlineAt: string; nextAttemptAt?: Date; timeZone?: string }): string | undefined {
  const hhmm = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, ...(o.timeZone ? { timeZone: o.timeZone } : {}) }).format(
    new Date(o.deadlineAt),
  );
  const c = s.counts;
  if (c.pending > 0) {
    const classes = Object.entries(s.retryingByClass)
      .sort(([, a], [, b]) => b - a)
      .map(([k, n]) => (Object.keys(s.retryingByClass).length > 1 ? `${k} ${n}` : k))
      .join(', ');
    const parts = [
      c.extracting ? `${c.extracting} extracting` : '',
      c.retrying ? `${c.retrying} retrying${classes ? ` (${classes})` : ''}` : '',
      c.queued ? `${c.queued} queued` : '',
    ].filter(Boolean);
    const next = o.nextAttemptAt && c.retrying ? Math.max(0, Math.ceil((o.nextAttemptAt.getTime() - o.now.getTime()) / 1000)) : undefined;
    return `waiting for ${c.pending} ${c.pending === 1 ? 'municipality' : 'municipalities'}: ${parts.join(', ')}${next !== undefined ? `, next attempt in ${next} s` : ''}, deadline ${hhmm}`;
  }
  if (o.step === 'load_tables' && c.loadable + Math.max(0, c.done - c.loaded - c.loadable) > 0)
    return `waiting for the load of ${c.done - c.loaded} municipalities (${c.loaded} of ${c.done} loaded)`;
  return undefined;
}
