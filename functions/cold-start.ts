import { ConfigError } from '../shared/contracts/config';

/**
 * Runs the cold-start step `fn` (parse configuration, read the registry). On failure it writes
 * one Cloud Logging line (severity CRITICAL, every problem listed) before rethrowing, so the
 * instance fails to start with a readable reason instead of a bare stack trace.
 */
export function coldStart<T>(service: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error)?.message ?? String(err)];
    process.stderr.write(`${JSON.stringify({ severity: 'CRITICAL', message: `${service} cannot start: ${problems.join('; ')}`, problems, serviceContext: { service } })}\n`);
    throw err;
  }
}

/**
 * One WARNING line at cold start naming each client pointed at a local endpoint (emulators, test
 * doubles): a deployed function showing it is talking to something other than Google.
 */
export function warnLocalEndpoints(logger: { warn: (obj: object, msg: string) => void }, endpoints: Record<string, string | undefined>): void {
  const set = Object.fromEntries(Object.entries(endpoints).filter(([, v]) => v));
  if (Object.keys(set).length > 0) logger.warn({ endpoints: set }, `local endpoints in use for ${Object.keys(set).join(', ')}: not Google's APIs`);
}
