import { PubSub } from '@google-cloud/pubsub';
import { PubSubBus } from '../../shared/adapters/gcp/pubsub-bus';
import { MESSAGE_ATTRIBUTE, PUBLISHER } from '../../shared/contracts/pubsub';

/**
 * Publishes run requests to the deployed run-requests topic (`npm run rerun|backfill -- --cloud`).
 * The bus validates each one against the RunRequest contract before it leaves this machine;
 * credentials are the caller's Application Default Credentials (`gcloud auth application-default login`).
 */
export async function publishRunRequests(requests: unknown[], target: { projectId: string; topicPrefix: string }): Promise<string[]> {
  const pubsub = new PubSub({ projectId: target.projectId });
  try {
    const bus = new PubSubBus(pubsub, target.topicPrefix);
    const ids: string[] = [];
    for (const r of requests) ids.push(await bus.publish('runRequests', r, { [MESSAGE_ATTRIBUTE.publisher]: PUBLISHER.cli }));
    return ids;
  } finally {
    await pubsub.close();
  }
}
