import { bigQueryReasonRule, CALLER, GCP_FALLBACK, grpcRule, httpRule, isNodeSocketCode, type GcpRule } from '../../error-classes';
import { PipelineError, TerminalError, TransientError, type ErrorClass } from '../../errors';

/**
 * Classify an error from a Google Cloud client library by what the API said, never by message
 * text: the BigQuery error `reason`, the HTTP status, the gRPC status code, or the Node.js socket
 * error code. Transient errors are rethrown so Pub/Sub redelivers with backoff; terminal ones are
 * dead-lettered (shared/handlers/pubsub-handler.ts). The client libraries already retried the
 * idempotent calls themselves, so reaching here means their retries ran out.
 */

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
  // Unknown numbers are harmless: grpcRule finds no row and the HTTP status decides.
  return typeof e?.code === 'number' && e.details !== undefined ? e.code : undefined;
}

export interface Classified {
  transient: boolean;
  /** The class of the row that decided; CALLER = the class the adapter passes to gcpError. */
  errorClass: ErrorClass | typeof CALLER;
  /** Why, in a few words, for the log line and the dead-letter attribute. */
  basis: string;
}

const decided = (r: GcpRule, basis: string): Classified => ({ transient: r.transient, errorClass: r.errorClass, basis });

/** Decide transient or terminal for any Google Cloud client error, by the rows of shared/error-classes.ts. */
export function classifyGcp(err: unknown): Classified {
  const reason = bigQueryReason(err);
  const byReason = bigQueryReasonRule(reason);
  if (byReason) return decided(byReason, `reason ${reason}`);
  const grpc = grpcCode(err);
  const byGrpc = grpcRule(grpc);
  if (byGrpc) return decided(byGrpc, `gRPC status ${grpc}`);
  const status = httpStatus(err);
  const byStatus = httpRule(status);
  if (byStatus) return decided(byStatus, `HTTP ${status}`);
  const code = (err as ApiErrorShape | undefined)?.code;
  if (isNodeSocketCode(code)) return { errorClass: CALLER, transient: true, basis: String(code) };
  return decided(GCP_FALLBACK, 'unclassified');
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
  const cls = c.errorClass === CALLER ? errorClass : c.errorClass;
  return c.transient ? new TransientError(message, cls, { cause: err }) : new TerminalError(message, cls, { cause: err });
}
