import { context, isSpanContextValid, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';

/**
 * W3C trace context carried in Pub/Sub message attributes, so one run's fan-out, extracts and
 * loads share a trace across messages. Written against @opentelemetry/api alone: it works whether
 * or not an entry point registered an SDK (without one there is no active span and the incoming
 * `traceparent` is passed along untouched).
 */

export const TRACEPARENT_ATTRIBUTE = 'traceparent';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span as a `traceparent` value (version 00), or undefined without a valid span. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A context whose remote parent is `traceparent`; `base` unchanged when the value is absent or malformed. */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!m) return base;
  const sc = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) as TraceFlags, isRemote: true };
  return isSpanContextValid(sc) ? trace.setSpanContext(base, sc) : base;
}

/**
 * Attributes for an outgoing message: the caller's, with `traceparent` set to the active span
 * (the publishing step) when there is one, so the next step's span is its child.
 */
export function withTraceparent(attributes: Record<string, string> = {}): Record<string, string> {
  const tp = traceparentOf();
  return tp ? { ...attributes, [TRACEPARENT_ATTRIBUTE]: tp } : { ...attributes };
}

/**
 * Trace fields for each log line (a pino `mixin`): @google-cloud/pino-logging-gcp-config turns
 * trace_id / span_id / trace_flags into `logging.googleapis.com/trace`, `…/spanId` and
 * `…/trace_sampled`, which is how Cloud Logging shows a request's lines under its trace.
 */
export function activeTraceLogFields(): Record<string, string> {
  const sc = trace.getSpanContext(context.active());
  if (!sc || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${(sc.traceFlags & 0xff).toString(16)}`.slice(-2) };
}
