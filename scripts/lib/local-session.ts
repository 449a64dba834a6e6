import fs from 'node:fs';
import path from 'node:path';
import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import type { Alert } from '../../shared/ledger/alerts';
import { createLogger } from '../../shared/log';
import { effectiveDataDir, type LocalPostgres } from '../../shared/local/postgres-server';
import { createLocalPipeline, loadRegistryFile, localPaths, type LocalPaths, type LocalPipeline } from '../../shared/local/runtime';
import type { LocalTiming } from '../../shared/dag/local-executor';
import type { RunEvent, RunObserver } from '../../shared/ports';
import { waitingLine } from '../../shared/run/heartbeat';
import { addDays } from '../../shared/run/plan-run';
import type { RunStatusSummary } from '../../shared/run/run-status';
import { startEmbeddedSources } from './embedded-sources';
import { acquireRunLock, LOCK_FILE, type RunLock } from './run-lock';

/**
 * What `npm start`, `npm run rerun` and `npm run backfill` share: the data dir's run lock, the local
 * state directory, the sources (embedded synthetic PECs, seeded on first use, or a registry file) and
 * a local pipeline with live progress lines.
 */

/** Between two heartbeat lines while the DAG waits. */
const HEARTBEAT_MS = 10_000;

/** Live progress: one line per transition (extracting → staged → loaded), readable in CI logs too. */
export class ProgressPrinter implements RunObserver {
  readonly rows = new Map<string, { rows: number; bytes: number; seconds: number; status: string; detail?: string }>();
  /** When each retrying municipality's next delivery is due (for the heartbeat). */
  readonly nextAttempts = new Map<string, Date>();
  private lastHeartbeat = Date.now();
  /** The DAG's onWait: a heartbeat line at most every HEARTBEAT_MS while it waits. */
  readonly onWait = (s: RunStatusSummary, w: { step: string; deadlineAt: string }): void => {
    if (Date.now() - this.lastHeartbeat < HEARTBEAT_MS) return;
    const now = new Date();
    const next = [...this.nextAttempts.values()].filter((d) => d >= now).sort((a, b) => a.getTime() - b.getTime())[0];
    const line = waitingLine(s, { step: w.step, now, deadlineAt: w.deadlineAt, ...(next ? { nextAttemptAt: next } : {}) });
    if (line) {
      console.log(`  ${line}`);
      this.lastHeartbeat = Date.now();
    }
  };
  constructor(private readonly names: Map<string, string>) {}
  private label(ibge: string) {
    return `${ibge} ${(this.names.get(ibge) ?? '').padEnd(14)}`;
  }
  record(e: RunEvent): void {
    if (e.kind === 'extract_started') console.log(`  ${this.label(e.municipality)} extracting${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
    if (e.kind === 'extract_continued') console.log(`  ${this.label(e.municipality)} continuing (${e.tablesDone} tables done, ${e.tablesLeft} left)`);
    if (e.kind === 'extract_staged') {
      const m = e.manifest;
      const rows = m.tables.reduce((n, t) => n + t.rows, 0);
      const bytes = m.tables.reduce((n, t) => n + t.parts.reduce((b, p) => b + p.bytes, 0), 0);
      const seconds = (Date.parse(m.finishedAt) - Date.parse(m.extractedAt)) / 1000;
      const warn = [...new Set(m.tables.flatMap((t) => t.warnings))].length + m.failedTables.length;
      this.rows.set(e.municipality, { rows, bytes, seconds, status: 'staged', detail: warn ? `${warn} warning(s)` : undefined });
      console.log(`  ${this.label(e.municipality)} ${e.alreadyDone ? 'already staged' : 'staged'} ${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(2)} MB, PEC ${m.pecVersion ?? '?'}`);
    }
    if (e.kind === 'extract_failed') {
      this.rows.set(e.municipality, { rows: 0, bytes: 0, seconds: 0, status: e.willRetry ? 'retrying' : 'failed', detail: e.errorClass });
      if (e.nextAttemptAt) this.nextAttempts.set(e.municipality, new Date(e.nextAttemptAt));
      else this.nextAttempts.delete(e.municipality);
      // Never "will retry" for a message that is being dead-lettered: say so, and that it is final.
      const outcome = e.willRetry ? 'failed, will retry' : e.deadLettered ? `FAILED after ${e.attempt ?? '?'} attempts, dead-lettered` : 'FAILED, dead-lettered (not retried)';
      console.log(`  ${this.label(e.municipality)} ${outcome}: ${e.errorClass}: ${e.message}`);
    }
    if (e.kind === 'extract_started') this.nextAttempts.delete(e.municipality);
    if (e.kind === 'load_finished') {
      const byMunicipality = new Map<string, string[]>();
      for (const o of e.outcomes) byMunicipality.set(o.municipality, [...(byMunicipality.get(o.municipality) ?? []), o.status]);
      for (const [ibge, statuses] of byMunicipality) {
        const status = statuses.every((s) => s === 'already_loaded') ? 'already loaded' : statuses.includes('stale') ? 'loaded (some slices stale)' : 'loaded';
        const row = this.rows.get(ibge);
        if (row) row.status = status;
        console.log(`  ${this.label(ibge)} ${status}`);
      }
    }
    if (e.kind === 'load_failed') console.log(`  load ${e.willRetry ? 'failed, will retry' : 'FAILED'}: ${e.errorClass}: ${e.message}`);
  }
}

export interface SessionOptions {
  /** What the user ran, e.g. "npm start": recorded in the run lock for whoever finds it held. */
  command: string;
  dataDir: string;
  registry?: string;
  citizens: number;
  /** The day the run is for: the embedded sources hold data up to the day before. */
  runDate: string;
  reset?: boolean;
  timing?: LocalTiming;
  staleSourceHours?: number;
}

export interface LocalSession {
  paths: LocalPaths;
  registry: MunicipalityRegistry;
  names: Map<string, string>;
  pipeline: LocalPipeline;
  progress: ProgressPrinter;
  alerts: (Alert | Record<string, unknown>)[];
  logFile: string;
  close(): Promise<void>;
}

export async function openLocalSession(o: SessionOptions): Promise<LocalSession> {
  const paths = localPaths(o.dataDir);
  // Before anything starts or is deleted: a second command on the same data dir stops here.
  const lock = acquireRunLock(paths.root, o.command);
  try {
    return await openLocked(o, paths, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openLocked(o: SessionOptions, paths: LocalPaths, lock: RunLock): Promise<LocalSession> {
  if (o.reset) {
    // Everything but the lock we hold.
    for (const entry of fs.readdirSync(paths.root)) if (entry !== LOCK_FILE) fs.rmSync(path.join(paths.root, entry), { recursive: true, force: true });
    fs.rmSync(path.dirname(effectiveDataDir(paths.postgres)), { recursive: true, force: true });
    console.log(`reset: removed ${paths.root}`);
  }
  fs.mkdirSync(paths.logs, { recursive: true });
  const logFile = path.join(paths.logs, 'pipeline.jsonl');
  const logger = createLogger({ service: 'pec-pipeline-local', destination: fs.createWriteStream(logFile, { flags: 'a' }) as never });

  let registry: MunicipalityRegistry;
  let server: LocalPostgres | undefined;
  if (o.registry) {
    registry = loadRegistryFile(o.registry);
    console.log(`registry ${o.registry}: ${registry.municipalities.length} municipalities`);
  } else {
    console.log('starting the embedded PostgreSQL (synthetic PEC databases)…');
    const env = await startEmbeddedSources(paths, { citizens: o.citizens, endDate: addDays(o.runDate, -1), log: (l) => console.log(`  ${l}`) });
    registry = env.registry;
    server = env.server;
    if (!env.seededNow) console.log('  reusing the sources seeded earlier (npm start -- --reset to start over)');
  }
  const names = new Map(registry.municipalities.map((m) => [m.ibge, m.name]));
  const progress = new ProgressPrinter(names);
  const alerts: (Alert | Record<string, unknown>)[] = [];
  let pipeline: LocalPipeline;
  try {
    pipeline = await createLocalPipeline({
      paths,
      registry,
      logger,
      observer: progress,
      timing: o.timing,
      alertConfig: o.staleSourceHours ? { staleSourceHours: o.staleSourceHours } : undefined,
      onAlert: (a) => void alerts.push(a),
      onWait: progress.onWait,
    });
  } catch (err) {
    await server?.stop();
    if (/lock/i.test((err as Error).message)) throw new Error(`${paths.warehouse} is in use by another process (npm start, rerun, backfill or query): wait for it to finish`);
    throw err;
  }
  return {
    paths,
    registry,
    names,
    pipeline,
    progress,
    alerts,
    logFile,
    async close() {
      try {
        pipeline.close();
        await server?.stop();
      } finally {
        lock.release();
      }
    },
  };
}

/** The alerts of a run, one line each, for the end of a command's output. */
export function formatAlerts(alerts: (Alert | Record<string, unknown>)[]): string {
  if (alerts.length === 0) return 'alerts: none';
  return [`alerts (${alerts.length}):`, ...alerts.map((a) => `  ${String(a.severity ?? 'ERROR').padEnd(5)} ${String(a.rule ?? '')}: ${String(a.message ?? '')}`)].join('\n');
}
