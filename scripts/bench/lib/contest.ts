import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Client } from 'pg';
import { nodeEnvironment } from '../../../shared/contracts/functions';
import type { LocalPostgres } from '../../../shared/local/postgres-server';
import type { ExtractWorkerResult } from '../workers/extract';
import type { NaiveWorkerResult } from '../workers/naive';

/** What scripts/bench/workers/airflow.py prints (same shape as the Node workers' measure). */
interface AirflowWorkerResult {
  rows: number;
  bytes: number;
  measure: { wallS: number; cpuS: number; maxRssMb: number; baselineRssMb: number };
}
import { cpuJiffies, runWorker, serverCpuSeconds, sleep, type ChildOutcome } from './proc';
import { runPsqlPipeline, SESSION_OPTIONS } from './psql';
import type { FactSource } from './sources';
import { selectOf, variantTable, type Variant } from './variants';

export type Contender = 'extractor' | 'psql' | 'airflow' | 'naive';
export const CONTENDERS: readonly Contender[] = ['extractor', 'psql', 'airflow', 'naive'];

/** The Python contender's script (run as a file, not bundled). */
export const AIRFLOW_SCRIPT = path.join(__dirname, '..', 'workers', 'airflow.py');

export interface Sample {
  contender: Contender;
  size: number;
  variant: Variant;
  round: number;
  status: 'ok' | 'failed' | 'timeout' | 'skipped';
  error?: string;
  rows?: number;
  wallS: number;
  /** Client CPU seconds of the measured phase (user + sys, all threads; psql + gzip for the pipeline). */
  cpuS?: number;
  /** Client CPU seconds of the whole process (includes Node start-up and module loading). */
  processCpuS?: number;
  /** CPU seconds other processes on the machine used while this contender ran (noise indicator). */
  otherCpuS?: number;
  /** CPU seconds of the PostgreSQL backend that served the contender. */
  serverCpuS?: number;
  maxRssMb?: number;
  /** RSS of the worker before the measured phase (Node contenders). */
  baselineRssMb?: number;
  /** Bytes written (compressed parts for extractor and psql, JSON lines for naive). */
  outBytes?: number;
  /** Uncompressed CSV bytes the extractor wrote (its own count). */
  csvBytes?: number;
}

export interface ContestTools {
  psql?: string;
  gzip?: string;
  timeBin?: string;
  /** /usr/bin/python3 when it can `import psycopg2` (the Airflow-operator contender). */
  python?: string;
  /** Why the Airflow-operator contender cannot run, when it cannot. */
  pythonMissing?: string;
}

export interface ContestOptions {
  server: LocalPostgres;
  admin: Client;
  source: FactSource;
  variant: Variant;
  rounds: number;
  /** Rounds the naive contender takes part in (it holds every row in memory: slow, and it may die). */
  naiveRounds: number;
  /** Rounds the Airflow-operator contender takes part in (Python: slow, but it streams). */
  airflowRounds: number;
  tools: ContestTools;
  tmpDir: string;
  timeoutMs: number;
  naiveTimeoutMs: number;
  window: { start: string; end: string };
  keyHex: string;
  log: (l: string) => void;
  /** Keep the last extractor output (for the load benchmark). */
  keepExtractorOutput?: string;
  /** Keep the first psql output, PostgreSQL's CSV of the query gzipped (for the per-row cost measurement). */
  keepPsqlOutput?: string;
}

/**
 * Waits until the contender's backend is gone and its CPU is in the postmaster's reaped-children
 * counters. A contender that was killed leaves its query running until the backend notices:
 * terminate it (the benchmark owns this server), so its CPU is not counted against the next one.
 */
async function waitForBackends(admin: Client, database: string, dataDir: string, terminate: boolean): Promise<void> {
  if (terminate) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]);
    if (rows[0]!.n === 0) break;
    await sleep(50);
  }
  // Gone from pg_stat_activity is not yet reaped: wait until the counters stop moving.
  let last = serverCpuSeconds(dataDir);
  for (let i = 0; i < 30 && last !== undefined; i++) {
    await sleep(100);
    const now = serverCpuSeconds(dataDir);
    if (now === last) return;
    last = now;
  }
}

/** Bytes and newline count of a gzip file (PostgreSQL's CSV for this table has no quoted newlines). */
export async function gunzipStats(file: string): Promise<{ bytes: number; lines: number }> {
  let bytes = 0;
  let lines = 0;
  for await (const chunk of fs.createReadStream(file).pipe(createGunzip()) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { bytes, lines };
}

/**
 * One (size, variant) cell: rounds of extractor → psql → airflow → naive, alternating, each in its own
 * process, every one reading the same query over the same table.
 */
export async function runContest(o: ContestOptions): Promise<{ samples: Sample[]; select: string; sourceCsvBytes?: number }> {
  const samples: Sample[] = [];
  const runId = `bench-${o.source.rows}`;
  const cellDir = path.join(o.tmpDir, `cell-${o.source.rows}-${o.variant}`);
  let select: string | undefined;
  let sourceCsvBytes: number | undefined;
  const hashColumns = variantTable(o.variant)
    .columns.filter((c) => c.pii?.policy === 'hash')
    .map((c) => c.name);

  for (let round = 1; round <= o.rounds; round++) {
    for (const contender of CONTENDERS) {
      const base = { contender, size: o.source.rows, variant: o.variant, round };
      if (contender === 'naive' && round > o.naiveRounds) continue;
      if (contender === 'airflow' && round > o.airflowRounds) continue;
      if (contender === 'psql' && (!o.tools.psql || !o.tools.gzip)) {
        if (round === 1) samples.push({ ...base, status: 'skipped', wallS: 0, error: 'psql or gzip not on PATH' });
        continue;
      }
      if (contender === 'airflow' && !o.tools.python) {
        if (round === 1) samples.push({ ...base, status: 'skipped', wallS: 0, error: o.tools.pythonMissing ?? 'python3 with psycopg2 not available' });
        continue;
      }
      if (contender !== 'extractor' && !select) throw new Error('the extractor must run first: it provides the query text');
      const out = path.join(cellDir, `${contender}-r${round}`);
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const cpu0 = serverCpuSeconds(o.server.dataDir);
      const j0 = cpuJiffies();
      let sample: Sample;
      if (contender === 'extractor') {
        const r: ChildOutcome<ExtractWorkerResult> = await runWorker(
          'extract',
          {
            conn: o.source.conn,
            ibge: o.source.ibge,
            variant: o.variant,
            window: o.window,
            outDir: out,
            runId,
            keyHex: o.keyHex,
          },
          // With the node flags the deployed function has (FunctionSpec.nodeOptions).
          { timeoutMs: o.timeoutMs, timeBin: o.tools.timeBin, tmpDir: o.tmpDir, env: nodeEnvironment('extract') },
        );
        const x = r.result;
        if (x) {
          const s = selectOf(x.sql);
          if (select && s !== select) throw new Error('the extractor sent a different query text in a later round');
          select = s;
          if (x.rows !== o.source.rows) throw new Error(`extractor wrote ${x.rows} rows, the table holds ${o.source.rows}`);
        }
        sample = {
          ...base,
          status: r.status,
          error: r.error,
          rows: x?.rows,
          wallS: x?.measure.wallS ?? r.wallS,
          cpuS: x?.measure.cpuS,
          maxRssMb: r.time?.maxRssMb ?? x?.measure.maxRssMb,
          baselineRssMb: x?.measure.baselineRssMb,
          outBytes: x?.gzBytes,
          csvBytes: x?.csvBytes,
          processCpuS: r.time ? r.time.userS + r.time.sysS : x?.measure.cpuS,
        };
      } else if (contender === 'psql') {
        const file = `${out}.csv.gz`;
        const r = await runPsqlPipeline({
          psql: o.tools.psql!,
          gzip: o.tools.gzip!,
          timeBin: o.tools.timeBin,
          conn: o.source.conn,
          select: select!,
          outFile: file,
          tmpDir: o.tmpDir,
          timeoutMs: o.timeoutMs,
        });
        let rows: number | undefined;
        if (r.status === 'ok' && sourceCsvBytes === undefined) {
          // Once per cell, outside the timing: PostgreSQL's CSV size for this query, and a row check.
          const st = await gunzipStats(file);
          sourceCsvBytes = st.bytes;
          if (st.lines !== o.source.rows) throw new Error(`psql wrote ${st.lines} rows, the table holds ${o.source.rows}`);
        }
        if (r.status === 'ok') rows = o.source.rows;
        sample = {
          ...base,
          status: r.status,
          error: r.error,
          rows,
          wallS: r.wallS,
          cpuS: r.result?.cpuS,
          processCpuS: r.result?.cpuS,
          maxRssMb: r.result?.maxRssMb,
          outBytes: r.result?.bytes,
        };
        if (o.keepPsqlOutput && r.status === 'ok' && !fs.existsSync(o.keepPsqlOutput)) fs.renameSync(file, o.keepPsqlOutput);
        else fs.rmSync(file, { force: true });
      } else if (contender === 'airflow') {
        const file = `${out}.csv.gz`;
        const r: ChildOutcome<AirflowWorkerResult> = await runWorker(
          'airflow',
          {
            conn: o.source.conn,
            select: select!,
            outFile: file,
            hashColumns,
            keyHex: o.keyHex,
            sessionOptions: SESSION_OPTIONS,
          },
          { timeoutMs: o.timeoutMs, timeBin: o.tools.timeBin, tmpDir: o.tmpDir, program: { cmd: o.tools.python!, script: AIRFLOW_SCRIPT } },
        );
        const x = r.result;
        if (x && x.rows !== o.source.rows) throw new Error(`airflow contender wrote ${x.rows} rows, the table holds ${o.source.rows}`);
        sample = {
          ...base,
          status: r.status,
          error: r.error,
          rows: x?.rows,
          wallS: x?.measure.wallS ?? r.wallS,
          cpuS: x?.measure.cpuS,
          maxRssMb: r.time?.maxRssMb ?? x?.measure.maxRssMb,
          baselineRssMb: x?.measure.baselineRssMb,
          outBytes: x?.bytes,
          processCpuS: r.time ? r.time.userS + r.time.sysS : x?.measure.cpuS,
        };
        fs.rmSync(file, { force: true });
      } else {
        const file = `${out}.jsonl`;
        const r: ChildOutcome<NaiveWorkerResult> = await runWorker(
          'naive',
          {
            conn: o.source.conn,
            select: select!,
            outFile: file,
            hashColumns,
            keyHex: o.keyHex,
          },
          { timeoutMs: o.naiveTimeoutMs, timeBin: o.tools.timeBin, tmpDir: o.tmpDir },
        );
        const x = r.result;
        if (x && x.rows !== o.source.rows) throw new Error(`naive wrote ${x.rows} rows, the table holds ${o.source.rows}`);
        sample = {
          ...base,
          status: r.status,
          error: r.error,
          rows: x?.rows,
          wallS: x?.measure.wallS ?? r.wallS,
          cpuS: x?.measure.cpuS ?? (r.time ? r.time.userS + r.time.sysS : undefined),
          maxRssMb: r.time?.maxRssMb ?? x?.measure.maxRssMb,
          baselineRssMb: x?.measure.baselineRssMb,
          outBytes: x?.bytes,
          processCpuS: r.time ? r.time.userS + r.time.sysS : x?.measure.cpuS,
        };
        fs.rmSync(file, { force: true });
      }
      await waitForBackends(o.admin, o.source.conn.database, o.server.dataDir, sample.status !== 'ok');
      const cpu1 = serverCpuSeconds(o.server.dataDir);
      if (cpu0 !== undefined && cpu1 !== undefined) sample.serverCpuS = cpu1 - cpu0;
      const j1 = cpuJiffies();
      // CPU the whole machine spent meanwhile, minus this contender's and its backend's: other processes.
      if (j0 && j1 && sample.processCpuS !== undefined && sample.serverCpuS !== undefined)
        sample.otherCpuS = Math.max(0, j1.busy - j0.busy - sample.processCpuS - sample.serverCpuS);
      samples.push(sample);
      o.log(formatSample(sample));
      if (contender === 'extractor') {
        if (round === o.rounds && o.keepExtractorOutput && sample.status === 'ok') {
          fs.rmSync(o.keepExtractorOutput, { recursive: true, force: true });
          fs.renameSync(out, o.keepExtractorOutput);
        } else fs.rmSync(out, { recursive: true, force: true });
      }
    }
  }
  fs.rmSync(cellDir, { recursive: true, force: true });
  return { samples, select: select ?? '', sourceCsvBytes };
}

export function formatSample(s: Sample): string {
  const head = `${s.size.toLocaleString('en-US')} rows ${s.variant.padEnd(8)} round ${s.round} ${s.contender.padEnd(9)}`;
  if (s.status !== 'ok') return `${head} ${s.status.toUpperCase()}: ${s.error ?? ''} (after ${s.wallS.toFixed(1)} s${s.maxRssMb ? `, peak RSS ${s.maxRssMb.toFixed(0)} MiB` : ''})`;
  const rate = s.rows ? Math.round(s.rows / s.wallS).toLocaleString('en-US') : '?';
  return `${head} ${s.wallS.toFixed(2)} s  ${rate} rows/s  cpu ${s.cpuS?.toFixed(1) ?? '?'} s  server cpu ${s.serverCpuS?.toFixed(1) ?? '?'} s  peak RSS ${s.maxRssMb?.toFixed(0) ?? '?'} MiB`;
}

export const newKeyHex = () => randomBytes(32).toString('hex');
