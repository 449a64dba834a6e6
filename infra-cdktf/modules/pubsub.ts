import { DELIVERY } from '../../shared/contracts/functions';
import { TOPICS, type TopicKey } from '../../shared/contracts/messages';
import { PubsubSubscription, PubsubTopic } from '../google';
import { grant } from '../iam';
import { iamCtx, type StackContext } from './context';

export interface Topics {
  topics: Record<TopicKey, PubsubTopic>;
  /** Pull subscription that keeps dead-lettered messages for inspection and replay; alerts watch its backlog. */
  deadLetterHold: PubsubSubscription;
  /** Pub/Sub's service agent: forwards to the dead-letter topic and signs push requests. */
  pubsubAgent: string;
}

export const DEAD_LETTER_RETENTION = `${DELIVERY.deadLetterRetentionSeconds}s`;

export function topics(ctx: StackContext): Topics {
  const topics = Object.fromEntries(
    (Object.keys(TOPICS) as TopicKey[]).map((key) => [
      key,
      new PubsubTopic(ctx.scope, `topic-${TOPICS[key]}`, {
        project: ctx.config.projectId,
        name: ctx.names.topic(key),
        // Messages name municipalities and runs: keep them at rest in Brazil only.
        messageStoragePolicy: { allowedPersistenceRegions: [ctx.config.region] },
      }),
    ]),
  ) as Record<TopicKey, PubsubTopic>;

  const deadLetterHold = new PubsubSubscription(ctx.scope, 'subscription-dead-letter-hold', {
    project: ctx.config.projectId,
    name: ctx.names.deadLetterHold,
    topic: topics.deadLetter.id,
    // The end of the line: nothing is pushed, an operator pulls, reads and republishes or acks.
    ackDeadlineSeconds: 60,
    messageRetentionDuration: DEAD_LETTER_RETENTION,
    retainAckedMessages: false,
    // Subscriptions without activity expire after 31 days by default: this one must never disappear.
    expirationPolicy: { ttl: '' },
  });

  const pubsubAgent = `serviceAccount:service-${ctx.project.number}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  // Dead-lettering is done by Pub/Sub itself, as its service agent: it must be able to publish there.
  grant(ctx.scope, 'pubsub-agent', pubsubAgent, [{ on: 'topic', topic: topics.deadLetter, role: 'roles/pubsub.publisher' }], iamCtx(ctx));
  return { topics, deadLetterHold, pubsubAgent };
}
