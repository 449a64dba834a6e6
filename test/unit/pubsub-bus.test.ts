import { PubSub } from '@google-cloud/pubsub';
import { PubSubBus } from '../../shared/adapters/gcp/pubsub-bus';
import { PipelineError } from '../../shared/errors';

/**
 * What the Pub/Sub adapter refuses before any request leaves: Pub/Sub's documented attribute
 * limits (https://cloud.google.com/pubsub/quotas#resource_limits) and its reserved `goog` prefix,
 * and topics without a message contract. The client is the real one, pointed at a closed port: a
 * refused message never reaches it (what is accepted, and what Pub/Sub then holds, is
 * test/integration/pubsub-emulator.test.ts).
 */
const pubsub = new PubSub({ projectId: 'pec-unit-test', apiEndpoint: '127.0.0.1:1' });
const bus = new PubSubBus(pubsub, 'pec-');
const LOAD = { runId: 'daily-20261122', municipalities: ['3550308'] };

async function refusal(attributes: Record<string, string>, topic: 'loadRequests' | 'deadLetter' = 'loadRequests', payload: unknown = LOAD): Promise<PipelineError> {
  const err = await bus.publish(topic, payload, attributes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipelineError);
  return err as PipelineError;
}

afterAll(() => pubsub.close());

test('topic ids are the deployment prefix + the contract base name', () => {
  expect(bus.topicId('loadRequests')).toBe('pec-pec-load-requests');
  expect(new PubSubBus(pubsub, '').topicId('deadLetter')).toBe('pec-dead-letter');
});

test('more than 100 attributes: refused, terminal, with the count', async () => {
  const attrs = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 'x']));
  const err = await refusal(attrs);
  expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
  expect(err.message).toBe('too many message attributes (101 > 100)');
});

test('a key over 256 bytes or a value over 1024 bytes: refused, naming the attribute', async () => {
  expect((await refusal({ ['k'.repeat(257)]: 'v' })).message).toMatch(/^message attribute k+ exceeds Pub\/Sub's size limits$/);
  // Bytes, not characters: 513 two-byte characters are 1026 bytes.
  const err = await refusal({ note: 'é'.repeat(513) });
  expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
  expect(err.message).toBe("message attribute note exceeds Pub/Sub's size limits");
});

test('a non-string value (from untyped code) is refused', async () => {
  const err = await refusal({ count: 3 as unknown as string });
  expect(err.message).toBe('message attribute count is not a string');
  expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
});

test('the goog prefix is Pub/Sub’s own, in any case (goog elsewhere in a key is accepted: pubsub-emulator.test.ts)', async () => {
  for (const key of ['googTrace', 'GOOG-x', 'goog']) {
    const err = await refusal({ [key]: 'v' });
    expect(err.message).toBe(`message attribute ${key} uses Pub/Sub's reserved goog prefix`);
    expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
  }
});

test('raw bytes go through publishDeadLetter only: publish refuses a topic without a contract', async () => {
  const err = await refusal({}, 'deadLetter', { any: 'thing' });
  expect(err).toMatchObject({ transient: false, errorClass: 'internal' });
  expect(err.message).toBe('topic deadLetter has no message contract: use publishDeadLetter for raw bytes');
});

test('an invalid payload is refused with the contract’s issues, before the attributes are looked at', async () => {
  const err = await refusal({ googBad: 'v' }, 'loadRequests', { runId: 'daily-20261122', municipalities: [] });
  expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
  expect(err.message).toMatch(/^refusing to publish an invalid loadRequests message: .*municipalities/);
});
