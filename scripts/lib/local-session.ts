import fs from 'node:fs';
import path from 'node:path';
import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import type { Alert } from '../../shared/ledger/alerts';
import { createLogger } from '../../shared/log';
import { effectiveDataDir, type LocalPostgres } from '../../shared/local/postgres-server';
import { createLocalPipeline, loadRegistryFile, localPaths, type LocalPaths, type LocalPipeline } from '../../shared/local/runtime';
import type { LocalTiming } from '../../shared/workflow/local-executor';
import type { RunEvent, RunObserver } from '../../shared/ports';
import { waitingLine } from './heartbeat';
import { addDays } from '../../shared/run/plan-run';
import type { RunStatusSummary } from '../../shared/run/run-status';
import { startEmbeddedSources } from './embedded-sources';
import { CommandError, EXIT } from './cli';
import { duration, eta, paint, StatusLine, symbol, terminalStyle, type Style } from './progress';
import { acquireRunLock, LOCK_FILE, type RunLock } from './run-lock';

/**
 * What `npm start`, `npm run rerun` and `npm run backfill` share: the data dir's run lock, the local
 * state directory, the sources (embedded synthetic PECs, seeded on first use, or a registry file) and
 * a local pipeline with live progress lines.
 */

/** Between two heartbeat lines while the workflow waits. */
const HEARTBEAT_MS = 10_000;

/**
 * Live progress, one line per transition (extracting → staged → loaded), readable in CI logs too:
 * `[n/N]` municipalities whose extraction ended, rows, MB and MB/s, retries with their error class,
 * and an ETA from the pace so far; a heartbeat line while the workflow waits. Colour and symbols only on
 * a terminal (scripts/lib/progress.ts).
 */
export class ProgressPrinter implements RunObserver {
  readonly rows = new Map<string, { rows: number; bytes: number; seconds: number; status: string; detail?: string }>();
  /** Retries met so far, by error class (also for the end-of-run summary). */
  readonly retries = new Map<string, number>();
  /** When each retrying municipality's next delivery is due (for the heartbeat). */
  readonly nextAttempts = new Map<string, Date>();
  private lastHeartbeat = Date.now();
  private expected: Set<string>;
  private readonly extracted = new Set<string>();
  private readonly loaded = new Set<string>();
  private startedAt?: number;
  /** The workflow's onWait: a heartbeat line at most every HEARTBEAT_MS while it waits. */
  readonly onWait = (s: RunStatusSummary, w: { step: string; deadlineAt: string }): void => {
    if (this.now() - this.lastHeartbeat < HEARTBEAT_MS) return;
    const now = new Date(this.now());
    const next = [...this.nextAttempts.values()].filter((d) => d >= now).sort((a, b) => a.getTime() - b.getTime())[0];
    const line = waitingLine(s, { step: w.step, now, deadlineAt: w.deadlineAt, ...(next ? { nextAttemptAt: next } : {}) });
    if (line) {
      this.out(`  ${line}`);
      this.lastHeartbeat = this.now();
    }
  };
  constructor(
    private readonly names: Map<string, string>,
    private readonly style: Style = terminalStyle(),
    private readonly out: (line: string) => void = (l) => console.log(l),
    private readonly now: () => number = Date.now,
  ) {
    this.expected = new Set(names.keys());
  }
  /** The municipalities this command runs for (all of the registry by default): N in [n/N]. */
  expect(municipalities: Iterable<string>): void {
    this.expected = new Set(municipalities);
  }
  private label(ibge: string) {
    return `${ibge} ${(this.names.get(ibge) ?? '').padEnd(14)}`;
  }
  private counter(n: number) {
    return paint(this.style, 'dim', `[${n}/${this.expected.size}]`);
  }
  private etaText(): string {
    const left = eta(this.extracted.size, this.expected.size, (this.now() - (this.startedAt ?? this.now())) / 1000);
    return left === undefined ? '' : paint(this.style, 'dim', ` — ETA ${duration(left)}`);
  }
  record(e: RunEvent): void {
    const s = this.style;
    if (e.kind === 'extract_started') {
      this.startedAt ??= this.now();
      if (e.attempt > 1) this.out(`  ${this.counter(this.extracted.size)} ${symbol(s, 'retry')}${this.label(e.municipality)} extracting, attempt ${e.attempt}`);
      else this.out(`  ${this.counter(this.extracted.size)} ${symbol(s, 'busy')}${this.label(e.municipality)} extracting`);
    }
    if (e.kind === 'extract_continued')
      this.out(`  ${this.counter(this.extracted.size)} ${symbol(s, 'busy')}${this.label(e.municipality)} continuing (${e.tablesDone} tables done, ${e.tablesLeft} left)`);
    if (e.kind === 'extract_staged') {
      const m = e.manifest;
      const rows = m.tables.reduce((n, t) => n + t.rows, 0);
      const bytes = m.tables.reduce((n, t) => n + t.parts.reduce((b, p) => b + p.bytes, 0), 0);
      const seconds = (Date.parse(m.finishedAt) - Date.parse(m.extractedAt)) / 1000;
      const warn = [...new Set(m.tables.flatMap((t) => t.warnings))].length + m.failedTables.length;
      this.rows.set(e.municipality, { rows, bytes, seconds, status: 'staged', detail: warn ? `${warn} warning(s)` : undefined });
      this.extracted.add(e.municipality);
      const rate = seconds > 0 ? `, ${(bytes / 1e6 / seconds).toFixed(2)} MB/s` : '';
      this.out(
        `  ${this.counter(this.extracted.size)} ${symbol(s, 'staged')}${this.label(e.municipality)} ${e.alreadyDone ? 'already staged' : 'staged'} ` +
          `${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s${rate}, PEC ${m.pecVersion ?? '?'}` +
          `${warn ? paint(s, 'yellow', ` (${warn} warning(s))`) : ''}${this.etaText()}`,
      );
    }
    if (e.kind === 'extract_failed') {
      this.rows.set(e.municipality, { rows: 0, bytes: 0, seconds: 0, status: e.willRetry ? 'retrying' : 'failed', detail: e.errorClass });
      if (e.nextAttemptAt) this.nextAttempts.set(e.municipality, new Date(e.nextAttemptAt));
      else this.nextAttempts.delete(e.municipality);
      if (e.willRetry) {
        this.retries.set(e.errorClass, (this.retries.get(e.errorClass) ?? 0) + 1);
        this.out(`  ${this.counter(this.extracted.size)} ${symbol(s, 'retry')}${this.label(e.municipality)} ${paint(s, 'yellow', `will retry (${e.errorClass})`)}: ${e.message}`);
      } else {
        // Never "will retry" for a message that is being dead-lettered: say so, and that it is final.
        this.extracted.add(e.municipality);
        const outcome = e.deadLettered ? `FAILED (${e.errorClass}) after ${e.attempt ?? '?'} attempts, dead-lettered` : `FAILED (${e.errorClass}), dead-lettered (not retried)`;
        this.out(`  ${this.counter(this.extracted.size)} ${symbol(s, 'fail')}${this.label(e.municipality)} ${paint(s, 'red', outcome)}: ${e.message}${this.etaText()}`);
      }
    }
    if (e.kind === 'extract_started') this.nextAttempts.delete(e.municipality);
    if (e.kind === 'load_finished') {
      const byMunicipality = new Map<string, string[]>();
      for (const o of e.outcomes) byMunicipality.set(o.municipality, [...(byMunicipality.get(o.municipality) ?? []), o.status]);
      for (const [ibge, statuses] of byMunicipality) {
        const status = statuses.every((x) => x === 'already_loaded') ? 'already loaded' : statuses.includes('stale') ? 'loaded (some slices stale)' : 'loaded';
        const row = this.rows.get(ibge);
        if (row) row.status = status;
        this.loaded.add(ibge);
        this.out(`  ${paint(s, 'dim', `[${this.loaded.size}/${this.expected.size} loaded]`)} ${symbol(s, 'ok')}${this.label(ibge)} ${paint(s, 'green', status)}`);
      }
    }
    if (e.kind === 'load_failed') {
      if (e.willRetry) this.retries.set(`load ${e.errorClass}`, (this.retries.get(`load ${e.errorClass}`) ?? 0) + 1);
      this.out(
        `  ${e.willRetry ? symbol(s, 'retry') : symbol(s, 'fail')}load of ${e.municipalities.length} municipalit${e.municipalities.length === 1 ? 'y' : 'ies'} ${e.willRetry ? paint(s, 'yellow', `will retry (${e.errorClass})`) : paint(s, 'red', `FAILED (${e.errorClass})`)}: ${e.message}`,
      );
    }
  }
  /** "retries: source_unreachable ×3, load warehouse ×1", or "" when nothing was retried. */
  retrySummary(): string {
    return this.retries.size ? `retries: ${[...this.retries].map(([c, n]) => `${c} ×${n}`).join(', ')}` : '';
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
    // Seeding takes 10–20 s per source: show each step, rewriting one line on a terminal; when piped,
    // only the steps one waits for (≥ 250 ms), so a CI log shows progress without a line per table.
    const style = terminalStyle();
    const line = new StatusLine(style);
    const env = await startEmbeddedSources(paths, {
      citizens: o.citizens,
      endDate: addDays(o.runDate, -1),
      log: (l) => line.done(`  ${l}`),
      onSeedStep: (db, step) => {
        if (!style.tty && step.ms < 250) return;
        const what = step.label.replace(/^load:/, '');
        line.update(`  seeding ${db}: ${what}${step.rows !== undefined ? ` ${step.rows.toLocaleString('en-US')} rows` : ''} (${(step.ms / 1000).toFixed(1)} s)`);
      },
    });
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
    // We hold the run lock, so the other process is a reader (`npm run query` / `status`, a notebook).
    if (/lock/i.test((err as Error).message))
      throw new CommandError(`${paths.warehouse} is open in another process (npm run query or status, or a DuckDB client): close it and run again`, EXIT.busy);
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
        await pipeline.close();
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
