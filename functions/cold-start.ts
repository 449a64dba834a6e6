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
    process.stderr.write(
      `${JSON.stringify({ severity: 'CRITICAL', message: `${service} cannot start: ${problems.join('; ')}`, problems, serviceContext: { service } })}\n`,
    );
    throw err;
  }
}
