import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { Client } from 'pg';
import { loadFunctionConfig } from '../../shared/adapters/gcp/function-config';
import { Manifest } from '../../shared/contracts/manifest';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { PSEUDONYM_PATTERN, TableRegistry } from '../../shared/contracts/tables';
import { layout } from '../../shared/records/layout';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { InProcessBus, type DeliveredMessage } from '../../shared/local/in-process-bus';
import { LocalSecrets } from '../../shared/local/secrets';
import { silentLogger } from '../../shared/log';
import { runStatus } from '../../shared/run/run-status';
import { writePlan } from '../../shared/records/run-records';
import { extractFunction } from '../../functions/extract/function';
import { loadFunction } from '../../functions/load/function';
import { startTelemetry } from '../../functions/telemetry';

/**
 * The extract and load functions as Cloud Functions run them, served by the functions framework's
 * test server and fed Pub/Sub CloudEvents, over a real PostgreSQL source (the test server started
 * by jest's global setup), with local stand-ins for the bucket (FsObjectStore), the topics
 * (InProcessBus) and the warehouse (DuckDB). The test plays Pub/Sub: it delivers every message a
 * function publishes (continuations, load requests) back to the functions as new events.
 */
const PROJECT = 'pec-pipeline-test';
const SP = { ibge: '3550308', id: 11 };
const RJ = { ibge: '3304557', id: 12 };
const WINDOW = { start: '2026-10-01', end: '2026-11-23' };

// A small registry of the same shape as the PEC's: two windowed facts, two full-refresh tables.
const TABLES = TableRegistry.parse([
  {
    name: 'tb_dim_municipio',
    description: 'municipalities',
    primaryKey: ['co_seq_dim_municipio'],
    municipality: { kind: 'installation' },
    mode: { kind: 'full' },
    columns: [
      { name: 'co_seq_dim_municipio', type: 'bigint' },
      { name: 'co_ibge', type: 'text' },
      { name: 'no_municipio', type: 'text' },
    ],
  },
  {
    name: 'tb_dim_equipe',
    description: 'teams',
    primaryKey: ['co_seq_dim_equipe'],
    municipality: { kind: 'installation' },
    mode: { kind: 'full' },
    columns: [
      { name: 'co_seq_dim_equipe', type: 'bigint' },
      { name: 'no_equipe', type: 'text' },
    ],
  },
  {
    name: 'tb_fat_atendimento_individual',
    description: 'consultations',
    primaryKey: ['co_seq_fat'],
    municipality: { kind: 'column', column: 'co_dim_municipio' },
    mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
    columns: [
      { name: 'co_seq_fat', type: 'bigint' },
      { name: 'co_dim_municipio', type: 'bigint' },
      { name: 'co_dim_tempo', type: 'bigint' },
      { name: 'nu_cns', type: 'text', pii: { kind: 'cns', policy: 'hash' } },
      { name: 'ds_nota', type: 'text' },
      { name: 'nu_peso', type: 'numeric' },
    ],
  },
  {
    name: 'tb_fat_vacinacao',
    description: 'vaccinations',
    primaryKey: ['co_seq_fat'],
    municipality: { kind: 'column', column: 'co_dim_municipio' },
    mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
    columns: [
      { name: 'co_seq_fat', type: 'bigint' },
      { name: 'co_dim_municipio', type: 'bigint' },
      { name: 'co_dim_tempo', type: 'bigint' },
    ],
  },
]);

async function seedSource(c: Client): Promise<void> {
  await c.query(`
    CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint PRIMARY KEY, co_ibge text, no_municipio text);
    INSERT INTO tb_dim_municipio VALUES (${SP.id}, '${SP.ibge}', 'São Paulo'), (${RJ.id}, '${RJ.ibge}', 'Rio de Janeiro');
    CREATE TABLE tb_dim_equipe (co_seq_dim_equipe bigint PRIMARY KEY, no_equipe text);
    INSERT INTO tb_dim_equipe VALUES (1, 'ESF "Centro"'), (2, ''), (3, NULL);
    CREATE TABLE tb_fat_atendimento_individual (co_seq_fat bigint PRIMARY KEY, co_dim_municipio bigint, co_dim_tempo bigint, nu_cns text, ds_nota text, nu_peso numeric);
    INSERT INTO tb_fat_atendimento_individual
      SELECT g, CASE WHEN g % 3 = 0 THEN ${RJ.id} ELSE ${SP.id} END, to_char(DATE '2026-08-01' + (g % 110), 'YYYYMMDD')::bigint,
             lpad(g::text, 15, '7'), CASE WHEN g % 7 = 0 THEN E'two\\nlines, "quoted"' WHEN g % 5 = 0 THEN '' ELSE NULL END, g / 10.0
      FROM generate_series(1, 600) g;
    CREATE TABLE tb_fat_vacinacao (co_seq_fat bigint PRIMARY KEY, co_dim_municipio bigint, co_dim_tempo bigint);
    INSERT INTO tb_fat_vacinacao SELECT g, CASE WHEN g % 2 = 0 THEN ${RJ.id} ELSE ${SP.id} END, to_char(DATE '2026-10-01' + (g % 60), 'YYYYMMDD')::bigint FROM generate_series(1, 300) g;
  `);
}

describe('extract and load functions over HTTP, on a real PostgreSQL source', () => {
  const db = `fx_functions_${randomBytes(4).toString('hex')}`;
  let admin: Client;
  let source: Client;
  let dir: string;
  let bus: InProcessBus;
  let store: FsObjectStore;
  let warehouse: DuckDbWarehouse;
  let extractUrl: string;
  let loadUrl: string;
  const servers: http.Server[] = [];
  const spans = new InMemorySpanExporter();
  let msgSeq = 0;

  beforeAll(async () => {
    const url = new URL(process.env.PIPELINE_TEST_PG_URL!);
    admin = new Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    url.pathname = `/${db}`;
    source = new Client({ connectionString: url.toString() });
    await source.connect();
    await seedSource(source);

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'functions-extract-load-'));
    const connection = (password: string) => ({ host: '127.0.0.1', port: Number(url.port), database: db, user: 'postgres', password: { env: password } });
    const registry = MunicipalityRegistry.parse({
      municipalities: [
        { ibge: SP.ibge, name: 'São Paulo', network: 'vpn', connection: connection('FX_PG_PASSWORD'), installation: 'fx' },
        { ibge: RJ.ibge, name: 'Rio de Janeiro', network: 'vpn', connection: connection('FX_PG_PASSWORD'), installation: 'fx' },
        // Refused credentials: terminal. A closed port: transient.
        { ibge: '4106902', name: 'Curitiba', network: 'vpn', connection: connection('FX_WRONG_PASSWORD') },
        { ibge: '3509502', name: 'Campinas', network: 'vpn', connection: { ...connection('FX_PG_PASSWORD'), port: 1 } },
      ],
    });
    const env = {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PIPELINE_ENV: 'test',
      STAGING_BUCKET: 'pec-staging-test',
      PSEUDONYM_KEY_SECRET: 'pec-pseudonym-key',
      // One table per invocation: every table after the first goes through a continuation message.
      EXTRACT_TIME_BUDGET_MS: '1',
      EXTRACT_CONNECT_TIMEOUT_MS: '2000',
    };
    const telemetry = startTelemetry({ service: 'extract', projectId: PROJECT, environment: 'test', exporters: { spans } });
    store = new FsObjectStore(path.join(dir, 'bucket'));
    bus = new InProcessBus(PROJECT);
    const secrets = new LocalSecrets(path.join(dir, 'secrets'), { FX_PG_PASSWORD: 'test-superuser', FX_WRONG_PASSWORD: 'not-the-password' });
    const clock = { now: () => new Date() };
    ff.cloudEvent(
      'extract',
      extractFunction(loadFunctionConfig('extract', env), { store, bus, secrets, clock, logger: silentLogger, registry, tables: TABLES }, { afterInvocation: telemetry.flush }),
    );
    warehouse = await DuckDbWarehouse.open(path.join(dir, 'warehouse.duckdb'));
    ff.cloudEvent(
      'load',
      loadFunction(loadFunctionConfig('load', env), { store, bus, warehouse, clock, logger: silentLogger, tables: TABLES }, { afterInvocation: telemetry.flush }),
    );
    for (const name of ['extract', 'load']) {
      const server = getTestServer(name);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
    }
    extractUrl = `http://127.0.0.1:${(servers[0]!.address() as AddressInfo).port}`;
    loadUrl = `http://127.0.0.1:${(servers[1]!.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    warehouse?.close();
    await source?.end();
    await admin?.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin?.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Deliver like Eventarc: a binary-mode CloudEvent carrying the Pub/Sub message. */
  async function deliver(url: string, payload: unknown, attributes: Record<string, string> = {}): Promise<number> {
    const id = `m-${++msgSeq}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': id,
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${PROJECT}/topics/t`,
      },
      body: JSON.stringify({
        message: { data: Buffer.from(JSON.stringify(payload)).toString('base64'), attributes, messageId: id },
        subscription: `projects/${PROJECT}/subscriptions/s`,
        deliveryAttempt: 1,
      }),
    });
    return res.status;
  }
  const taken = new Set<DeliveredMessage>();
  /** Messages published since the last call on `topic`. */
  function take(topic: DeliveredMessage['topic']): DeliveredMessage[] {
    const fresh = bus.published.filter((m) => m.topic === topic && !taken.has(m));
    fresh.forEach((m) => taken.add(m));
    return fresh;
  }
  /** Deliver an extract request, then each continuation it publishes, until none is left. */
  async function extractUntilDone(req: Record<string, unknown>, attributes: Record<string, string> = {}): Promise<{ invocations: number; continuations: DeliveredMessage[] }> {
    let invocations = 0;
    const continuations: DeliveredMessage[] = [];
    let next: { payload: unknown; attributes: Record<string, string> } | undefined = { payload: req, attributes };
    while (next && invocations < 20) {
      expect(await deliver(extractUrl, next.payload, next.attributes)).toBeLessThan(300);
      invocations++;
      const more = take('extractRequests');
      continuations.push(...more);
      next = more[0] ? { payload: JSON.parse(more[0].data.toString()), attributes: more[0].attributes } : undefined;
    }
    return { invocations, continuations };
  }
  const readManifest = (runId: string, ibge: string) => Manifest.parse(JSON.parse(fs.readFileSync(path.join(dir, 'bucket', layout.manifest(runId, ibge)), 'utf8')));

  it('extract keeps its time budget: one table per invocation, continuation messages, then one manifest', async () => {
    const runId = 'daily-20261122';
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await writePlan(
      store,
      { runId, extracts: [SP, RJ, { ibge: '4106902' }, { ibge: '3509502' }].map((m) => ({ runId, municipality: m.ibge, window: WINDOW, trigger: 'daily', loadWhenDone: false })) },
      new Date(),
    );
    const { invocations, continuations } = await extractUntilDone({ runId, municipality: SP.ibge, window: WINDOW, trigger: 'daily' }, { traceparent, runId });
    expect(invocations).toBe(TABLES.length);
    expect(continuations.map((m) => JSON.parse(m.data.toString()).continuation)).toEqual([{ sequence: 2 }, { sequence: 3 }, { sequence: 4 }]);
    // The trace continues through the continuation messages.
    for (const m of continuations) expect(m.attributes.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(
      spans
        .getFinishedSpans()
        .filter((s) => s.name === 'extract process')
        .every((s) => s.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c'),
    ).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'bucket', layout.checkpointsPrefix(runId, SP.ibge)))).toHaveLength(3);

    const manifest = readManifest(runId, SP.ibge);
    expect(manifest.tables.map((t) => t.table).sort()).toEqual(TABLES.map((t) => t.name).sort());
    // The manifest is dated by the first snapshot; each continuation read its tables in its own snapshot.
    expect(manifest.extractedAt).toBe(manifest.tables[0]!.extractedAt);
    expect(manifest.tables.map((t) => t.extractedAt)).toEqual([...manifest.tables.map((t) => t.extractedAt)].sort());
    for (const t of manifest.tables) for (const p of t.parts) expect(fs.existsSync(path.join(dir, 'bucket', p.key))).toBe(true);
    const [{ n }] = (
      await source.query(`SELECT count(*)::int AS n FROM tb_fat_atendimento_individual WHERE co_dim_municipio = ${SP.id} AND co_dim_tempo >= 20261001 AND co_dim_tempo < 20261123`)
    ).rows;
    expect(manifest.tables.find((t) => t.table === 'tb_fat_atendimento_individual')!.rows).toBe(n);

    // Pub/Sub redelivers the first message after everything is done: nothing is extracted again.
    expect(await deliver(extractUrl, { runId, municipality: SP.ibge, window: WINDOW, trigger: 'daily' })).toBeLessThan(300);
    expect(take('extractRequests')).toEqual([]);
    expect(readManifest(runId, SP.ibge)).toEqual(manifest);
  });

  it("fans in: one load request for the run loads every municipality's slices; a redelivered load changes nothing", async () => {
    const runId = 'daily-20261122';
    await extractUntilDone({ runId, municipality: RJ.ibge, window: WINDOW, trigger: 'daily' });
    expect(await deliver(loadUrl, { runId, municipalities: [SP.ibge, RJ.ibge] })).toBeLessThan(300);
    for (const m of [SP, RJ]) {
      const [{ n: src }] = (
        await source.query(`SELECT count(*)::int AS n FROM tb_fat_atendimento_individual WHERE co_dim_municipio = ${m.id} AND co_dim_tempo >= 20261001 AND co_dim_tempo < 20261123`)
      ).rows;
      const [dst] = await warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_atendimento_individual WHERE _municipality_ibge = $1`, [m.ibge]);
      expect(dst!.n).toBe(src);
    }
    // NULL and empty string survive the CSV round trip; personal data arrives pseudonymised.
    const [nulls] = await warehouse.query(
      `SELECT count(*) FILTER (WHERE no_equipe IS NULL)::INTEGER AS nulls, count(*) FILTER (WHERE no_equipe = '')::INTEGER AS empties FROM raw.tb_dim_equipe WHERE _municipality_ibge = $1`,
      [SP.ibge],
    );
    expect(nulls).toEqual({ nulls: 1, empties: 1 });
    const [cns] = await warehouse.query(`SELECT min(nu_cns) AS v FROM raw.tb_fat_atendimento_individual`);
    expect(String(cns!.v)).toMatch(new RegExp(`^${PSEUDONYM_PATTERN}$`));

    const status = await runStatus(store, { runId }, { now: new Date() });
    expect(status!.counts).toMatchObject({ planned: 4, done: 2, loaded: 2 });
    expect(status!.loads[0]).toMatchObject({ loaded: TABLES.length * 2, alreadyLoaded: 0 });

    const before = await warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_vacinacao`);
    expect(await deliver(loadUrl, { runId, municipalities: [SP.ibge, RJ.ibge] })).toBeLessThan(300);
    expect(await warehouse.query(`SELECT count(*)::INTEGER AS n FROM raw.tb_fat_vacinacao`)).toEqual(before);
  });

  it('a rerun loads its own municipality when done: the load request is published with the trace', async () => {
    const runId = 'rerun-20261122-0a1b2c3d';
    const traceparent = '00-11111111111111111111111111111111-2222222222222222-01';
    await extractUntilDone({ runId, municipality: RJ.ibge, window: WINDOW, trigger: 'rerun', loadWhenDone: true, tables: ['tb_fat_vacinacao'] }, { traceparent });
    const loads = take('loadRequests');
    expect(loads.map((m) => JSON.parse(m.data.toString()))).toEqual([{ runId, municipalities: [RJ.ibge], tables: ['tb_fat_vacinacao'] }]);
    // The local bus passes attributes on as the handler gives them; PubSubBus also sets the active span (emulator test).
    expect(loads[0]!.attributes.traceparent).toBe(traceparent);
    expect(await deliver(loadUrl, JSON.parse(loads[0]!.data.toString()), loads[0]!.attributes)).toBeLessThan(300);
    const [row] = await warehouse.query(`SELECT count(*)::INTEGER AS n, min(_run_id) AS run FROM raw.tb_fat_vacinacao WHERE _municipality_ibge = $1`, [RJ.ibge]);
    expect(row).toEqual({ n: expect.any(Number), run: runId });
  });

  it("a refused password is terminal: acknowledged, dead-lettered and recorded as the municipality's failure", async () => {
    const runId = 'daily-20261122';
    bus.deadLetters.length = 0;
    expect(await deliver(extractUrl, { runId, municipality: '4106902', window: WINDOW, trigger: 'daily' })).toBeLessThan(300);
    expect(bus.deadLetters.map((d) => d.attributes.errorClass)).toEqual(['source_auth']);
    const failure = JSON.parse(fs.readFileSync(path.join(dir, 'bucket', layout.failure(runId, '4106902')), 'utf8'));
    expect(failure).toMatchObject({ runId, municipality: '4106902', errorClass: 'source_auth' });
    expect(JSON.stringify(failure)).not.toContain('not-the-password');
  });

  it('an unreachable source is transient: 500 for Pub/Sub to redeliver, nothing recorded as failed', async () => {
    const runId = 'daily-20261122';
    bus.deadLetters.length = 0;
    expect(await deliver(extractUrl, { runId, municipality: '3509502', window: WINDOW, trigger: 'daily' })).toBe(500);
    expect(bus.deadLetters).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'bucket', layout.failure(runId, '3509502')))).toBe(false);
    const status = await runStatus(store, { runId, lateAfterSeconds: 0 }, { now: new Date(Date.now() + 1000) });
    expect(status!.municipalities.find((m) => m.ibge === '3509502')).toMatchObject({ state: 'pending', late: true });
    expect(status!.municipalities.find((m) => m.ibge === '4106902')).toMatchObject({ state: 'failed' });
  });
});
