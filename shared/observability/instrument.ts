import { performance } from 'node:perf_hooks';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Request, Response } from '@google-cloud/functions-framework';
import type { Logger } from 'pino';
import { MessagePublishedData, type PubsubCloudEvent } from '../contracts/pubsub';
import { describeError } from '../errors';
import type { Settled } from '../handlers/pubsub-handler';
import { pipelineMetrics, tracer, type Outcome, type Stage } from './telemetry';
import { contextFromTraceparent, TRACEPARENT_ATTRIBUTE } from './trace-context';

/** What one invocation's handler is built with. */
export interface Invocation {
  logger: Logger;
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
    const m =
      typeof json.municipality === 'string' ? json.municipality : Array.isArray(json.municipalities) && json.municipalities.length === 1 ? json.municipalities[0] : undefined;
    if (typeof m === 'string' && /^\d{7}$/.test(m)) labels.municipality = m;
    return labels;
  } catch {
    return {};
  }
}

/**
 * Wraps a Pub/Sub CloudEvent handler with what every invocation needs: a CONSUMER span whose parent
 * is the publisher's `traceparent` attribute (so log lines carry the trace), the duration metric with the
 * outcome the handler settled on (ok / dead_lettered: acked into the dead-letter topic / retried: the
 * handler rethrew, Pub/Sub redelivers), and a telemetry flush. Anything but `ok` sets the span's status
 * to ERROR, so a dead-lettered message is not an `ok` trace. The handler itself is built per invocation
 * (a cheap closure) so its logger belongs to that message.
 */
export function instrumentCloudEvent(
  options: InstrumentOptions,
  makeHandler: (invocation: Invocation) => (event: PubsubCloudEvent) => Promise<Settled>,
): (event: PubsubCloudEvent) => Promise<void> {
  return async (event) => {
    const envelope = MessagePublishedData.safeParse(event.data);
    const message = envelope.success ? envelope.data.message : undefined;
    const labels = peekLabels(message?.data);
    const parent = contextFromTraceparent(message?.attributes?.[TRACEPARENT_ATTRIBUTE], context.active());
    const logger = options.logger;
    const started = performance.now();
    let outcome: Outcome = 'ok';
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
              outcome = await makeHandler({ logger })(event);
              if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
            } catch (err) {
              outcome = 'retried';
              span.recordException(err as Error);
              span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err).message.slice(0, 500) });
              throw err;
            } finally {
              span.setAttribute('pipeline.outcome', outcome);
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

export interface HttpInstrumentOptions extends InstrumentOptions {
  /** Log message for a failure the handler threw, e.g. 'run status failed'. */
  failureMessage: string;
  /** Retry-After on a transient failure's 503 (a hint: Workflows backs off by itself). */
  retryAfterSeconds: number;
  /** HTTP status of a terminal failure the handler threw; 500 unless told. */
  terminalStatus?: (failure: ReturnType<typeof describeError>) => number;
}

/**
 * The same for the HTTP functions (run-status, run-report): a SERVER span, the duration metric and a
 * telemetry flush. A failure the handler throws is answered here, once for both: transient → 503 +
 * Retry-After (outcome `retried`), otherwise `terminalStatus` (outcome `failed`), body
 * `{error, errorClass, retry}`. What the handler answers itself (2xx, 4xx) is `ok`: a bad request is
 * the caller's problem, not the function's.
 */
export function instrumentHttp(options: HttpInstrumentOptions, handler: (req: Request, res: Response) => Promise<void>): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const started = performance.now();
    let outcome: Outcome = 'ok';
    try {
      await tracer().startActiveSpan(`${options.stage} request`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, async (span) => {
        try {
          await handler(req, res);
        } catch (err) {
          const e = describeError(err);
          outcome = e.transient ? 'retried' : 'failed';
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.message.slice(0, 500) });
          options.logger.error({ errorClass: e.errorClass, transient: e.transient, err: e.message }, options.failureMessage);
          if (e.transient) res.set('Retry-After', String(options.retryAfterSeconds));
          res.status(e.transient ? 503 : (options.terminalStatus?.(e) ?? 500)).json({ error: e.message, errorClass: e.errorClass, retry: e.transient });
        } finally {
          span.setAttribute('http.response.status_code', res.statusCode);
          span.setAttribute('pipeline.outcome', outcome);
          span.end();
        }
      });
    } finally {
      pipelineMetrics.duration((performance.now() - started) / 1000, { stage: options.stage, outcome });
      await options.afterInvocation?.().catch((err: unknown) => options.logger.warn({ err: (err as Error)?.message }, 'telemetry flush failed'));
    }
  };
}
