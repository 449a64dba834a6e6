import { duckDbRule, isNodeSocketCode, pgClientMessageRule, SOURCE_FALLBACK, SOURCE_SOCKET, sqlStateRule, UNCLASSIFIED, type Rule } from './error-classes';

/**
 * Errors say whether to retry. Exactly one layer decides: the handler wrapper rethrows transient
 * errors (Pub/Sub redelivers with backoff) and acknowledges terminal ones after dead-lettering them.
 */

/** Every error class, with why it exists; the type is derived from this list. */
export const ERROR_CLASS_NAMES = [
  'invalid_message', // payload fails its contract: never retried
  'unknown_municipality',
  'source_unreachable',
  'source_auth',
  'source_timeout',
  'source_busy', // another extraction holds the server's lease: try again later
  'source_schema', // drift the registry does not allow
  'source_error',
  'source_stale', // the PEC's own DW is older than the freshness threshold (a warning, recorded)
  'storage',
  'warehouse',
  'rate_limited',
  'data', // a staged value the warehouse cannot hold, a row count or checksum mismatch: terminal for that slice only
  'config',
  'internal',
] as const;
export type ErrorClass = (typeof ERROR_CLASS_NAMES)[number];

export class PipelineError extends Error {
  constructor(
    message: string,
    readonly errorClass: ErrorClass,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Redelivery may succeed: network blips, timeouts, 429/5xx, serialization failures. */
export class TransientError extends PipelineError {
  constructor(message: string, errorClass: ErrorClass, options?: { cause?: unknown }) {
    super(message, errorClass, true, options);
  }
}

/** Redelivery cannot succeed without a human: bad message, bad config, auth refused, schema drift. */
export class TerminalError extends PipelineError {
  constructor(message: string, errorClass: ErrorClass, options?: { cause?: unknown }) {
    super(message, errorClass, false, options);
  }
}

/** Raised by object stores when a create-if-absent finds the object already there. */
export class ObjectExistsError extends Error {
  constructor(readonly key: string) {
    super(`object already exists: ${key}`);
    this.name = 'ObjectExistsError';
  }
}

/**
 * Classify an error from the PostgreSQL source by SQLSTATE (never by message text, except the `pg`
 * client's own errors, which have no code). The decisions are rows of shared/error-classes.ts;
 * `phase: 'connect'` for errors of the connection attempt (42501 there means "may not CONNECT").
 */
export function classifySourceError(err: unknown, phase?: 'connect'): PipelineError {
  if (err instanceof PipelineError) return err;
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const text = typeof e?.message === 'string' ? e.message : String(err);
  const msg = `source error${code ? ` ${code}` : ''}: ${text}`;
  const rule: Rule = isNodeSocketCode(code) ? SOURCE_SOCKET : (sqlStateRule(code, phase) ?? pgClientMessageRule(text) ?? SOURCE_FALLBACK);
  return rule.transient ? new TransientError(msg, rule.errorClass, { cause: err }) : new TerminalError(msg, rule.errorClass, { cause: err });
}

/**
 * Classify an error of the local DuckDB warehouse by its error type; `message` says what failed;
 * `cause` is what travels as the error's cause (undefined when the original quotes row content).
 */
export function classifyDuckDbError(err: unknown, message: string, cause: unknown = err): PipelineError {
  if (err instanceof PipelineError) return err.transient ? new TransientError(message, err.errorClass, { cause }) : new TerminalError(message, err.errorClass, { cause });
  // Not `instanceof Error`: DuckDB's native errors come from another realm under jest's VM.
  const text = (err as { message?: unknown } | null | undefined)?.message;
  const rule = duckDbRule(typeof text === 'string' ? text : String(err));
  return rule.transient ? new TransientError(message, rule.errorClass, { cause }) : new TerminalError(message, rule.errorClass, { cause });
}

export function describeError(err: unknown): { errorClass: ErrorClass; transient: boolean; message: string } {
  if (err instanceof PipelineError) return { errorClass: err.errorClass, transient: err.transient, message: err.message };
  return { errorClass: UNCLASSIFIED.errorClass, transient: UNCLASSIFIED.transient, message: err instanceof Error ? err.message : String(err) };
}
