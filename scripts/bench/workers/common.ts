import { RESULT_PREFIX } from '../lib/proc';

/** Measures one phase inside a worker: wall time, CPU seconds of this process (all threads), peak RSS. */
export function startPhase() {
  const ru = process.resourceUsage();
  const baselineRssMb = process.memoryUsage.rss() / 2 ** 20;
  const t0 = performance.now();
  return () => {
    const r = process.resourceUsage();
    return {
      wallS: (performance.now() - t0) / 1000,
      cpuS: (r.userCPUTime - ru.userCPUTime + r.systemCPUTime - ru.systemCPUTime) / 1e6,
      /** Peak RSS of the process so far (ru_maxrss), MiB. */
      maxRssMb: r.maxRSS / 1024,
      baselineRssMb,
    };
  };
}
export type PhaseMeasure = ReturnType<ReturnType<typeof startPhase>>;

export function emit(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

export function config<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('worker needs its JSON configuration as the first argument');
  return JSON.parse(raw) as T;
}

export function fail(err: unknown): never {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
