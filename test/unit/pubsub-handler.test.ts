import { Writable } from 'node:stream';
import { z } from 'zod';
import { PUBSUB_EVENT_TYPE, type PubsubCloudEvent } from '../../shared/contracts/pubsub';
import { TerminalError, TransientError } from '../../shared/errors';
import { pubsubHandler, type MessageContext } from '../../shared/handlers/pubsub-handler';
import { createLogger } from '../../shared/log';
import type { Bus } from '../../shared/ports';

/** The envelope and outcome rules every Pub/Sub function shares, on hand-made events. */
describe('pubsubHandler', () => {
  const deadLetters: { data: Buffer; attributes: Record<string, string> }[] = [];
  const lines: Record<string, unknown>[] = [];
  const bus: Bus = {
    publish: async () => 'id',
    publishDeadLetter: async (data, attributes) => {
      deadLetters.push({ data, attributes });
      return 'dl';
    },
  };
  const logger = createLogger({ service: 'test', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  let seen: { payload: unknown; ctx: MessageContext }[] = [];
  let fail: Error | undefined;
  const handler = pubsubHandler({
    name: 'probe',
    schema: z.strictObject({ n: z.number() }),
    bus,
    logger,
    run: async (payload, ctx) => {
      seen.push({ payload, ctx });
      if (fail) throw fail;
    },
  });
  const event = (data: unknown, id = 'evt-1'): PubsubCloudEvent => ({ id, type: PUBSUB_EVENT_TYPE, source: '//pubsub.googleapis.com/projects/p/topics/t', data });
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

  beforeEach(() => {
    deadLetters.length = 0;
    lines.length = 0;
    seen = [];
    fail = undefined;
  });

  it("passes the payload, attributes and the push body's delivery attempt to the use case and its log lines", async () => {
    fail = new TerminalError('refused', 'source_auth');
    await expect(
      handler(event({ message: { data: b64({ n: 1 }), attributes: { a: 'b' }, messageId: 'm1' }, subscription: 'projects/p/subscriptions/s', deliveryAttempt: 6 })),
    ).resolves.toBe('dead_lettered');
    expect(seen[0]).toMatchObject({ payload: { n: 1 }, ctx: { messageId: 'm1', attributes: { a: 'b' }, deliveryAttempt: 6 } });
    expect(lines.find((l) => l.severity === 'ERROR')).toMatchObject({ deliveryAttempt: 6, messageId: 'm1', errorClass: 'source_auth' });
    expect(deadLetters[0]!.attributes).toMatchObject({ a: 'b', errorClass: 'source_auth', deliveryAttempt: '6', originalMessageId: 'm1' });
  });

  it('without a dead-letter policy there is no deliveryAttempt: it counts as the first', async () => {
    await expect(handler(event({ message: { data: b64({ n: 2 }), messageId: 'm2' } }))).resolves.toBe('ok');
    expect(seen[0]!.ctx.deliveryAttempt).toBe(1);
  });

  it('attributes and no data: dead-lettered with the reason, never thrown (a throw is a 500 and a retry)', async () => {
    for (const message of [
      { attributes: { k: 'v' }, messageId: 'm3' },
      { data: '', attributes: { k: 'v' }, messageId: 'm3' },
    ]) {
      deadLetters.length = 0;
      await expect(handler(event({ message }))).resolves.toBe('dead_lettered');
      expect(deadLetters).toEqual([
        {
          data: Buffer.alloc(0),
          attributes: expect.objectContaining({ k: 'v', errorClass: 'invalid_message', errorMessage: 'message has no data (attributes only: k)', originalMessageId: 'm3' }),
        },
      ]);
    }
    expect(seen).toEqual([]);
  });

  it('a push body handed over as the event itself (no CloudEvent data) is still read as one', async () => {
    const raw = { message: { attributes: { k: 'v' }, messageId: 'm4' }, subscription: 'projects/p/subscriptions/s', deliveryAttempt: 2 } as unknown as PubsubCloudEvent;
    await expect(handler(raw)).resolves.toBe('dead_lettered');
    expect(deadLetters[0]!.attributes).toMatchObject({ errorMessage: 'message has no data (attributes only: k)', originalMessageId: 'm4', deliveryAttempt: '2' });
  });

  it('an event that is no Pub/Sub message at all: dead-lettered naming the problem, every attribute a string', async () => {
    await expect(handler({ id: undefined, type: 'x', source: 'y' } as unknown as PubsubCloudEvent)).resolves.toBe('dead_lettered');
    expect(deadLetters[0]!.attributes.errorMessage).toMatch(/^not a Pub\/Sub message event: /);
    expect(Object.values(deadLetters[0]!.attributes).every((v) => typeof v === 'string')).toBe(true);
  });

  it('a transient failure is rethrown (500: Pub/Sub redelivers) and not dead-lettered', async () => {
    fail = new TransientError('connection refused', 'source_unreachable');
    await expect(handler(event({ message: { data: b64({ n: 3 }), messageId: 'm5' }, deliveryAttempt: 3 }))).rejects.toBe(fail);
    expect(deadLetters).toEqual([]);
    expect(lines.find((l) => l.severity === 'WARNING')).toMatchObject({ deliveryAttempt: 3, errorClass: 'source_unreachable' });
  });
});
