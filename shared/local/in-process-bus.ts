import { EventEmitter } from 'node:events';
import { TOPIC_SCHEMAS, TOPICS, type TopicKey } from '../contracts/messages';
import {
  HANDLER_DEAD_LETTER_ATTRIBUTES as HANDLER_DL,
  PUBSUB_DEAD_LETTER_ATTRIBUTES as DEAD_LETTER,
  PUBSUB_EVENT_TYPE,
  type MessagePublishedData,
  type PubsubCloudEvent,
} from '../contracts/pubsub';
import type { Bus } from '../ports';

export interface SubscriptionOptions {
  /** Deliveries before a message goes to the dead-letter topic (Pub/Sub allows 5–100). */
  maxDeliveryAttempts: number;
  /** Exponential backoff between redeliveries (Pub/Sub: 10–600 s; shorter locally). */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Concurrent deliveries, like a function's max instances. */
  maxConcurrency: number;
}

export interface DeliveredMessage {
  topic: TopicKey;
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: string;
}

export interface DeadLetter extends DeliveredMessage {
  subscription: string;
  deliveryAttempts: number;
  reason: string;
}

// What a handler resolves to (e.g. how it settled the delivery) is its business: the bus only acks or redelivers.
type Handler = (event: PubsubCloudEvent) => Promise<unknown>;

interface Subscription extends SubscriptionOptions {
  name: string;
  topic: TopicKey;
  handler: Handler;
  active: number;
  waiting: { msg: DeliveredMessage; attempt: number }[];
}

/**
 * An in-process message bus with Pub/Sub's delivery semantics: at-least-once, no ordering,
 * attributes, redelivery with exponential backoff after a failed (thrown) delivery, and the
 * dead-letter topic after maxDeliveryAttempts. Every payload is validated against its topic's
 * contract before it is accepted, as the real publisher does. Handlers receive the same
 * CloudEvent a Cloud Function would.
 */
export class InProcessBus implements Bus {
  private readonly subs: Subscription[] = [];
  // Numeric like Pub/Sub's ids, and unique across processes: a rerun's run id is derived from its
  // request's message id, so two local reruns on the same day must not get the same one.
  private seq = Date.now() * 1000;
  private pending = 0;
  private readonly events = new EventEmitter();
  readonly deadLetters: DeadLetter[] = [];
  readonly published: DeliveredMessage[] = [];
  /** Fault injection for tests: return n > 1 to deliver a message n times. */
  duplicate: (msg: DeliveredMessage) => number = () => 1;
  /** Observer hook for tests: called as each delivery (first or redelivery) starts, e.g. to count attempts and backoff. */
  onDeliver: (delivery: { subscription: string; topic: TopicKey; messageId: string; attempt: number }) => void = () => {};

  constructor(private readonly project = 'local') {}

  subscribe(topic: TopicKey, name: string, handler: Handler, options: SubscriptionOptions): void {
    this.subs.push({ ...options, name, topic, handler, active: 0, waiting: [] });
  }

  async publish(topic: TopicKey, payload: unknown, attributes: Record<string, string> = {}): Promise<string> {
    const schema = (TOPIC_SCHEMAS as Record<string, { parse(v: unknown): unknown }>)[topic];
    const body = schema ? schema.parse(payload) : payload;
    return this.publishRaw(topic, Buffer.from(JSON.stringify(body)), attributes);
  }

  /** Publish bytes as they are (no contract): used for dead letters and for poison-message tests. */
  publishRaw(topic: TopicKey, data: Buffer, attributes: Record<string, string> = {}): string {
    const msg: DeliveredMessage = { topic, messageId: String(++this.seq), data, attributes, publishTime: new Date().toISOString() };
    this.published.push(msg);
    for (const sub of this.subs.filter((s) => s.topic === topic)) {
      for (let i = 0; i < Math.max(1, this.duplicate(msg)); i++) this.enqueue(sub, msg, 1);
    }
    return msg.messageId;
  }

  private enqueue(sub: Subscription, msg: DeliveredMessage, attempt: number, delayMs = 0): void {
    this.pending++;
    const go = () => {
      sub.waiting.push({ msg, attempt });
      this.pump(sub);
    };
    if (delayMs > 0) setTimeout(go, delayMs);
    else queueMicrotask(go);
  }

  private pump(sub: Subscription): void {
    while (sub.active < sub.maxConcurrency && sub.waiting.length > 0) {
      const { msg, attempt } = sub.waiting.shift()!;
      sub.active++;
      void this.deliver(sub, msg, attempt).finally(() => {
        sub.active--;
        this.pending--;
        this.pump(sub);
        if (this.pending === 0) this.events.emit('idle');
      });
    }
  }

  private async deliver(sub: Subscription, msg: DeliveredMessage, attempt: number): Promise<void> {
    this.onDeliver({ subscription: sub.name, topic: msg.topic, messageId: msg.messageId, attempt });
    const data: MessagePublishedData = {
      message: { data: msg.data.toString('base64'), attributes: msg.attributes, messageId: msg.messageId, publishTime: msg.publishTime },
      subscription: `projects/${this.project}/subscriptions/${sub.name}`,
      deliveryAttempt: attempt,
    };
    const event: PubsubCloudEvent = {
      specversion: '1.0',
      id: msg.messageId,
      type: PUBSUB_EVENT_TYPE,
      source: `//pubsub.googleapis.com/projects/${this.project}/topics/${TOPICS[msg.topic]}`,
      time: msg.publishTime,
      data,
    };
    try {
      await sub.handler(event);
    } catch (err) {
      if (attempt >= sub.maxDeliveryAttempts) {
        this.deadLetters.push({ ...msg, subscription: sub.name, deliveryAttempts: attempt, reason: (err as Error).message });
        // The attributes Pub/Sub itself adds when it forwards a message to the dead-letter topic.
        this.publishRaw('deadLetter', msg.data, { ...msg.attributes, [DEAD_LETTER.subscription]: sub.name, [DEAD_LETTER.deliveryCount]: String(attempt) });
        return;
      }
      const backoff = Math.min(sub.maxBackoffMs, sub.minBackoffMs * 2 ** (attempt - 1));
      this.enqueue(sub, msg, attempt + 1, backoff);
    }
  }

  async publishDeadLetter(data: Buffer, attributes: Record<string, string>): Promise<string> {
    this.deadLetters.push({
      topic: 'deadLetter',
      messageId: String(this.seq + 1),
      data,
      attributes,
      publishTime: new Date().toISOString(),
      subscription: attributes[DEAD_LETTER.subscription] ?? '',
      deliveryAttempts: Number(attributes[DEAD_LETTER.deliveryCount] ?? attributes[HANDLER_DL.deliveryAttempt] ?? 1),
      reason: attributes[HANDLER_DL.errorMessage] ?? '',
    });
    return this.publishRaw('deadLetter', data, attributes);
  }

  /** Resolves once nothing is queued, running or waiting for a redelivery. */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.events.once('idle', r));
  }
}
