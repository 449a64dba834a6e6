/**
 * Fan-out scale: the real local pipeline (createLocalPipeline + runOnce: fan-out → extract handlers
 * → fan-in load into DuckDB) over N municipalities. Where the time goes is measured by wrapping a
 * few methods of the shared classes in this process only (read-only timing, no behaviour change):
 *   connect    SourceSession.open           TCP, md5 auth, BEGIN REPEATABLE READ READ ONLY, SET LOCALs
 *   snapshot   SourceSession.query          snapshot time + municipality ids, catalogue, PEC version + DW freshness; the statement cap
 *   copy       SourceSession.copyOut        COPY streamed through the row splitter/pseudonymiser into gzip
 *   write      PartWriter.finish + manifest gzip (one call for a small part) and object commit of each part, then the manifest
 *   close      SourceSession.close          COMMIT and disconnect
 *   load       DuckDbWarehouse.replaceSlices the fan-in load transaction (every slice of every table)
 */
import fs from 'node:fs';
import path from 'node:path';
import { MunicipalityRegistry } from '../../../shared/contracts/municipalities';
import { PartWriter } from '../../../shared/extract/part-writer';
import { SourceSession } from '../../../shared/extract/source';
import { DuckDbWarehouse } from '../../../shared/local/duckdb-warehouse';
import { FsObjectStore } from '../../../shared/local/fs-object-store';
import { createLocalPipeline, LOCAL_SUBSCRIPTION, localPaths } from '../../../shared/local/runtime';
import { createLogger } from '../../../shared/log';
import type { RunEvent } from '../../../shared/ports';
import type { PgConn } from '../lib/psql';
import { config, emit, fail } from './common';

interface Config {
  root: string;
  municipalities: { ibge: string; name: string; conn: PgConn }[];
  runDate: string;
  keyHex: string;
}

export const PHASES = ['connect', 'snapshot', 'copy', 'write', 'close', 'load'] as const;
export type Phase = (typeof PHASES)[number];

export interface FanOutWorkerResult {
  municipalities: number;
  extracted: number;
  deadLetters: number;
  tables: number;
  rowsExtracted: number;
  rowsLoaded: number;
  slicesLoaded: number;
  bytesStaged: number;
  parts: number;
  /** Busy time summed over all municipalities (extractions overlap: `maxConcurrency` at a time). */
  phaseS: Record<Phase, number>;
  /** Sum over municipalities of handler start → manifest committed. */
  handlerS: number;
  concurrency: number;
  /** Wall-clock timeline of the run. */
  setupS: number;
  fanOutS: number;
  extractWallS: number;
  loadWallS: number;
  totalS: number;
  cpuS: number;
  maxRssMb: number;
}

const phaseS: Record<Phase, number> = { connect: 0, snapshot: 0, copy: 0, write: 0, close: 0, load: 0 };
const add = (p: Phase, t0: number) => (phaseS[p] += (performance.now() - t0) / 1000);

function timeAsync<T extends object, K extends keyof T>(target: T, key: K, phase: Phase | ((args: unknown[]) => Phase | undefined)): void {
  const original = target[key] as unknown as (...args: unknown[]) => Promise<unknown>;
  (target as Record<K, unknown>)[key] = async function (this: unknown, ...args: unknown[]) {
    const p = typeof phase === 'function' ? phase(args) : phase;
    const t0 = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      if (p) add(p, t0);
    }
  };
}

function instrument(): void {
  timeAsync(SourceSession, 'open', 'connect');
  timeAsync(SourceSession.prototype, 'query', 'snapshot');
  timeAsync(SourceSession.prototype, 'close', 'close');
  timeAsync(PartWriter.prototype, 'finish', 'write');
  timeAsync(FsObjectStore.prototype, 'create', (args) => (String(args[0]).includes('/manifests/') ? 'write' : undefined));
  timeAsync(DuckDbWarehouse.prototype, 'replaceSlices', 'load');
  const copyOut = SourceSession.prototype.copyOut;
  SourceSession.prototype.copyOut = function (this: SourceSession, sql: string) {
    const t0 = performance.now();
    const stream = copyOut.call(this, sql);
    let done = false;
    const end = () => {
      if (!done) add('copy', t0);
      done = true;
    };
    stream.once('end', end);
    stream.once('error', end);
    stream.once('close', end);
    return stream;
  };
}

async function main(): Promise<void> {
  const c = config<Config>();
  instrument();
  const paths = localPaths(c.root);
  fs.mkdirSync(paths.secrets, { recursive: true });
  fs.mkdirSync(paths.logs, { recursive: true });
  fs.writeFileSync(path.join(paths.secrets, 'pseudonym-key'), Buffer.from(c.keyHex, 'hex').toString('base64'));
  const secretOf = (db: string) => `bench-${db.replace(/_/g, '-')}`;
  for (const m of c.municipalities) fs.writeFileSync(path.join(paths.secrets, secretOf(m.conn.database)), m.conn.password);
  const registry = MunicipalityRegistry.parse({
    municipalities: c.municipalities.map((m) => ({
      ibge: m.ibge,
      name: m.name,
      cohort: 'bench',
      network: 'vpn',
      connection: { host: m.conn.host, port: m.conn.port, database: m.conn.database, user: m.conn.user, password: { secret: secretOf(m.conn.database) } },
      installation: m.conn.database.replace(/_/g, '-'),
    })),
  });

  const starts = new Map<string, number>();
  let handlerS = 0;
  let firstStart = Infinity;
  let lastStaged = 0;
  let loadDone = 0;
  let rowsLoaded = 0;
  let slicesLoaded = 0;
  let rowsExtracted = 0;
  let bytesStaged = 0;
  let parts = 0;
  let tables = 0;
  const observer = {
    record(e: RunEvent) {
      const now = performance.now();
      if (e.kind === 'extract_started') {
        starts.set(e.municipality, now);
        firstStart = Math.min(firstStart, now);
      } else if (e.kind === 'extract_staged') {
        handlerS += (now - (starts.get(e.municipality) ?? now)) / 1000;
        lastStaged = Math.max(lastStaged, now);
        for (const t of e.manifest.tables) {
          tables++;
          rowsExtracted += t.rows;
          parts += t.parts.length;
          bytesStaged += t.parts.reduce((n, p) => n + p.bytes, 0);
        }
      } else if (e.kind === 'load_finished') {
        loadDone = now;
        for (const o of e.outcomes)
          if (o.status === 'loaded') {
            rowsLoaded += o.rowsInserted;
            slicesLoaded++;
          }
      } else if (e.kind === 'extract_failed' || e.kind === 'load_failed') {
        process.stderr.write(`${e.kind}: ${JSON.stringify(e)}\n`);
      }
    },
  };

  const ru0 = process.resourceUsage();
  const t0 = performance.now();
  const logger = createLogger({ service: 'bench-fanout', destination: fs.createWriteStream(path.join(paths.logs, 'pipeline.jsonl')) as never });
  // BENCH_CONCURRENCY: extractions at a time other than the local default (a profile's comparison only).
  const concurrency = Number(process.env.BENCH_CONCURRENCY) || LOCAL_SUBSCRIPTION.maxConcurrency;
  const pipeline = await createLocalPipeline({ paths, registry, logger, observer, subscription: { maxConcurrency: concurrency } });
  const t1 = performance.now();
  const run = await pipeline.runOnce({ runDate: c.runDate });
  const t2 = performance.now();
  const ru = process.resourceUsage();
  const deadLetters = pipeline.bus.deadLetters.length;
  await pipeline.close();
  // A run that did not finish its work is no measurement: its time would be that of a shorter run (the
  // 16:32 650 run of 2026-12-06 was timed with its fact mart failed under DuckDB's memory limit).
  const w = run.workflow;
  const unfinished = { failed: w.failed, late: w.late, skipped: w.skipped, martsFailed: w.martsFailed, loadTimedOut: w.loadTimedOut };
  if (w.failed.length + w.late.length + w.skipped.length + w.martsFailed.length > 0 || w.loadTimedOut)
    throw new Error(`the fan-out run did not complete, so its time is not reported: ${JSON.stringify(unfinished)}`);
  emit({
    municipalities: run.planned.length,
    extracted: run.extracted.length,
    deadLetters,
    tables,
    rowsExtracted,
    rowsLoaded,
    slicesLoaded,
    bytesStaged,
    parts,
    phaseS,
    handlerS,
    concurrency,
    setupS: (t1 - t0) / 1000,
    fanOutS: (firstStart - t1) / 1000,
    extractWallS: (lastStaged - firstStart) / 1000,
    loadWallS: (loadDone - lastStaged) / 1000,
    totalS: (t2 - t0) / 1000,
    cpuS: (ru.userCPUTime - ru0.userCPUTime + ru.systemCPUTime - ru0.systemCPUTime) / 1e6,
    maxRssMb: ru.maxRSS / 1024,
  } satisfies FanOutWorkerResult);
}

main().catch(fail);
