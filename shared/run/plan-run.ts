import { createHash } from 'node:crypto';
import type { ExtractRequest, RunRequest } from '../contracts/messages';
import type { MunicipalityRegistry } from '../contracts/municipalities';
import { TerminalError } from '../errors';

/** The calendar day in São Paulo: runs are named after the local day the managers see. */
export function saoPauloDate(now: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export interface RunPlan {
  runId: string;
  extracts: ExtractRequest[];
}

/**
 * Turns a run request into one extract message per due municipality. The daily run is named after
 * its day, so a second daily request for the same day is the same run (idempotent); a rerun or
 * backfill without an explicit id is named after the message that asked for it, so a redelivered
 * request maps to the same run while a new request makes a new one.
 */
export function planRun(req: Omit<RunRequest, 'dispatch'>, registry: MunicipalityRegistry, opts: { now: Date; lookbackDays: number; requestId: string }): RunPlan {
  const runDate = req.runDate ?? saoPauloDate(opts.now);
  const compact = runDate.replaceAll('-', '');
  const runId = req.runId ?? (req.trigger === 'daily' ? `daily-${compact}` : `${req.trigger}-${compact}-${createHash('sha256').update(opts.requestId).digest('hex').slice(0, 8)}`);
  const window = req.window ?? { start: addDays(runDate, -opts.lookbackDays), end: addDays(runDate, 1) };

  let due = registry.municipalities.filter((m) => m.enabled);
  if (req.cohort) due = due.filter((m) => m.cohort === req.cohort);
  if (req.municipalities) {
    const unknown = req.municipalities.filter((ibge) => !due.some((m) => m.ibge === ibge));
    if (unknown.length > 0) throw new TerminalError(`municipalities not in the registry (or disabled, or outside the cohort): ${unknown.join(', ')}`, 'unknown_municipality');
    due = due.filter((m) => req.municipalities!.includes(m.ibge));
  }
  return {
    runId,
    extracts: due.map((m) => ({
      runId,
      municipality: m.ibge,
      window,
      ...(req.tables ? { tables: req.tables } : {}),
      trigger: req.trigger,
      // The daily run fans in (one load per table for all municipalities); reruns load themselves.
      loadWhenDone: req.trigger !== 'daily',
    })),
  };
}
