import type { PubSub, Topic } from '@google-cloud/pubsub';
import { TOPIC_SCHEMAS, TOPICS, type TopicKey } from '../../contracts/messages';
import { TerminalError } from '../../errors';
import { formatIssues } from '../../contracts/issues';
import { withTraceparent } from '../../observability/trace-context';
import type { Bus } from '../../ports';
import { gcpError } from './errors';

export interface PubSubBusOptions {
  /** Messages per publish request. */
  maxMessages: number;
  /** How long a message may wait for its batch to fill. */
  maxMilliseconds: number;
  /** Bytes per publish request (Pub/Sub accepts 10 MB). */
  maxBytes: number;
}

export const PUBSUB_DEFAULTS: PubSubBusOptions = {
  // Fan-out publishes ~650 extract messages at once: 100 per request is 7 requests, not 650.
  maxMessages: 100,
  // A single follow-up message (continuation, load request) waits at most this long.
  maxMilliseconds: 20,
  // Our messages are < 1 KiB; 1 MiB keeps each request far below the 10 MB limit.
  maxBytes: 1024 * 1024,
};

/** Pub/Sub's limits on attributes (https://cloud.google.com/pubsub/quotas#resource_limits). */
const MAX_ATTRIBUTES = 100;
const MAX_KEY_BYTES = 256;
const MAX_VALUE_BYTES = 1024;

/**
 * The Bus on Cloud Pub/Sub. Every payload is validated against its topic's contract before it is
 * published (a message no subscriber could accept is a bug here, so it fails terminally), the
 * active span travels in the `traceparent` attribute, and the client batches messages per topic.
 * Topic ids are the deployment's prefix + the base names in TOPICS, the same names infra-cdktf creates.
 */
export class PubSubBus implements Bus {
  private readonly topics = new Map<TopicKey, Topic>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly topicPrefix: string,
    private readonly options: PubSubBusOptions = PUBSUB_DEFAULTS,
  ) {}

  topicId(topic: TopicKey): string {
    return `${this.topicPrefix}${TOPICS[topic]}`;
  }

  private topic(key: TopicKey): Topic {
    let t = this.topics.get(key);
    if (!t) {
      t = this.pubsub.topic(this.topicId(key), { batching: { ...this.options } });
      this.topics.set(key, t);
    }
    return t;
  }

  async publish(topic: TopicKey, payload: unknown, attributes: Record<string, string> = {}): Promise<string> {
    const schema = (TOPIC_SCHEMAS as Partial<Record<TopicKey, (typeof TOPIC_SCHEMAS)[keyof typeof TOPIC_SCHEMAS]>>)[topic];
    if (!schema) throw new TerminalError(`topic ${topic} has no message contract: use publishDeadLetter for raw bytes`, 'internal');
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new TerminalError(`refusing to publish an invalid ${topic} message: ${formatIssues(parsed.error)}`, 'invalid_message');
    const attrs = withTraceparent(attributes);
    checkAttributes(attrs);
    return this.send(topic, Buffer.from(JSON.stringify(parsed.data)), attrs);
  }

  async publishDeadLetter(data: Buffer, attributes: Record<string, string>): Promise<string> {
    // The dead letter must get through even when an attribute is oversized: trim instead of failing.
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(attributes).slice(0, MAX_ATTRIBUTES)) attrs[truncateBytes(k, MAX_KEY_BYTES)] = truncateBytes(v, MAX_VALUE_BYTES);
    return this.send('deadLetter', data, attrs);
  }

  private async send(topic: TopicKey, data: Buffer, attributes: Record<string, string>): Promise<string> {
    try {
      return await this.topic(topic).publishMessage({ data, attributes });
    } catch (err) {
      // NOT_FOUND / PERMISSION_DENIED mean a missing topic or IAM binding: a deployment problem.
      throw gcpError(err, 'config', `publish to ${this.topicId(topic)}`);
    }
  }

  /** Send what is batched and release the clients' channels (tests, shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.topics.values()].map((t) => t.flush()));
  }
}

function checkAttributes(attrs: Record<string, string>): void {
  const entries = Object.entries(attrs);
  if (entries.length > MAX_ATTRIBUTES) throw new TerminalError(`too many message attributes (${entries.length} > ${MAX_ATTRIBUTES})`, 'invalid_message');
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new TerminalError(`message attribute ${k} is not a string`, 'invalid_message');
    if (Buffer.byteLength(k) > MAX_KEY_BYTES || Buffer.byteLength(v) > MAX_VALUE_BYTES)
      throw new TerminalError(`message attribute ${k} exceeds Pub/Sub's size limits`, 'invalid_message');
    // Pub/Sub reserves the goog* prefix for itself.
    if (/^goog/i.test(k)) throw new TerminalError(`message attribute ${k} uses Pub/Sub's reserved goog prefix`, 'invalid_message');
  }
}

function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = s;
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, -1);
  return `${out}...`;
}
