import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Child processes for the benchmark: every contender runs in its own process so that its peak RSS
 * and CPU seconds are its own. GNU time (`/usr/bin/time -f`) measures a child from outside when it
 * is installed (it still reports the peak RSS of a child that dies of an out-of-memory error);
 * without it, Node workers report their own `process.resourceUsage()`.
 */

export const BUILD_DIR = path.join(__dirname, '..', '.build');
export const RESULT_PREFIX = 'BENCH_RESULT ';

/** Finds an executable on PATH (no shell). */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** GNU time with -f/-o support, or undefined (BSD/macOS time has neither). */
export function gnuTime(): string | undefined {
  for (const candidate of ['/usr/bin/time', which('time')]) {
    if (!candidate || !fs.existsSync(candidate)) continue;
    const r = spawnSync(candidate, ['-f', '%M', '-o', os.devNull, 'true'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

export const TIME_FORMAT = '%e %U %S %M %x';

export interface TimeReport {
  elapsedS: number;
  userS: number;
  sysS: number;
  maxRssMb: number;
  exitCode: number;
}

/** Parses a GNU time -o file written with TIME_FORMAT ("Command exited/terminated by …" lines come first). */
export function parseTimeFile(file: string): TimeReport | undefined {
  if (!fs.existsSync(file)) return undefined;
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const last = lines.at(-1)?.trim().split(/\s+/).map(Number);
  if (!last || last.length < 5 || last.some((n) => Number.isNaN(n))) return undefined;
  return { elapsedS: last[0]!, userS: last[1]!, sysS: last[2]!, maxRssMb: last[3]! / 1024, exitCode: last[4]! };
}

export interface ChildOutcome<R> {
  status: 'ok' | 'failed' | 'timeout';
  /** Wall time from spawn to exit, measured by the parent. */
  wallS: number;
  /** The worker's own JSON result (status ok). */
  result?: R;
  /** Outside measurement of the whole process, when GNU time is available. */
  time?: TimeReport;
  /** Last lines of stderr, for failures. */
  error?: string;
}

/**
 * Runs `node <bundled worker> <json config>` under GNU time when available, with a time limit.
 * The worker prints one `BENCH_RESULT {json}` line on stdout.
 */
export async function runWorker<R>(
  worker: string,
  config: unknown,
  opts: {
    timeoutMs: number;
    timeBin?: string;
    tmpDir: string;
    env?: NodeJS.ProcessEnv;
    onLine?: (line: string) => void;
    /** Another interpreter and script (the Python contender) instead of `node <bundle>`. */ program?: { cmd: string; script: string };
  },
): Promise<ChildOutcome<R>> {
  const script = opts.program?.script ?? path.join(BUILD_DIR, `${worker}.js`);
  const interpreter = opts.program?.cmd ?? process.execPath;
  const timeFile = path.join(opts.tmpDir, `time-${worker}-${process.hrtime.bigint()}.txt`);
  // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): node flags for profiling a worker.
  const profiling = opts.program ? [] : (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const nodeArgs = [...profiling, script, JSON.stringify(config)];
  const [cmd, args] = opts.timeBin ? [opts.timeBin, ['-f', TIME_FORMAT, '-o', timeFile, interpreter, ...nodeArgs]] : [interpreter, nodeArgs];
  const t0 = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so a time limit can stop GNU time and the worker together (by group id).
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, detached: true });
    live.add(child.pid!);
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.onLine) {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) if (!l.startsWith(RESULT_PREFIX)) opts.onLine(l);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    let timedOut = false;
    let fallback: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      // Stop the worker under GNU time first, so that time still writes its report (peak RSS at the
      // kill); the whole group goes a moment later if anything is left.
      const workers = opts.timeBin ? childrenOf(child.pid!) : [];
      for (const pid of workers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      fallback = setTimeout(() => killGroup(child.pid!), workers.length ? 3000 : 0);
    }, opts.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(fallback);
      live.delete(child.pid!);
      const wallS = (performance.now() - t0) / 1000;
      const time = opts.timeBin ? parseTimeFile(timeFile) : undefined;
      fs.rmSync(timeFile, { force: true });
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (timedOut) return resolve({ status: 'timeout', wallS, time, error: `killed after ${(opts.timeoutMs / 1000).toFixed(0)} s` });
      if (code === 0 && line) return resolve({ status: 'ok', wallS, time, result: JSON.parse(line.slice(RESULT_PREFIX.length)) as R });
      // The error's own line (its message) and the last lines (where it was thrown): a long message
      // (DuckDB's out-of-memory advice) would otherwise push the message itself out of the tail.
      const lines = stderr.trim().split('\n');
      const tail = [...new Set([lines.find((l) => /\w*Error\b/.test(l)), ...lines.slice(-3)])].filter(Boolean).join(' | ');
      const oom = /heap out of memory|Allocation failed/i.test(stderr);
      resolve({ status: 'failed', wallS, time, error: oom ? `JavaScript heap out of memory (${tail.slice(0, 200)})` : `exit ${code ?? signal}: ${tail.slice(0, 1200)}` });
    });
  });
}

/** Direct children of a process (Linux /proc), e.g. the worker GNU time started. */
function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Process groups of running workers: stopped when the benchmark itself is interrupted. */
const live = new Set<number>();
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
export function killLiveWorkers(): void {
  for (const pid of live) killGroup(pid);
  live.clear();
}

/** CPU seconds of PostgreSQL's exited backends (the postmaster's reaped children), Linux only. */
export function serverCpuSeconds(dataDir: string): number | undefined {
  try {
    const pid = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of /proc/<pid>/stat: utime stime cutime cstime (rest[0] is field 3)
    const ticks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
    return ticks / clockTicks();
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    ticksPerSecond = Number(r.stdout?.trim()) || 100;
  }
  return ticksPerSecond;
}

/** Busy and total CPU seconds of all CPUs from /proc/stat (Linux), for machine-wide utilisation. */
export function cpuJiffies(): { busy: number; total: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
