import type { Logger } from 'pino';
import type { z } from 'zod';
import { formatIssues } from '../contracts/issues';
import { LOG_FIELDS, logLabels } from '../contracts/log-messages';
import { HANDLER_DEAD_LETTER_ATTRIBUTES as DL, MessagePublishedData, type PubsubCloudEvent } from '../contracts/pubsub';
import { describeError, TerminalError } from '../errors';
import type { Bus } from '../ports';

export interface MessageContext {
  messageId: string;
  attributes: Record<string, string>;
  deliveryAttempt: number;
  logger: Logger;
}

/**
 * How a handler settled one delivery, as it tells its caller (instrumentCloudEvent turns it into the
 * span status and the duration metric's `outcome`): `ok` acked after the use case ran, `dead_lettered`
 * acked after parking the message in the dead-letter topic. The third outcome, a transient failure
 * Pub/Sub redelivers, is the handler's rejection (the rethrown error), not a value.
 */
export type Settled = 'ok' | 'dead_lettered';

/**
 * Turns a use case into a Pub/Sub CloudEvent handler, the same function locally and in Cloud
 * Functions. It strips the envelope, validates the payload against its contract and maps the
 * outcome: success acks; a transient error is rethrown so Pub/Sub redelivers with backoff; a
 * terminal error (bad message, bad config, refused credentials…) is logged, parked in the
 * dead-letter topic and acked, so it never retries.
 */
export function pubsubHandler<S extends z.ZodType>(spec: {
  name: string;
  schema: S;
  bus: Bus;
  logger: Logger;
  run: (payload: z.infer<S>, ctx: MessageContext) => Promise<void>;
  onFailure?: (payload: z.infer<S> | undefined, failure: ReturnType<typeof describeError>, ctx: MessageContext) => Promise<void> | void;
}): (event: PubsubCloudEvent) => Promise<Settled> {
  return async (event) => {
    // A push body handed over as the event itself (no `data`: what the functions framework's
    // CloudEvent signature passes for a message without data) is still read as one.
    const data = event.data === undefined && event !== null && typeof event === 'object' && 'message' in event ? event : event.data;
    const envelope = MessagePublishedData.safeParse(data);
    const message = envelope.success ? envelope.data.message : {};
    const attributes = message.attributes ?? {};
    const messageId = message.messageId ?? message.message_id ?? (typeof event.id === 'string' ? event.id : 'unknown');
    // Only present when the subscription has a dead-letter policy (ours always do); 1 otherwise.
    const deliveryAttempt = (envelope.success ? envelope.data.deliveryAttempt : undefined) ?? 1;
    const logger = spec.logger.child({ handler: spec.name, messageId, deliveryAttempt });
    const ctx: MessageContext = { messageId, attributes, deliveryAttempt, logger };
    const raw = Buffer.from(message.data ?? '', 'base64');

    let payload: z.infer<S> | undefined;
    try {
      if (!envelope.success) throw new TerminalError(`not a Pub/Sub message event: ${formatIssues(envelope.error)}`, 'invalid_message');
      // Attributes only: Pub/Sub allows it, no contract here does. Said plainly rather than "not JSON (0 bytes)".
      if (raw.length === 0) throw new TerminalError(`message has no data (attributes only: ${Object.keys(attributes).sort().join(', ') || 'none'})`, 'invalid_message');
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new TerminalError(`message data is not JSON (${raw.length} bytes)`, 'invalid_message');
      }
      const parsed = spec.schema.safeParse(json);
      if (!parsed.success) throw new TerminalError(`message rejected: ${formatIssues(parsed.error)}`, 'invalid_message');
      payload = parsed.data;
      // Run and municipality as Cloud Logging labels on every line about this message (alerts group by them).
      const p = payload as { runId?: string; municipality?: string; municipalities?: string[] };
      if (p.runId || p.municipality) ctx.logger = ctx.logger.child(logLabels({ run: p.runId, municipality: p.municipality }));
      await spec.run(payload, ctx);
      return 'ok';
    } catch (err) {
      const failure = describeError(err);
      await spec.onFailure?.(payload, failure, ctx);
      if (failure.transient) {
        ctx.logger.warn({ [LOG_FIELDS.errorClass]: failure.errorClass, err: failure.message }, `${spec.name} failed (transient): Pub/Sub will redeliver`);
        throw err;
      }
      // The terminal-failure metric (infra-cdktf/modules/monitoring.ts) counts ERROR lines carrying this field.
      ctx.logger.error({ [LOG_FIELDS.errorClass]: failure.errorClass, err: failure.message }, `${spec.name} failed (terminal): dead-lettered, not retried`);
      await spec.bus.publishDeadLetter(raw, {
        ...attributes,
        [DL.errorClass]: failure.errorClass,
        [DL.errorMessage]: failure.message.slice(0, 1000),
        [DL.sourceHandler]: spec.name,
        [DL.originalMessageId]: messageId,
        [DL.deliveryAttempt]: String(deliveryAttempt),
      });
      return 'dead_lettered';
    }
  };
}
