import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { PubSubBus } from '../../shared/adapters/gcp/pubsub-bus';
import { ENV } from '../../shared/contracts/config';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { TOPICS, type TopicKey } from '../../shared/contracts/messages';
import { PipelineError } from '../../shared/errors';
import { startTelemetry } from '../../functions/telemetry';
import { startFakeGcsServer, type FakeGcsServer } from '../support/fake-gcs-server';
import { missingTools, startPubSubEmulator, type Emulator } from '../emulator/support/processes';

/**
 * The Pub/Sub adapter and the fan-out entry point against Google's Pub/Sub emulator (the real
 * gRPC API, run locally by the Google Cloud CLI; needs Java). Started here with a bounded wait and
 * stopped after (test/emulator/support/processes.ts). Without gcloud the suite is skipped LOUDLY:
 * the reason is printed and the skipped test's name says it; with CI=true it fails instead.
 */
const SKIP_REASON = missingTools();
const CI = process.env.CI === 'true';
if (SKIP_REASON && !CI)
  console.warn(
    `\n${'!'.repeat(100)}\n!! SKIPPED: Pub/Sub emulator tests: ${SKIP_REASON}.\n!! Install the Google Cloud CLI with its pubsub-emulator component and Java 17 to run them.\n${'!'.repeat(100)}\n`,
  );
const describeEmulator = SKIP_REASON ? describe.skip : describe;

const PROJECT = 'pec-emulator-test';
const START_TIMEOUT_MS = 90_000;

/** Receive `count` messages (acked) or fail after `timeoutMs`; the subscriber is closed either way. */
async function collect(sub: Subscription, count: number, timeoutMs = 20_000): Promise<Message[]> {
  const got: Message[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${got.length} of ${count} messages`)), timeoutMs);
      sub.on('message', (m: Message) => {
        m.ack();
        got.push(m);
        if (got.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
      sub.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    await sub.close();
  }
  return got;
}

describeEmulator('Pub/Sub adapter against the Pub/Sub emulator', () => {
  let emulator: Emulator;
  let pubsub: PubSub;
  let gcs: FakeGcsServer;
  const prefix = `t${randomBytes(3).toString('hex')}-`;
  const spans = new InMemorySpanExporter();
  const saved = { ...process.env };

  beforeAll(async () => {
    emulator = await startPubSubEmulator(START_TIMEOUT_MS);
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    // No Google metadata server here, and the project is known: without these the auth library
    // probes the metadata server and runs `gcloud config config-helper`, which outlives the test.
    process.env.METADATA_SERVER_DETECTION = 'none';
    process.env.GOOGLE_CLOUD_PROJECT = PROJECT;
    pubsub = new PubSub({ projectId: PROJECT });
    for (const key of Object.keys(TOPICS) as TopicKey[]) await pubsub.createTopic(`${prefix}${TOPICS[key]}`);
    startTelemetry({ service: 'pubsub-emulator-test', projectId: PROJECT, environment: 'test', exporters: { spans } });
    gcs = await startFakeGcsServer();
  }, START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await pubsub?.close();
    await gcs?.close();
    await emulator?.stop();
    process.env = saved;
  });

  const subscribe = async (topic: TopicKey) => {
    const [sub] = await pubsub.topic(`${prefix}${TOPICS[topic]}`).createSubscription(`${prefix}${topic}-${randomBytes(3).toString('hex')}`);
    return sub;
  };

  it('publishes validated messages with attributes, batched, and the active span as traceparent', async () => {
    const bus = new PubSubBus(pubsub, prefix);
    const sub = await subscribe('extractRequests');
    const received = collect(sub, 250);
    const tracer = trace.getTracer('test');
    const span = tracer.startSpan('fan-out');
    const ids = await context.with(trace.setSpan(context.active(), span), () =>
      Promise.all(
        Array.from({ length: 250 }, (_, i) =>
          bus.publish(
            'extractRequests',
            { runId: 'daily-20261122', municipality: '3550308', window: { start: '2026-10-18', end: '2026-11-23' }, trigger: 'daily', continuation: { sequence: (i % 1000) + 1 } },
            { runId: 'daily-20261122' },
          ),
        ),
      ),
    );
    span.end();
    expect(new Set(ids).size).toBe(250);
    const messages = await received;
    expect(messages).toHaveLength(250);
    for (const m of messages) {
      expect(m.attributes).toEqual({ runId: 'daily-20261122', traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01` });
      expect(JSON.parse(m.data.toString())).toMatchObject({ runId: 'daily-20261122', loadWhenDone: false });
    }
  });

  it('refuses an invalid message before it reaches Pub/Sub', async () => {
    const bus = new PubSubBus(pubsub, prefix);
    const sub = await subscribe('loadRequests');
    const err = await bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
    await bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: ['3550308'] });
    const [only] = await collect(sub, 1);
    expect(JSON.parse(only!.data.toString())).toEqual({ runId: 'daily-20261122', municipalities: ['3550308'] });
  });

  it('parks dead letters as received: raw bytes, attributes trimmed to Pub/Sub limits', async () => {
    const bus = new PubSubBus(pubsub, prefix);
    const sub = await subscribe('deadLetter');
    await bus.publishDeadLetter(Buffer.from('{"not":"valid"'), { errorClass: 'invalid_message', errorMessage: 'é'.repeat(2000) });
    const [dl] = await collect(sub, 1);
    expect(dl!.data.toString()).toBe('{"not":"valid"');
    expect(dl!.attributes.errorClass).toBe('invalid_message');
    expect(Buffer.byteLength(dl!.attributes.errorMessage!)).toBeLessThanOrEqual(1024);
  });

  it('attributes exactly at Pub/Sub’s limits are published: 100 of them, a 256-byte key, a 1024-byte value, goog not at the start', async () => {
    const bus = new PubSubBus(pubsub, prefix);
    const sub = await subscribe('loadRequests');
    const attrs: Record<string, string> = Object.fromEntries(Array.from({ length: 97 }, (_, i) => [`a${i}`, 'x']));
    attrs['k'.repeat(256)] = 'v';
    attrs.note = 'é'.repeat(512);
    attrs.notgoog = 'v';
    expect(Object.keys(attrs)).toHaveLength(100);
    await bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: ['3550308'] }, attrs);
    const [m] = await collect(sub, 1);
    expect(m!.attributes).toEqual(attrs);
  });

  it('dead letters keep the first 100 attributes and trim oversized keys and values to the limits, marked with "..."', async () => {
    const bus = new PubSubBus(pubsub, prefix);
    const sub = await subscribe('deadLetter');
    const attrs: Record<string, string> = { ['k'.repeat(300)]: 'long key', exact: 'v'.repeat(1024), over: 'w'.repeat(1025) };
    for (let i = 0; i < 100; i++) attrs[`extra${i}`] = String(i);
    await bus.publishDeadLetter(Buffer.from('raw'), attrs);
    const [dl] = await collect(sub, 1);
    expect(Object.keys(dl!.attributes)).toHaveLength(100);
    expect(dl!.attributes[`${'k'.repeat(253)}...`]).toBe('long key');
    expect(dl!.attributes.exact).toBe('v'.repeat(1024));
    expect(dl!.attributes.over).toBe(`${'w'.repeat(1021)}...`);
    expect(dl!.attributes.extra96).toBe('96');
    expect(dl!.attributes.extra97).toBeUndefined();
  });

  it('batches through one client topic per topic key, with 100 messages / 20 ms / 1 MiB per request', async () => {
    // The emulator does not show how messages were grouped into requests: what the adapter asks the
    // real client for is checked instead (a Proxy records PubSub.topic calls and passes them on).
    const asked: [string, unknown][] = [];
    const recording = new Proxy(pubsub, {
      get: (target, prop, receiver) =>
        prop === 'topic'
          ? (name: string, options: unknown) => {
              asked.push([name, options]);
              return target.topic(name, options as never);
            }
          : Reflect.get(target, prop, receiver),
    });
    const bus = new PubSubBus(recording, prefix);
    const sub = await subscribe('loadRequests');
    const received = collect(sub, 2);
    await bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: ['3550308'] });
    await bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: ['3304557'] });
    expect(await received).toHaveLength(2);
    expect(asked).toEqual([[`${prefix}pec-load-requests`, { batching: { maxMessages: 100, maxMilliseconds: 20, maxBytes: 1024 * 1024 } }]]);
  });

  it('close() sends what is still batched: a message waiting for a long batch window is published by close', async () => {
    const bus = new PubSubBus(pubsub, prefix, { maxMessages: 1_000, maxMilliseconds: 600_000, maxBytes: 1024 * 1024 });
    const sub = await subscribe('loadRequests');
    const received = collect(sub, 1);
    let settled = false;
    const id = bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: ['3550308'] }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toBe(false); // still waiting for its batch to fill
    await bus.close();
    // Without the flush it would wait ten minutes: give it five seconds.
    expect(await Promise.race([id, new Promise((r) => setTimeout(() => r('still batched'), 5_000))])).toMatch(/^\d+$/);
    const [m] = await received;
    expect(JSON.parse(m!.data.toString())).toEqual({ runId: 'daily-20261122', municipalities: ['3550308'] });
  });

  it('a missing topic is a terminal configuration error, named in the message', async () => {
    const bus = new PubSubBus(pubsub, 'no-such-prefix-');
    await expect(bus.publish('loadRequests', { runId: 'daily-20261122', municipalities: ['3550308'] })).rejects.toMatchObject({
      transient: false,
      errorClass: 'config',
      message: expect.stringContaining('no-such-prefix-pec-load-requests'),
    });
  });

  it('the fan-out entry point, as deployed, publishes one extract message per municipality to the emulator', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fan-out-emulator-'));
    fs.writeFileSync(
      path.join(dir, 'municipalities.yaml'),
      ['3550308', '3304557']
        .map((ibge) => `  - ibge: "${ibge}"\n    name: M ${ibge}\n    network: tls\n    connection: { host: pec-${ibge}.example.org, password: { secret: pec-db-${ibge} } }\n`)
        .reduce((a, b) => a + b, 'municipalities:\n'),
    );
    Object.assign(process.env, {
      [ENV.projectId]: PROJECT,
      [ENV.environment]: 'test',
      [ENV.stagingBucket]: 'pec-staging-test',
      [ENV.registryFile]: path.join(dir, 'municipalities.yaml'),
      [ENV.topicPrefix]: prefix,
      STORAGE_EMULATOR_HOST: `${gcs.url}/storage/v1`,
    });
    const sub = await subscribe('extractRequests');
    const received = collect(sub, 2);
    // Loaded into this file's module registry (not an isolated one), so it shares the gRPC library
    // with the test's own client; its environment is set just above, as Cloud Run would set it.
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded after the environment is set, synchronously */
    require('../../functions/fan-out/index');
    const { getTestServer } = require('@google-cloud/functions-framework/testing') as typeof import('@google-cloud/functions-framework/testing');
    const server: http.Server = getTestServer(FUNCTIONS.fanOut.entryPoint);
    /* eslint-enable @typescript-eslint/no-require-imports */
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-id': 'e1',
          'ce-specversion': '1.0',
          'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
          'ce-source': `//pubsub.googleapis.com/projects/${PROJECT}/topics/${prefix}pec-run-requests`,
        },
        body: JSON.stringify({
          message: {
            data: Buffer.from(JSON.stringify({ trigger: 'daily', runDate: '2026-11-22' })).toString('base64'),
            messageId: 'm1',
            attributes: { traceparent: '00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
          },
        }),
      });
      expect(res.status).toBeLessThan(300);
      const messages = await received;
      expect(messages.map((m) => JSON.parse(m.data.toString()).municipality).sort()).toEqual(['3304557', '3550308']);
      // The fan-out span (child of the request's) is the parent the extracts will continue from.
      for (const m of messages) expect(m.attributes.traceparent).toMatch(/^00-5bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
      expect(gcs.objects('pec-staging-test').has('runs/daily-20261122/plan.json')).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

if (SKIP_REASON) {
  describe('Pub/Sub emulator tests', () => {
    if (CI)
      it('need gcloud with the Pub/Sub emulator and Java (CI=true: not skipped)', () => {
        throw new Error(`the Pub/Sub emulator tests cannot run: ${SKIP_REASON}. CI's image must have them.`);
      });
    else it.skip(`SKIPPED: ${SKIP_REASON}`, () => {});
  });
}
