import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { PUBSUB_EVENT_TYPE, type PubsubCloudEvent } from '../shared/contracts/pubsub';

/**
 * The HTTP face of the Pub/Sub-triggered functions. infra-cdktf delivers their messages through its
 * own push subscriptions (for the dead-letter policy), so what arrives is Pub/Sub's push body
 * `{message, subscription, deliveryAttempt}`, not an Eventarc CloudEvent. The functions framework's
 * `cloudEvent` signature would convert that body itself, but its conversion
 * - drops `deliveryAttempt` and `subscription` (the handler always saw attempt 1), and
 * - skips a message without data (attributes only; the emulator sends `data: ""`), so the handler
 *   got a CloudEvent without `data`, failed with a TypeError and answered 500: retried for hours.
 * Hence an `http` function that builds the CloudEvent itself, keeping the whole push body as its
 * data. Binary and structured CloudEvents (Eventarc, the tests) are accepted as they are.
 *
 * The answer is what Pub/Sub acts on: 204 acknowledges (success, or a terminal failure the handler
 * has dead-lettered), 500 asks for redelivery (the handler rethrew a transient error).
 */
export function pubsubPush(handler: (event: PubsubCloudEvent) => Promise<void>): HttpFunction {
  return async (req, res) => {
    try {
      await handler(cloudEventOf(req));
      res.status(204).end();
    } catch {
      // The handler has logged the failure with its class; the body only helps someone reading a trace.
      res.status(500).type('text/plain').send('transient failure: Pub/Sub will redeliver');
    }
  };
}

const header = (req: Request, name: string): string | undefined => {
  const v = req.header(name);
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** The CloudEvent a request carries, whichever of the three shapes Pub/Sub or Eventarc used. */
export function cloudEventOf(req: Request): PubsubCloudEvent {
  const body: unknown = req.body;
  // Binary content mode: context in ce-* headers, the body is the data.
  const id = header(req, 'ce-id');
  const type = header(req, 'ce-type');
  const source = header(req, 'ce-source');
  if (id && type && source && header(req, 'ce-specversion')) return { id, type, source, specversion: header(req, 'ce-specversion'), time: header(req, 'ce-time'), data: body };
  const obj = body !== null && typeof body === 'object' && !Buffer.isBuffer(body) ? (body as Record<string, unknown>) : undefined;
  // Structured content mode: the whole event is the body.
  if (obj && typeof obj.specversion === 'string' && typeof obj.type === 'string') return obj as unknown as PubsubCloudEvent;
  // A Pub/Sub push body (or anything else: the handler's envelope check rejects it with the reason).
  const message = obj && obj.message !== null && typeof obj.message === 'object' ? (obj.message as Record<string, unknown>) : undefined;
  const messageId = message?.messageId ?? message?.message_id;
  const topic = /projects\/[^/?]+\/topics\/[^/?]+/.exec(req.path)?.[0];
  return {
    id: typeof messageId === 'string' ? messageId : 'unknown',
    type: PUBSUB_EVENT_TYPE,
    source: `//pubsub.googleapis.com/${topic ?? ''}`,
    time: typeof message?.publishTime === 'string' ? message.publishTime : undefined,
    data: obj ?? body,
  };
}
