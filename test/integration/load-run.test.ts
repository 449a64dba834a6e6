import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Storage } from '@google-cloud/storage';
import pino from 'pino';
import { loadRun, VERIFY_WHOLE_MAX_BYTES, verifyParts } from '../../shared/load/load-run';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { GcsObjectStore } from '../../shared/adapters/gcp/gcs-object-store';
import { LOG_MESSAGES } from '../../shared/contracts/log-messages';
import { PipelineError } from '../../shared/errors';
import { startFakeGcsServer, type FakeGcsServer } from '../support/fake-gcs-server';
import { DIM, FACT, TABLES, dimRows, factRows, stageMunicipality } from '../support/warehouse-fixtures';
import { SET_ASIDE_TABLE } from '../../shared/contracts/tables';

/**
 * What loadRun decides before the warehouse sees a slice (the warehouse's own guarantees are in
 * warehouse-behaviour.test.ts): which municipalities and tables a request loads, its load id, how a
 * part that cannot be read is told apart from one that is not there, and the log line the freshness
 * alert counts on. Real DuckDB warehouse, real filesystem bucket; the GCS cases use the real client
 * against the fake Cloud Storage server (test/support/fake-gcs-server.ts).
 */
const A = '3550308';
const B = '3304557';
const C = '4106902';
const W_NOV = { start: '2026-11-01', end: '2026-12-01' };
const T1 = '2026-11-22T09:00:00.123456Z';

describe('loadRun: what a request loads', () => {
  let dir: string;
  let store: FsObjectStore;
  let w: DuckDbWarehouse;
  let lines: Record<string, unknown>[];
  const logger = () =>
    pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
  const deps = () => ({ store, warehouse: w, tables: TABLES, logger: logger() });
  const statusOf = (outcomes: { table: string; municipality: string; status: string }[]) => outcomes.map((o) => `${o.table}/${o.municipality}:${o.status}`);

  beforeEach(async () => {
    lines = [];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'load-run-'));
    store = new FsObjectStore(path.join(dir, 'bucket'));
    w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    await w.ensureRawTables(TABLES);
  });
  afterEach(() => {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a request naming no extracted municipality is a poison message (terminal), naming the run and the codes', async () => {
    const err = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A, B] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ transient: false, errorClass: 'invalid_message' });
    expect((err as Error).message).toContain(`run daily-20261122 (no manifest for ${A}, ${B})`);
  });

  it('municipalities without a manifest are reported and skipped; the others load', async () => {
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    const r = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A, B, C] });
    expect(r.missingManifests).toEqual([A, C]);
    expect(r.manifests.map((m) => m.municipality)).toEqual([B]);
    expect(statusOf(r.outcomes)).toEqual([`${FACT.name}/${B}:loaded`]);
    expect(lines.find((l) => l.level === 40)).toMatchObject({ missingManifests: [A, C] });
  });

  it('only the tables the request names load', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    const r = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A], tables: [DIM.name] });
    expect(statusOf(r.outcomes)).toEqual([`${DIM.name}/${A}:loaded`]);
    expect(await w.query(`SELECT count(*)::INTEGER AS n FROM raw."${FACT.name}"`)).toEqual([{ n: 0 }]);
    // The rest loads with a request of its own.
    expect(statusOf((await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A] })).outcomes)).toEqual([`${FACT.name}/${A}:loaded`, `${DIM.name}/${A}:already_loaded`]);
  });

  it("the municipality's set-aside records ride along with whatever tables a request names", async () => {
    const record = {
      source_table: FACT.name,
      column_name: 'qt_valor',
      primary_key: '["1"]',
      reason: 'numeric_nan',
      original_value: 'NaN',
      original_bytes: 3,
      extracted_on: '2026-11-22',
    };
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101]) },
      { table: DIM, window: null, rows: dimRows(1) },
      { table: SET_ASIDE_TABLE, window: { start: '2026-11-22', end: '2026-11-23' }, rows: [record] },
    ]);
    await w.ensureRawTables([SET_ASIDE_TABLE]);
    const r = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A], tables: [FACT.name] });
    expect(statusOf(r.outcomes)).toEqual([`${FACT.name}/${A}:loaded`, `set_aside_values/${A}:loaded`]);
    expect(await w.query('SELECT column_name, reason FROM raw.set_aside_values')).toEqual([{ column_name: 'qt_valor', reason: 'numeric_nan' }]);
  });

  it('set-aside parts are checked against their SHA-256 like any other', async () => {
    const record = {
      source_table: FACT.name,
      column_name: 'qt_valor',
      primary_key: '["1"]',
      reason: 'numeric_nan',
      original_value: 'NaN',
      original_bytes: 3,
      extracted_on: '2026-11-22',
    };
    await w.ensureRawTables([SET_ASIDE_TABLE]);
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: DIM, window: null, rows: dimRows(1) },
      { table: SET_ASIDE_TABLE, window: { start: '2026-11-22', end: '2026-11-23' }, rows: [record, { ...record, primary_key: '["2"]' }], corruptAfterHash: true },
    ]);
    const r = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A] });
    expect(r.outcomes).toEqual([
      expect.objectContaining({ table: DIM.name, status: 'loaded' }),
      expect.objectContaining({ table: 'set_aside_values', status: 'failed', errorClass: 'data', message: expect.stringContaining('has SHA-256') }),
    ]);
  });

  it('the load id is derived from the request: the same whatever the order of municipalities, another for other tables or another run', async () => {
    for (const m of [A, B]) await stageMunicipality(store, 'daily-20261122', m, T1, [{ table: DIM, window: null, rows: dimRows(1) }]);
    await stageMunicipality(store, 'daily-20261123', A, T1, [{ table: DIM, window: null, rows: dimRows(1) }]);
    const id = async (req: { runId: string; municipalities: string[]; tables?: string[] }) => (await loadRun(deps(), req)).loadId;
    const ab = await id({ runId: 'daily-20261122', municipalities: [A, B] });
    expect(ab).toMatch(/^load-daily-20261122-[0-9a-f]{12}$/);
    expect(await id({ runId: 'daily-20261122', municipalities: [B, A] })).toBe(ab);
    expect(await id({ runId: 'daily-20261122', municipalities: [A] })).not.toBe(ab);
    expect(await id({ runId: 'daily-20261122', municipalities: [A, B], tables: [DIM.name] })).not.toBe(ab);
    expect(await id({ runId: 'daily-20261123', municipalities: [A] })).toMatch(/^load-daily-20261123-/);
  });

  it('the "load finished" line (the freshness alert counts it) gives slices, loaded and failed; each failure is an error line', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101]), corruptAfterHash: true },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: DIM, window: null, rows: dimRows(1) }]);
    const r = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A, B] });
    const finished = lines.filter((l) => l.msg === LOG_MESSAGES.loadFinished);
    expect(finished).toEqual([expect.objectContaining({ level: 30, loadId: r.loadId, run: 'daily-20261122', slices: 3, loaded: 2, failed: 1, missingManifests: [] })]);
    // Every municipality had a manifest: no warning about missing ones.
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toEqual([expect.objectContaining({ municipality: A, table: FACT.name, errorClass: 'data', msg: expect.stringContaining('has SHA-256') })]);
  });

  it('parts are hashed several at a time, and every part of every slice is checked (one bad part among many)', async () => {
    const many = [A, B, C, '5300108', '3106200', '4314902'];
    for (const m of many) await stageMunicipality(store, 'daily-20261122', m, T1, [{ table: DIM, window: null, rows: dimRows(1), corruptAfterHash: m === '4314902' }]);
    const r = await loadRun({ ...deps(), hashConcurrency: 2 }, { runId: 'daily-20261122', municipalities: many });
    expect(statusOf(r.outcomes)).toEqual(many.map((m) => `${DIM.name}/${m}:${m === '4314902' ? 'failed' : 'loaded'}`));
  });

  it('a part that cannot be read (not a missing one) is transient: the load is redelivered, no slice is failed for it', async () => {
    const m = await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: DIM, window: null, rows: dimRows(1) }]);
    const file = store.loadUri(m.tables[0]!.parts[0]!.key);
    fs.rmSync(file);
    fs.mkdirSync(file); // EISDIR on read: an I/O failure, not an absent object
    const err = await loadRun(deps(), { runId: 'daily-20261122', municipalities: [A] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ transient: true, errorClass: 'storage' });
    expect((err as Error).message).toMatch(/^reading part runs\/daily-20261122\/\S+ to verify its SHA-256 failed: /);
    expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe('EISDIR');
    expect(await w.query('SELECT count(*)::INTEGER AS n FROM ops.loaded_slices')).toEqual([{ n: 0 }]);
  });
});

describe('verifyParts on Cloud Storage (real client, fake server)', () => {
  let fake: FakeGcsServer;
  let store: GcsObjectStore;
  const BUCKET = 'pec-staging-test';
  const part = (key: string, data: Buffer, sha256: string) => ({ key, rows: 1, bytes: data.length, sha256 });
  beforeAll(async () => {
    fake = await startFakeGcsServer();
    const storage = new Storage({
      projectId: 'test-project',
      apiEndpoint: fake.url,
      retryOptions: { autoRetry: true, maxRetries: 1, retryDelayMultiplier: 1, maxRetryDelay: 1, totalTimeout: 30 },
    });
    store = new GcsObjectStore(storage.bucket(BUCKET));
  });
  afterAll(() => fake.close());

  it('matching bytes pass; other bytes are named; an object that is not there (404) is missing, not transient', async () => {
    const data = Buffer.from('a,b\n1,2\n');
    const sha = (await import('node:crypto')).createHash('sha256').update(data).digest('hex');
    fake.put(BUCKET, 'runs/r/p0.csv.gz', data);
    expect(await verifyParts(store, [part('runs/r/p0.csv.gz', data, sha)])).toBeUndefined();
    expect(await verifyParts(store, [part('runs/r/p0.csv.gz', data, sha), part('runs/r/p0.csv.gz', data, 'f'.repeat(64))])).toBe(
      `part runs/r/p0.csv.gz has SHA-256 ${sha}, the manifest declares ${'f'.repeat(64)}`,
    );
    expect(await verifyParts(store, [part('runs/r/p0.csv.gz', data, sha), part('runs/r/gone.csv.gz', data, sha)])).toBe(
      'part runs/r/gone.csv.gz is missing from the staging bucket',
    );
  });

  it('a part above VERIFY_WHOLE_MAX_BYTES is streamed, and checked the same way', async () => {
    const data = randomBytes(VERIFY_WHOLE_MAX_BYTES + 1);
    const sha = createHash('sha256').update(data).digest('hex');
    fake.put(BUCKET, 'runs/r/big.csv.gz', data);
    const read = jest.spyOn(store, 'read');
    const readStream = jest.spyOn(store, 'readStream');
    expect(await verifyParts(store, [part('runs/r/big.csv.gz', data, sha)])).toBeUndefined();
    expect(await verifyParts(store, [part('runs/r/big.csv.gz', data, 'f'.repeat(64))])).toBe(`part runs/r/big.csv.gz has SHA-256 ${sha}, the manifest declares ${'f'.repeat(64)}`);
    expect(await verifyParts(store, [part('runs/r/big-gone.csv.gz', data, sha)])).toBe('part runs/r/big-gone.csv.gz is missing from the staging bucket');
    expect([read.mock.calls.length, readStream.mock.calls.length]).toEqual([0, 3]);
    // A small part is one whole read.
    const small = Buffer.from('x');
    fake.put(BUCKET, 'runs/r/small.csv.gz', small);
    expect(await verifyParts(store, [part('runs/r/small.csv.gz', small, createHash('sha256').update(small).digest('hex'))])).toBeUndefined();
    expect([read.mock.calls.length, readStream.mock.calls.length]).toEqual([1, 3]);
    read.mockRestore();
    readStream.mockRestore();
  });

  it('a 503 while reading is transient (storage)', async () => {
    fake.put(BUCKET, 'runs/r/p1.csv.gz', Buffer.from('x'));
    fake.failNext((r) => r.method === 'GET' && r.path.includes('p1.csv.gz'), 503, 10);
    await expect(verifyParts(store, [part('runs/r/p1.csv.gz', Buffer.from('x'), 'f'.repeat(64))])).rejects.toMatchObject({ transient: true, errorClass: 'storage' });
  });
});
