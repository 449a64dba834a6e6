import { performance } from 'node:perf_hooks';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { MessagePublishedData, type PubsubCloudEvent } from '../contracts/pubsub';
import { describeError } from '../errors';
import type { RunEvent, RunObserver } from '../ports';
import { pipelineMetrics, tracer, type Stage } from './telemetry';
import { contextFromTraceparent, TRACEPARENT_ATTRIBUTE } from './trace-context';

/** What one invocation's handler is built with: the logger, and an observer that sees its failures. */
export interface Invocation {
  logger: Logger;
  observer: RunObserver;
}

export interface InstrumentOptions {
  stage: Stage;
  logger: Logger;
  /** Runs after every invocation: entry points flush telemetry there (CPU is throttled once the response is sent). */
  afterInvocation?: () => Promise<void>;
}

/**
 * Best-effort span attributes from the payload, before its contract runs: only well-formed run ids
 * and IBGE codes are used. Validation proper, and the log labels, stay in the handler
 * (shared/handlers/pubsub-handler.ts labels every line with run and municipality).
 */
function peekLabels(data: string | undefined): { run?: string; municipality?: string } {
  try {
    const json = JSON.parse(Buffer.from(data ?? '', 'base64').toString('utf8')) as Record<string, unknown>;
    const labels: { run?: string; municipality?: string } = {};
    if (typeof json.runId === 'string' && /^[a-z0-9][a-z0-9-]{2,62}$/.test(json.runId)) labels.run = json.runId;
    const m = typeof json.municipality === 'string' ? json.municipality : Array.isArray(json.municipalities) && json.municipalities.length === 1 ? json.municipalities[0] : undefined;
    if (typeof m === 'string' && /^\d{7}$/.test(m)) labels.municipality = m;
    return labels;
  } catch {
    return {};
  }
}

/**
 * Wraps a Pub/Sub CloudEvent handler with what every invocation needs: a CONSUMER span whose parent
 * is the publisher's `traceparent` attribute (so log lines carry the trace), the duration metric with the
 * outcome (ok / transient: rethrown for redelivery / terminal: dead-lettered and acked), and a
 * telemetry flush. The handler itself is built per invocation (a cheap closure) so its observer
 * belongs to that message.
 */
export function instrumentCloudEvent(
  options: InstrumentOptions,
  makeHandler: (invocation: Invocation) => (event: PubsubCloudEvent) => Promise<void>,
): (event: PubsubCloudEvent) => Promise<void> {
  return async (event) => {
    const envelope = MessagePublishedData.safeParse(event.data);
    const message = envelope.success ? envelope.data.message : undefined;
    const labels = peekLabels(message?.data);
    const parent = contextFromTraceparent(message?.attributes?.[TRACEPARENT_ATTRIBUTE], context.active());
    const logger = options.logger;
    let terminal = false;
    const observer: RunObserver = {
      record: (e: RunEvent) => {
        if ((e.kind === 'extract_failed' || e.kind === 'load_failed') && !e.willRetry) terminal = true;
      },
    };
    const started = performance.now();
    let outcome: 'ok' | 'transient' | 'terminal' = 'ok';
    try {
      await context.with(parent, () =>
        tracer().startActiveSpan(
          `${options.stage} process`,
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'messaging.system': 'gcp_pubsub',
              'messaging.operation.type': 'process',
              'messaging.message.id': message?.messageId ?? message?.message_id ?? event.id,
              ...(labels.run ? { 'pipeline.run': labels.run } : {}),
              ...(labels.municipality ? { 'pipeline.municipality': labels.municipality } : {}),
              ...(envelope.success && envelope.data.deliveryAttempt ? { 'messaging.gcp_pubsub.message.delivery_attempt': envelope.data.deliveryAttempt } : {}),
            },
          },
          async (span) => {
            try {
              await makeHandler({ logger, observer })(event);
              if (terminal) outcome = 'terminal';
            } catch (err) {
              outcome = 'transient';
              span.recordException(err as Error);
              span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err).message.slice(0, 500) });
              throw err;
            } finally {
              span.end();
            }
          },
        ),
      );
    } finally {
      pipelineMetrics.duration((performance.now() - started) / 1000, { stage: options.stage, outcome });
      await options.afterInvocation?.().catch((err: unknown) => options.logger.warn({ err: (err as Error)?.message }, 'telemetry flush failed'));
    }
  };
}
