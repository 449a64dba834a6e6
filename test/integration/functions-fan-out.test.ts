import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { loadFunctionConfig } from '../../shared/adapters/gcp/function-config';
import { ExtractRequest } from '../../shared/contracts/messages';
import { TransientError } from '../../shared/errors';
import { layout } from '../../shared/records/layout';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { InProcessBus } from '../../shared/local/in-process-bus';
import { createLogger } from '../../shared/log';
import { loadRegistryFile } from '../../shared/run/registry-file';
import { PlanRecord } from '../../shared/records/run-records';
import { fanOutFunction } from '../../functions/fan-out/function';
import { pubsubPush } from '../../functions/pubsub-push';
import { startTelemetry } from '../../functions/telemetry';

/**
 * The fan-out function served by the functions framework's test server, receiving what Pub/Sub
 * and Eventarc really send: a binary-mode CloudEvent (Cloud Functions 2nd gen), a structured
 * CloudEvent, and a raw Pub/Sub push envelope. Local stand-ins for the bucket (FsObjectStore) and
 * the topics (InProcessBus, which validates every message against its topic's contract); the
 * OpenTelemetry SDK registered as the entry point does, with in-memory exporters.
 */
const PROJECT = 'pec-pipeline-test';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const REGISTRY_YAML = `
municipalities:
  - ibge: "3550308"
    name: São Paulo
    cohort: capitals
    network: tls
    connection: { host: pec-sp.example.org, password: { secret: pec-db-3550308 } }
  - ibge: "3304557"
    name: Rio de Janeiro
    cohort: capitals
    network: tls
    connection: { host: pec-rj.example.org, password: { secret: pec-db-3304557 } }
  - ibge: "3509502"
    name: Campinas
    network: tls
    connection: { host: pec-cps.example.org, password: { secret: pec-db-3509502 } }
  - ibge: "4106902"
    name: Curitiba
    network: tls
    enabled: false
    connection: { host: pec-cwb.example.org, password: { secret: pec-db-4106902 } }
`;

let seq = 0;
function pubsubData(payload: unknown, attributes: Record<string, string> = {}, deliveryAttempt?: number) {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(JSON.stringify(payload));
  return {
    message: { data: data.toString('base64'), attributes, messageId: `msg-${++seq}`, publishTime: '2026-11-22T09:00:00.000Z' },
    subscription: `projects/${PROJECT}/subscriptions/pec-run-requests-fan-out`,
    ...(deliveryAttempt ? { deliveryAttempt } : {}),
  };
}

describe('fan-out function over HTTP', () => {
  let dir: string;
  let bus: InProcessBus;
  let server: http.Server;
  let base: string;
  const spans = new InMemorySpanExporter();
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const logLines: Record<string, unknown>[] = [];
  let failPublish = false;
  let telemetry: ReturnType<typeof startTelemetry>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fan-out-'));
    fs.writeFileSync(path.join(dir, 'municipalities.yaml'), REGISTRY_YAML);
    const env = {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PIPELINE_ENV: 'test',
      STAGING_BUCKET: 'pec-staging-test',
      MUNICIPALITY_REGISTRY_FILE: path.join(dir, 'municipalities.yaml'),
      RUN_LOOKBACK_DAYS: '35',
    };
    const config = loadFunctionConfig('fanOut', env);
    telemetry = startTelemetry({ service: 'fan-out', projectId: PROJECT, environment: 'test', exporters: { spans, metrics } });
    bus = new InProcessBus(PROJECT);
    const realPublish = bus.publish.bind(bus);
    bus.publish = async (topic, payload, attributes) => {
      if (failPublish) throw new TransientError('Pub/Sub unavailable (gRPC status 14)', 'internal');
      return realPublish(topic, payload, attributes);
    };
    const logger = createLogger({
      service: 'fan-out',
      projectId: PROJECT,
      destination: new Writable({ write: (c, _e, cb) => (logLines.push(JSON.parse(String(c))), cb()) }),
    });
    // Registered as functions/fan-out/index.ts registers it: an HTTP function reading push bodies itself.
    ff.http(
      'fanOut',
      pubsubPush(
        fanOutFunction(
          config,
          {
            store: new FsObjectStore(path.join(dir, 'bucket')),
            bus,
            clock: { now: () => new Date('2026-11-22T09:00:00Z') },
            logger,
            registry: loadRegistryFile(config.registryFile),
          },
          { afterInvocation: telemetry.flush },
        ),
      ),
    );
    server = getTestServer('fanOut');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    bus.published.length = 0;
    bus.deadLetters.length = 0;
  });

  /** Binary content mode: what Eventarc delivers to a 2nd-gen function with a Pub/Sub trigger. */
  const postBinary = (data: unknown, id = `evt-${++seq}`) =>
    fetch(base, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': id,
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${PROJECT}/topics/pec-run-requests`,
        'ce-time': '2026-11-22T09:00:00.000Z',
      },
      body: JSON.stringify(data),
    });
  const extracts = () => bus.published.filter((m) => m.topic === 'extractRequests');
  const readPlan = (runId: string) => PlanRecord.parse(JSON.parse(fs.readFileSync(path.join(dir, 'bucket', layout.plan(runId)), 'utf8')));

  it('binary CloudEvent: one valid extract message per enabled municipality, the plan in the bucket, traceparent carried on', async () => {
    const res = await postBinary(pubsubData({ trigger: 'daily', runDate: '2026-11-22' }, { traceparent: PARENT, requestedBy: 'scheduler' }, 1));
    expect(res.status).toBeLessThan(300);
    const sent = extracts();
    expect(sent.map((m) => ExtractRequest.parse(JSON.parse(m.data.toString())).municipality).sort()).toEqual(['3304557', '3509502', '3550308']);
    for (const m of sent) {
      expect(JSON.parse(m.data.toString())).toMatchObject({ runId: 'daily-20261122', window: { start: '2026-10-18', end: '2026-11-23' }, trigger: 'daily', loadWhenDone: false });
      expect(m.attributes).toMatchObject({ runId: 'daily-20261122', requestedBy: 'scheduler' });
    }
    expect(readPlan('daily-20261122')).toMatchObject({ runId: 'daily-20261122', trigger: 'daily', municipalities: ['3550308', '3304557', '3509502'] });

    // One trace: the function's span is the child of the publisher's, and the logs carry its ids.
    const span = spans.getFinishedSpans().find((s) => s.name === 'fan-out process')!;
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span.attributes).toMatchObject({ 'messaging.system': 'gcp_pubsub', 'messaging.gcp_pubsub.message.delivery_attempt': 1 });
    const line = logLines.find((l) => l.message === 'run fanned out')!;
    expect(line['logging.googleapis.com/trace']).toBe(`projects/${PROJECT}/traces/${TRACE_ID}`);
    expect(line['logging.googleapis.com/spanId']).toBe(span.spanContext().spanId);
    expect(line.severity).toBe('INFO');
  });

  it('raw Pub/Sub push body and structured CloudEvent are accepted too; a redelivered rerun request maps to the same run', async () => {
    const push = pubsubData({ trigger: 'rerun', municipalities: ['3550308'], runDate: '2026-11-22' });
    const res = await fetch(`${base}/projects/${PROJECT}/topics/pec-run-requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(push) });
    expect(res.status).toBeLessThan(300);
    const first = JSON.parse(extracts()[0]!.data.toString());
    expect(first).toMatchObject({ trigger: 'rerun', municipality: '3550308', loadWhenDone: true });
    expect(first.runId).toMatch(/^rerun-20261122-[0-9a-f]{8}$/);

    // The same message delivered again (same messageId) as a structured CloudEvent.
    bus.published.length = 0;
    const structured = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'evt-redelivered',
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/pec-run-requests`,
        datacontenttype: 'application/json',
        data: push,
      }),
    });
    expect(structured.status).toBeLessThan(300);
    expect(JSON.parse(extracts()[0]!.data.toString()).runId).toBe(first.runId);
    expect(readPlan(first.runId).municipalities).toEqual(['3550308']);
  });

  it('dispatch "caller": only the plan is written; the workflow publishes the extract messages itself', async () => {
    const res = await postBinary(pubsubData({ trigger: 'daily', runDate: '2026-11-25', dispatch: 'caller' }));
    expect(res.status).toBeLessThan(300);
    expect(extracts()).toEqual([]);
    expect(readPlan('daily-20261125').municipalities).toEqual(['3550308', '3304557', '3509502']);
  });

  it('a message that breaks its contract is acknowledged and dead-lettered with the reason, never retried', async () => {
    const res = await postBinary(pubsubData({ trigger: 'daily', municipality: '3550308' }));
    expect(res.status).toBeLessThan(300);
    expect(extracts()).toEqual([]);
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]!.attributes).toMatchObject({ errorClass: 'invalid_message', sourceHandler: 'fan-out' });
    expect(bus.deadLetters[0]!.attributes.errorMessage).toMatch(/Unrecognized key/);

    const notJson = await postBinary(pubsubData('{"trigger":'));
    expect(notJson.status).toBeLessThan(300);
    expect(bus.deadLetters[1]!.attributes.errorMessage).toMatch(/not JSON/);

    const unknown = await postBinary(pubsubData({ trigger: 'rerun', municipalities: ['4106902'] }));
    expect(unknown.status).toBeLessThan(300);
    expect(bus.deadLetters[2]!.attributes).toMatchObject({ errorClass: 'unknown_municipality' });
  });

  /** What a push subscription POSTs: the push body, at the path infra-cdktf configures. */
  const postPush = (body: unknown) =>
    fetch(`${base}/projects/${PROJECT}/topics/pec-run-requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('a push with attributes and no data is acknowledged (2xx) and dead-lettered with the reason, not retried', async () => {
    // Real Pub/Sub omits `data`; the emulator sends "". Both are the same message.
    for (const message of [
      { attributes: { requestedBy: 'scheduler' }, messageId: 'no-data-1', publishTime: '2026-11-22T09:00:00.000Z' },
      { data: '', attributes: { requestedBy: 'scheduler' }, messageId: 'no-data-2', message_id: 'no-data-2', publishTime: '2026-11-22T09:00:00.000Z' },
    ]) {
      bus.deadLetters.length = 0;
      const res = await postPush({ message, subscription: `projects/${PROJECT}/subscriptions/pec-run-requests-fan-out`, deliveryAttempt: 1 });
      expect(res.status).toBe(204);
      expect(extracts()).toEqual([]);
      expect(bus.deadLetters).toHaveLength(1);
      expect(bus.deadLetters[0]!.data.length).toBe(0);
      expect(bus.deadLetters[0]!.attributes).toMatchObject({
        requestedBy: 'scheduler',
        errorClass: 'invalid_message',
        errorMessage: 'message has no data (attributes only: requestedBy)',
        sourceHandler: 'fan-out',
        originalMessageId: message.messageId,
      });
    }
  });

  it('the delivery attempt of the push body reaches the handler: log lines, span and dead letter carry it', async () => {
    logLines.length = 0;
    const res = await postPush(pubsubData({ trigger: 'daily', municipality: '3550308' }, {}, 4));
    expect(res.status).toBe(204);
    const line = logLines.find((l) => l.message === 'fan-out failed (terminal): dead-lettered, not retried')!;
    expect(line).toMatchObject({ deliveryAttempt: 4, errorClass: 'invalid_message' });
    expect(bus.deadLetters[0]!.attributes).toMatchObject({ deliveryAttempt: '4' });
    const span = spans
      .getFinishedSpans()
      .filter((s) => s.name === 'fan-out process')
      .at(-1)!;
    expect(span.attributes['messaging.gcp_pubsub.message.delivery_attempt']).toBe(4);
    // Acked, but not a success: the span says so.
    expect(span.attributes['pipeline.outcome']).toBe('dead_lettered');
    expect(span.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'dead_lettered' });

    // A transient failure on the 7th delivery: the WARNING line says which attempt it was.
    failPublish = true;
    try {
      const retried = await postPush(pubsubData({ trigger: 'daily', runDate: '2026-11-26' }, {}, 7));
      expect(retried.status).toBe(500);
    } finally {
      failPublish = false;
    }
    expect(logLines.find((l) => l.message === 'fan-out failed (transient): Pub/Sub will redeliver')).toMatchObject({ deliveryAttempt: 7, errorClass: 'internal' });
  });

  it('a body that is not a Pub/Sub push is acknowledged and dead-lettered with the reason', async () => {
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hello: 'world' }) });
    expect(res.status).toBe(204);
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]!.attributes.errorMessage).toMatch(/^not a Pub\/Sub message event: message: /);
  });

  it('a transient failure answers 500, so Pub/Sub redelivers', async () => {
    failPublish = true;
    try {
      const res = await postBinary(pubsubData({ trigger: 'daily', runDate: '2026-11-23' }));
      expect(res.status).toBe(500);
      expect(bus.deadLetters).toEqual([]);
    } finally {
      failPublish = false;
    }
  });

  it('records step durations by outcome as OpenTelemetry metrics', async () => {
    await postBinary(pubsubData({ trigger: 'daily', runDate: '2026-11-24' }));
    // Flushes after invocations are throttled (Cloud Monitoring's 5 s per series): shut down to export all.
    await telemetry.shutdown();
    const points = metrics
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.descriptor.name === 'pipeline.step.duration')
      .flatMap((m) => m.dataPoints.map((p) => p.attributes));
    // The handler's own outcome: earlier tests dead-lettered bad requests (acked, 2xx) and had a publish fail (500, redelivered).
    expect(points).toEqual(
      expect.arrayContaining([
        { stage: 'fan-out', outcome: 'ok' },
        { stage: 'fan-out', outcome: 'retried' },
        { stage: 'fan-out', outcome: 'dead_lettered' },
      ]),
    );
    expect(new Set(points.map((p) => p.outcome))).toEqual(new Set(['ok', 'retried', 'dead_lettered']));
  });
});
