import { PipelineError, TerminalError, TransientError, type ErrorClass } from '../../errors';

/**
 * Classify an error from a Google Cloud client library by what the API said, never by message
 * text: the BigQuery error `reason`, the HTTP status, the gRPC status code, or the Node.js socket
 * error code. Transient errors are rethrown so Pub/Sub redelivers with backoff; terminal ones are
 * dead-lettered (shared/handlers/pubsub-handler.ts). The client libraries already retried the
 * idempotent calls themselves, so reaching here means their retries ran out.
 */

/** BigQuery `errors[].reason` values a later attempt can succeed on. */
export const BIGQUERY_TRANSIENT_REASONS = new Set([
  'backendError',
  'internalError',
  'rateLimitExceeded',
  'jobRateLimitExceeded',
  // Usually a short-lived limit (concurrent queries, metadata updates per 10 s); the daily table
  // modification quota is kept far away by design (see README "BigQuery: tables, loads and quotas"), so retrying is right.
  'quotaExceeded',
  'tableUnavailable',
  'resourceInUse',
  'timeout',
  'jobBackendError',
  'jobInternalError',
]);

/** BigQuery reasons that no retry fixes: a bad request, a missing or forbidden resource. */
export const BIGQUERY_TERMINAL_REASONS = new Set([
  'invalid',
  'invalidQuery',
  'notFound',
  'accessDenied',
  'duplicate',
  'billingNotEnabled',
  'billingTierLimitExceeded',
  'blocked',
  'responseTooLarge',
  'resourcesExceeded',
  'stopped',
  'notImplemented',
]);

/** gRPC status codes (Pub/Sub, Secret Manager): https://grpc.io/docs/guides/status-codes/ */
const GRPC_TRANSIENT = new Set([1 /* CANCELLED */, 2 /* UNKNOWN */, 4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */, 13 /* INTERNAL */, 14 /* UNAVAILABLE */]);
const GRPC_TERMINAL = new Set([3 /* INVALID_ARGUMENT */, 5 /* NOT_FOUND */, 6 /* ALREADY_EXISTS */, 7 /* PERMISSION_DENIED */, 9 /* FAILED_PRECONDITION */, 11 /* OUT_OF_RANGE */, 12 /* UNIMPLEMENTED */, 16 /* UNAUTHENTICATED */]);

const NODE_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

interface ApiErrorShape {
  code?: number | string;
  status?: number;
  response?: { status?: number };
  errors?: { reason?: string; message?: string }[];
  reason?: string;
  message?: string;
  /** Present on gRPC errors from google-gax. */
  details?: string;
}

/** The first BigQuery error reason on an error or on a job's errorResult. */
export function bigQueryReason(err: unknown): string | undefined {
  const e = err as ApiErrorShape | undefined;
  return e?.reason ?? e?.errors?.find((x) => x.reason)?.reason;
}

/** The HTTP status behind a REST client error (ApiError.code, GaxiosError.status / response.status). */
export function httpStatus(err: unknown): number | undefined {
  const e = err as ApiErrorShape | undefined;
  if (!e) return undefined;
  if (typeof e.status === 'number') return e.status;
  if (typeof e.response?.status === 'number') return e.response.status;
  if (typeof e.code === 'number' && e.code >= 100) return e.code;
  return undefined;
}

function grpcCode(err: unknown): number | undefined {
  const e = err as ApiErrorShape | undefined;
  return typeof e?.code === 'number' && e.code >= 0 && e.code <= 16 && e.details !== undefined ? e.code : undefined;
}

const RATE_LIMITED_BASES = new Set(['reason rateLimitExceeded', 'reason jobRateLimitExceeded', 'reason quotaExceeded', 'HTTP 429', 'gRPC status 8']);

export interface Classified {
  transient: boolean;
  /** Why, in a few words, for the log line and the dead-letter attribute. */
  basis: string;
}

/** Decide transient or terminal for any Google Cloud client error. Unknown errors are transient, like describeError. */
export function classifyGcp(err: unknown): Classified {
  const reason = bigQueryReason(err);
  if (reason && BIGQUERY_TRANSIENT_REASONS.has(reason)) return { transient: true, basis: `reason ${reason}` };
  if (reason && BIGQUERY_TERMINAL_REASONS.has(reason)) return { transient: false, basis: `reason ${reason}` };
  const grpc = grpcCode(err);
  if (grpc !== undefined) return { transient: GRPC_TRANSIENT.has(grpc) || !GRPC_TERMINAL.has(grpc), basis: `gRPC status ${grpc}` };
  const status = httpStatus(err);
  if (status !== undefined) {
    if (status === 408 || status === 429 || status >= 500) return { transient: true, basis: `HTTP ${status}` };
    if (status >= 400) return { transient: false, basis: `HTTP ${status}` };
  }
  const code = (err as ApiErrorShape | undefined)?.code;
  if (typeof code === 'string' && NODE_TRANSIENT.has(code)) return { transient: true, basis: code };
  return { transient: true, basis: 'unclassified' };
}

/**
 * Wrap a client error as a PipelineError of `errorClass` (terminal quota and permission problems
 * keep the class, so the dead letter says which service refused). `what` names the operation and
 * object, never a credential or a secret value.
 */
export function gcpError(err: unknown, errorClass: ErrorClass, what: string): PipelineError {
  if (err instanceof PipelineError) return err;
  const c = classifyGcp(err);
  const message = `${what} failed (${c.basis}): ${(err as Error)?.message ?? String(err)}`;
  if (c.transient) return new TransientError(message, RATE_LIMITED_BASES.has(c.basis) ? 'rate_limited' : errorClass, { cause: err });
  return new TerminalError(message, errorClass, { cause: err });
}
