/**
 * Errors say whether to retry. Exactly one layer decides: the handler wrapper rethrows transient
 * errors (Pub/Sub redelivers with backoff) and acknowledges terminal ones after dead-lettering them.
 */

export type ErrorClass =
  | 'invalid_message' // payload fails its contract: never retried
  | 'unknown_municipality'
  | 'source_unreachable'
  | 'source_auth'
  | 'source_timeout'
  | 'source_busy' // another extraction holds the server's lease: try again later
  | 'source_schema' // drift the registry does not allow
  | 'source_error'
  | 'source_stale' // the PEC's own DW is older than the freshness threshold (a warning, recorded)
  | 'storage'
  | 'warehouse'
  | 'rate_limited'
  | 'data' // a staged value the warehouse cannot hold, a row count or checksum mismatch: terminal for that slice only
  | 'config'
  | 'internal';

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

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Classify an error from the PostgreSQL source by SQLSTATE (never by message text):
 * 08 connection, 57P01–03 shutdown, 40001 serialization, 53 resources → transient;
 * 28 auth → terminal; 57014 statement timeout → transient (the source may be busy now, not tomorrow);
 * 42 syntax/undefined object → terminal schema problem.
 */
export function classifySourceError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  const msg = `source error${code ? ` ${code}` : ''}: ${e?.message ?? String(err)}`;
  if (TRANSIENT_NODE_CODES.has(code) || /timeout expired|Connection terminated/i.test(e?.message ?? ''))
    return new TransientError(msg, 'source_unreachable', { cause: err });
  if (code.startsWith('28')) return new TerminalError(msg, 'source_auth', { cause: err });
  if (code === '57014' || code === '55P03') return new TransientError(msg, 'source_timeout', { cause: err });
  if (code.startsWith('08') || code.startsWith('57P') || code === '40001' || code === '40P01' || code.startsWith('53'))
    return new TransientError(msg, 'source_unreachable', { cause: err });
  if (code.startsWith('42')) return new TerminalError(msg, 'source_schema', { cause: err });
  if (code === '3D000') return new TerminalError(msg, 'source_auth', { cause: err });
  return new TransientError(msg, 'source_error', { cause: err });
}

export function describeError(err: unknown): { errorClass: ErrorClass; transient: boolean; message: string } {
  if (err instanceof PipelineError) return { errorClass: err.errorClass, transient: err.transient, message: err.message };
  return { errorClass: 'internal', transient: true, message: err instanceof Error ? err.message : String(err) };
}
