import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseTimeFile, TIME_FORMAT, type ChildOutcome } from './proc';

export interface PgConn {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * The session settings the extractor sets inside its transaction, sent as startup options so the
 * psql and naive contenders format values the same way (they change what PostgreSQL prints).
 */
export const SESSION_OPTIONS = '-c extra_float_digits=3 -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c TimeZone=UTC';

export interface PsqlResult {
  /** CPU seconds (user + sys) of psql and gzip together. */
  cpuS: number;
  /** psql's peak RSS + gzip's peak RSS (they run side by side), when GNU time is available. */
  maxRssMb?: number;
  bytes: number;
}

/**
 * The practical limit: `psql -c "\copy (<query>) to stdout csv" | gzip -1 > file`, each process
 * under GNU time when available (else the shell's `times` gives the CPU and RSS is unknown).
 */
export async function runPsqlPipeline(o: {
  psql: string;
  gzip: string;
  timeBin?: string;
  conn: PgConn;
  select: string;
  outFile: string;
  tmpDir: string;
  timeoutMs: number;
}): Promise<ChildOutcome<PsqlResult>> {
  const stamp = process.hrtime.bigint();
  const t1 = path.join(o.tmpDir, `psql-${stamp}.time`);
  const t2 = path.join(o.tmpDir, `gzip-${stamp}.time`);
  const psqlArgs = '-X -q -v ON_ERROR_STOP=1 -h "$BENCH_HOST" -p "$BENCH_PORT" -U "$BENCH_USER" -d "$BENCH_DB" -c "$BENCH_COPY"';
  const script = o.timeBin
    ? `"$BENCH_TIME" -f "$BENCH_FMT" -o "$BENCH_T1" "$BENCH_PSQL" ${psqlArgs} | "$BENCH_TIME" -f "$BENCH_FMT" -o "$BENCH_T2" "$BENCH_GZIP" -1 > "$BENCH_OUT"`
    : `"$BENCH_PSQL" ${psqlArgs} | "$BENCH_GZIP" -1 > "$BENCH_OUT"; times`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_TIME: o.timeBin ?? '',
    BENCH_FMT: TIME_FORMAT,
    BENCH_T1: t1,
    BENCH_T2: t2,
    BENCH_PSQL: o.psql,
    BENCH_GZIP: o.gzip,
    BENCH_OUT: o.outFile,
    BENCH_HOST: o.conn.host,
    BENCH_PORT: String(o.conn.port),
    BENCH_USER: o.conn.user,
    BENCH_DB: o.conn.database,
    BENCH_COPY: `\\copy (${o.select}) to stdout csv`,
    PGPASSWORD: o.conn.password,
    PGOPTIONS: SESSION_OPTIONS,
    PGAPPNAME: 'bench-psql',
  };
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, o.timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const wallS = (performance.now() - t0) / 1000;
      const a = parseTimeFile(t1);
      const b = parseTimeFile(t2);
      fs.rmSync(t1, { force: true });
      fs.rmSync(t2, { force: true });
      if (timedOut) return resolve({ status: 'timeout', wallS, error: `killed after ${(o.timeoutMs / 1000).toFixed(0)} s` });
      const failed = code !== 0 || (a && a.exitCode !== 0) || (b && b.exitCode !== 0) || /ERROR|FATAL/.test(err);
      if (failed) return resolve({ status: 'failed', wallS, error: `psql pipeline failed (exit ${code}): ${err.trim().slice(-600)}` });
      let cpuS: number;
      let maxRssMb: number | undefined;
      if (a && b) {
        cpuS = a.userS + a.sysS + b.userS + b.sysS;
        maxRssMb = a.maxRssMb + b.maxRssMb;
      } else {
        // `times`: second line is the children's user and system time, e.g. "0m1.230s 0m0.450s".
        const pairs = [...out.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        cpuS = (pairs.at(-2) ?? NaN) + (pairs.at(-1) ?? NaN);
      }
      resolve({ status: 'ok', wallS, result: { cpuS, maxRssMb, bytes: fs.statSync(o.outFile).size } });
    });
  });
}
