import { z } from 'zod';

/**
 * The transport wrapper around a payload: a CloudEvent of type
 * google.cloud.pubsub.topic.v1.messagePublished, as Cloud Functions (2nd gen) receive it and as the
 * local bus builds it. The envelope is stripped before the payload's own contract runs.
 */
export const PUBSUB_EVENT_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

export const MessagePublishedData = z.object({
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
  /** Set by Pub/Sub when the subscription has a dead-letter policy. */
  deliveryAttempt: z.number().int().optional(),
});
export type MessagePublishedData = z.infer<typeof MessagePublishedData>;

/** The CloudEvent fields the handlers read (the functions framework passes more). */
export interface PubsubCloudEvent {
  id: string;
  type: string;
  source: string;
  specversion?: string;
  time?: string;
  data?: unknown;
}

/**
 * The attributes Pub/Sub itself adds when it forwards a message to a subscription's dead-letter
 * topic after `maxDeliveryAttempts` failed deliveries (seen on Google's emulator, test/emulator).
 * A message the handler parks itself (terminal failure) carries the handler's attributes instead:
 * errorClass, errorMessage, sourceHandler, originalMessageId, deliveryAttempt.
 */
/**
 * Attributes the pipeline's publishers put on run, extract and load messages (besides `traceparent`,
 * shared/observability/trace-context.ts): the run a message belongs to, to find a run's messages in
 * the console and the dead-letter topic, and who published it. For people: no handler decides on them.
 */
export const MESSAGE_ATTRIBUTE = { runId: 'runId', publisher: 'publisher' } as const;

/** Values of the `publisher` attribute. */
export const PUBLISHER = { workflow: 'daily-workflow', cli: 'npm-run' } as const;

/** Attributes the pipeline's handlers add to a message they dead-letter themselves (terminal failures). */
export const HANDLER_DEAD_LETTER_ATTRIBUTES = {
  errorClass: 'errorClass',
  errorMessage: 'errorMessage',
  sourceHandler: 'sourceHandler',
  originalMessageId: 'originalMessageId',
  deliveryAttempt: 'deliveryAttempt',
} as const;

export const PUBSUB_DEAD_LETTER_ATTRIBUTES = {
  deliveryCount: 'CloudPubSubDeadLetterSourceDeliveryCount',
  subscription: 'CloudPubSubDeadLetterSourceSubscription',
  subscriptionProject: 'CloudPubSubDeadLetterSourceSubscriptionProject',
  topicPublishTime: 'CloudPubSubDeadLetterSourceTopicPublishTime',
} as const;
