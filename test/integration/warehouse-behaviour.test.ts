import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadRun } from '../../shared/load/load-run';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import type { SliceOutcome } from '../../shared/ports';
import { BigQuery } from '@google-cloud/bigquery';
import { BigQueryWarehouse } from '../../shared/adapters/gcp/bigquery-warehouse';
import { sliceParams } from '../../shared/adapters/gcp/bigquery-sql';
import { startFakeBigQueryServer, type FakeBigQueryServer, type JobResource } from '../support/fake-bigquery-server';
import { playLoader } from '../support/fake-bigquery-loader';
import { DIM, EVENT, FACT, TABLES, dimRows, eventRows, factRows, stageMunicipality } from '../support/warehouse-fixtures';

/**
 * The load guarantees, as behaviour, against both warehouses through loadRun (which also verifies
 * the parts' SHA-256), with the same staged files and manifests:
 * - DuckDbWarehouse: DuckDB executes the real statements; the tests look at the rows.
 * - BigQueryWarehouse: the real @google-cloud/bigquery client against the fake BigQuery server,
 *   whose load jobs really read and type-check the staged files (test/support/fake-bigquery-loader.ts)
 *   and whose ledger is what the transactions wrote; the decisions are the adapter's, and the tests
 *   check the parameters and predicates the transaction receives (it runs no SQL).
 * Each test fails when its guarantee breaks (docs/load.md lists the defects tried by hand).
 */
if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes('--experimental-vm-modules'))
  throw new Error('run this suite with NODE_OPTIONS=--experimental-vm-modules (as `npm test` does): the BigQuery client needs dynamic import()');
const A = '3550308';
const B = '3304557';
const C = '4106902';
const W_OCT = { start: '2026-10-01', end: '2026-11-01' };
const W_NOV = { start: '2026-11-01', end: '2026-12-01' };
const T1 = '2026-11-22T09:00:00.123456Z';
const T2 = '2026-11-23T09:00:00.654321Z';

describe('warehouse behaviour: DuckDbWarehouse through loadRun', () => {
  let dir: string;
  let store: FsObjectStore;
  let w: DuckDbWarehouse;
  const logger = pino({ level: 'silent' });
  const load = (runId: string, municipalities: string[]) => loadRun({ store, warehouse: w, tables: TABLES, logger }, { runId, municipalities });
  const raw = async (table: string, municipality?: string) =>
    await w.query(
      `SELECT co_seq::INTEGER AS s, ${table === FACT.name ? 'co_dim_tempo::INTEGER AS d, qt_valor::INTEGER AS v, ' : ''}_municipality_ibge AS m, _run_id AS r FROM raw."${table}" ${municipality ? 'WHERE _municipality_ibge = $1' : ''} ORDER BY ALL`,
      municipality ? [municipality] : [],
    );
  const ledger = async () => w.query(`SELECT table_name, municipality, run_id, rows_loaded::INTEGER AS n FROM ops.loaded_slices ORDER BY ALL`);
  const statusOf = (outcomes: SliceOutcome[]) => outcomes.map((o) => `${o.table}/${o.municipality}:${o.status}`);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-behaviour-'));
    store = new FsObjectStore(path.join(dir, 'bucket'));
    w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
    await w.ensureRawTables(TABLES);
  });
  afterEach(() => {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('guard: a redelivered load is already_loaded and changes nothing', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261115]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    const first = await load('daily-20261122', [A]);
    expect(first.outcomes).toEqual([
      { municipality: A, table: FACT.name, status: 'loaded', rowsDeleted: 0, rowsInserted: 2 },
      { municipality: A, table: DIM.name, status: 'loaded', rowsDeleted: 0, rowsInserted: 2 },
    ]);
    const before = { fact: await raw(FACT.name), dim: await raw(DIM.name), ledger: await ledger() };
    const again = await load('daily-20261122', [A]);
    expect(statusOf(again.outcomes)).toEqual([`${FACT.name}/${A}:already_loaded`, `${DIM.name}/${A}:already_loaded`]);
    expect({ fact: await raw(FACT.name), dim: await raw(DIM.name), ledger: await ledger() }).toEqual(before);
  });

  it('guard: an older extraction of an overlapping window is stale and never overwrites newer data; a non-overlapping one loads', async () => {
    await stageMunicipality(store, 'daily-20261123', A, T2, [{ table: FACT, window: W_NOV, rows: factRows(2, [20261105]) }]);
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261104, 20261106]) }]);
    await stageMunicipality(store, 'backfill-202610', A, T1, [{ table: FACT, window: W_OCT, rows: factRows(3, [20261010]) }]);
    expect(statusOf((await load('daily-20261123', [A])).outcomes)).toEqual([`${FACT.name}/${A}:loaded`]);
    const older = await load('daily-20261122', [A]);
    expect(older.outcomes).toEqual([{ municipality: A, table: FACT.name, status: 'stale', newerExtractedAt: T2 }]);
    expect((await raw(FACT.name)).map((r) => r.v)).toEqual([2]);
    // October does not overlap November (the end is exclusive): an older extraction of it loads.
    expect(statusOf((await load('backfill-202610', [A])).outcomes)).toEqual([`${FACT.name}/${A}:loaded`]);
    expect((await raw(FACT.name)).map((r) => `${r.d}:${r.v}`).sort()).toEqual(['20261010:3', '20261105:2']);
  });

  it('delete scope: only the slice (municipality, table, window with its exclusive end) is replaced', async () => {
    // Day one: A's October and November, B's October, both dimensions.
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_OCT, rows: factRows(1, [20261001, 20261031]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [
      { table: FACT, window: W_OCT, rows: factRows(1, [20261001, 20261031]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'nov-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(9, [20261101, 20261130]) }]);
    await load('daily-20261122', [A, B]);
    await load('nov-20261122', [A]);
    // A newer extraction of A's October only, with one row fewer.
    await stageMunicipality(store, 'rerun-3550308-20261123', A, T2, [{ table: FACT, window: W_OCT, rows: factRows(2, [20261015]) }]);
    const rerun = await load('rerun-3550308-20261123', [A]);
    expect(rerun.outcomes).toEqual([{ municipality: A, table: FACT.name, status: 'loaded', rowsDeleted: 2, rowsInserted: 1 }]);
    // A's October replaced; A's row on November 1st (the window's end day) kept; November's last day kept.
    expect((await raw(FACT.name, A)).map((r) => `${r.d}:${r.v}`).sort()).toEqual(['20261015:2', '20261101:9', '20261130:9']);
    // B untouched; the other table untouched.
    expect((await raw(FACT.name, B)).map((r) => `${r.d}:${r.v}`).sort()).toEqual(['20261001:1', '20261031:1']);
    expect(await raw(DIM.name)).toHaveLength(4);
  });

  it("delete scope, window on a DATE column: the window's end day is not deleted, its start day is", async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: EVENT, window: W_OCT, rows: eventRows(1, ['2026-09-30', '2026-10-01', '2026-10-31']) }]);
    await stageMunicipality(store, 'nov-20261122', A, T1, [{ table: EVENT, window: W_NOV, rows: eventRows(9, ['2026-11-01']) }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: EVENT, window: W_OCT, rows: eventRows(1, ['2026-10-01']) }]);
    await load('daily-20261122', [A, B]);
    await load('nov-20261122', [A]);
    await stageMunicipality(store, 'rerun-3550308-20261123', A, T2, [{ table: EVENT, window: W_OCT, rows: eventRows(2, ['2026-10-15']) }]);
    expect((await load('rerun-3550308-20261123', [A])).outcomes).toEqual([{ municipality: A, table: EVENT.name, status: 'loaded', rowsDeleted: 2, rowsInserted: 1 }]);
    const days = async (m: string) =>
      (await w.query(`SELECT strftime(dt_evento, '%Y-%m-%d') AS d FROM raw."${EVENT.name}" WHERE _municipality_ibge = $1 ORDER BY 1`, [m])).map((r) => r.d);
    // September 30th was outside the first window's delete too (it was loaded as a row the file held).
    expect(await days(A)).toEqual(['2026-09-30', '2026-10-15', '2026-11-01']);
    expect(await days(B)).toEqual(['2026-10-01']);
  });

  it("delete scope: a full refresh replaces the municipality's whole table, nothing of another municipality", async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: DIM, window: null, rows: dimRows(1, 3) }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: DIM, window: null, rows: dimRows(1, 3) }]);
    await load('daily-20261122', [A, B]);
    await stageMunicipality(store, 'daily-20261123', A, T2, [{ table: DIM, window: null, rows: dimRows(2, 1) }]);
    expect((await load('daily-20261123', [A])).outcomes).toEqual([{ municipality: A, table: DIM.name, status: 'loaded', rowsDeleted: 3, rowsInserted: 1 }]);
    expect((await raw(DIM.name)).map((r) => `${r.m}:${r.r}`).sort()).toEqual([`${B}:daily-20261122`, `${B}:daily-20261122`, `${B}:daily-20261122`, `${A}:daily-20261123`].sort());
  });

  it('read buffer: a line longer than the smallest buffer loads beside small slices (the buffer follows the longest CSV the manifests declare)', async () => {
    const long = 'x'.repeat(3 * 1024 * 1024); // past the 1 MiB buffer a wave of small files is read with
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: DIM, window: null, rows: [{ co_seq: 1, no_item: long }] }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: DIM, window: null, rows: dimRows(1, 2) }]);
    expect((await load('daily-20261122', [A, B])).outcomes.map((o) => `${o.municipality}:${o.status}`)).toEqual([`${A}:loaded`, `${B}:loaded`]);
    expect(await w.query(`SELECT length(no_item)::INTEGER AS n FROM raw.${DIM.name} WHERE _municipality_ibge = '${A}'`)).toEqual([{ n: long.length }]);
  });

  it("an empty slice without parts replaces the municipality's rows with nothing", async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: DIM, window: null, rows: dimRows(1) }]);
    await load('daily-20261122', [A]);
    await stageMunicipality(store, 'daily-20261123', A, T2, [{ table: DIM, window: null, rows: [], noParts: true }]);
    expect((await load('daily-20261123', [A])).outcomes).toEqual([{ municipality: A, table: DIM.name, status: 'loaded', rowsDeleted: 2, rowsInserted: 0 }]);
    expect(await raw(DIM.name)).toEqual([]);
  });

  it('row count: a slice whose files hold other than its manifest declares fails (data) alone; the others load', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261102]), declaredRows: 3 }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    const r = await load('daily-20261122', [A, B]);
    expect(r.outcomes).toEqual([
      {
        municipality: A,
        table: FACT.name,
        status: 'failed',
        errorClass: 'data',
        message: expect.stringMatching(new RegExp(`^${FACT.name}/${A}: the manifest declares 3 rows, the staged files hold 2`)),
      },
      { municipality: B, table: FACT.name, status: 'loaded', rowsDeleted: 0, rowsInserted: 1 },
    ]);
    expect(await raw(FACT.name, A)).toEqual([]);
    expect((await ledger()).map((l) => l.municipality)).toEqual([B]);
  });

  it("row count: a file holding another municipality's rows fails its slice; no foreign row lands", async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: [...factRows(1, [20261101]), { ...factRows(1, [20261102])[0]!, co_seq: 5, _municipality_ibge: B }] },
    ]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261103]) }]);
    const r = await load('daily-20261122', [A, B]);
    expect(statusOf(r.outcomes)).toEqual([`${FACT.name}/${A}:failed`, `${FACT.name}/${B}:loaded`]);
    expect((await raw(FACT.name)).map((x) => `${x.m}:${x.d}`)).toEqual([`${B}:20261103`]);
  });

  it('SHA-256: a part whose bytes differ from the manifest fails its slice (data) alone; the others load', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261102]), corruptAfterHash: true },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    const r = await load('daily-20261122', [A, B]);
    expect(r.outcomes).toEqual([
      {
        municipality: A,
        table: FACT.name,
        status: 'failed',
        errorClass: 'data',
        message: expect.stringMatching(
          /part runs\/daily-20261122\/tables\/tb_fat_teste\/3550308-a1-part-00000\.csv\.gz has SHA-256 [0-9a-f]{64}, the manifest declares [0-9a-f]{64}/,
        ),
      },
      { municipality: B, table: FACT.name, status: 'loaded', rowsDeleted: 0, rowsInserted: 1 },
      { municipality: A, table: DIM.name, status: 'loaded', rowsDeleted: 0, rowsInserted: 2 },
    ]);
    expect(await raw(FACT.name, A)).toEqual([]);
  });

  it('SHA-256: a part missing from the bucket fails its slice (data); the others load', async () => {
    const m = await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    fs.rmSync(store.loadUri(m.tables[0]!.parts[0]!.key));
    const r = await load('daily-20261122', [A, B]);
    expect(r.outcomes[0]).toMatchObject({ status: 'failed', errorClass: 'data', message: expect.stringContaining('is missing from the staging bucket') });
    expect(statusOf(r.outcomes.slice(1))).toEqual([`${FACT.name}/${B}:loaded`]);
  });

  it('data error: one unloadable value fails its slice (terminal, named where, no row content); every other slice loads', async () => {
    const bad = [...factRows(1, [20261101]), { co_seq: 77, co_dim_tempo: 20261102, qt_valor: 'NaN', ds_nota: 'hmac-0f3a9c secret-note' }];
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [
      { table: FACT, window: W_NOV, rows: bad },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', C, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261103]) }]);
    const r = await load('daily-20261122', [A, B, C]);
    expect(statusOf(r.outcomes)).toEqual([`${FACT.name}/${A}:loaded`, `${FACT.name}/${B}:failed`, `${FACT.name}/${C}:loaded`, `${DIM.name}/${B}:loaded`]);
    const failed = r.outcomes[1] as Extract<SliceOutcome, { status: 'failed' }>;
    expect(failed.errorClass).toBe('data');
    expect(failed.message).toMatch(new RegExp(`^${FACT.name}/${B}: column qt_valor on line 3 of \\S+part-00000\\.csv\\.gz: value not convertible to BIGINT`));
    for (const leaked of ['NaN', 'hmac-0f3a9c', 'secret-note', '20261102', '77']) expect(failed.message).not.toContain(leaked);
    expect((await raw(FACT.name)).map((x) => x.m).sort()).toEqual([A, C, C].sort());
    // Terminal: a redelivery fails it the same way and re-applies nothing else.
    const again = await load('daily-20261122', [A, B, C]);
    expect(statusOf(again.outcomes)).toEqual([
      `${FACT.name}/${A}:already_loaded`,
      `${FACT.name}/${B}:failed`,
      `${FACT.name}/${C}:already_loaded`,
      `${DIM.name}/${B}:already_loaded`,
    ]);
  });
});

describe('warehouse behaviour: BigQueryWarehouse through loadRun (fake BigQuery server)', () => {
  const PROJECT = 'test-project';
  let fake: FakeBigQueryServer;
  let bq: BigQuery;
  let dir: string;
  let store: FsObjectStore;
  let ledger: ReturnType<typeof playLoader>['ledger'];
  const logger = pino({ level: 'silent' });
  const staticAuth = { getRequestHeaders: async () => new Headers({ authorization: 'Bearer behaviour' }), getProjectId: async () => PROJECT };
  const warehouse = () => new BigQueryWarehouse(bq, { projectId: PROJECT, location: 'southamerica-east1', rawDataset: 'raw', opsDataset: 'ops', pollMs: { initial: 2, max: 5 } });
  const load = (runId: string, municipalities: string[]) => loadRun({ store, warehouse: warehouse(), tables: TABLES, logger }, { runId, municipalities });
  const jobs = () => fake.requests.filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs`).map((r) => r.json as JobResource);
  const applies = () => jobs().filter((j) => j.configuration.query && !/-ledger-/.test(j.jobReference.jobId));
  const loadJobs = () => jobs().filter((j) => j.configuration.load);
  const param = (j: JobResource, name: string) => j.configuration.query!.queryParameters!.find((p) => p.name === name)?.parameterValue;
  const values = (j: JobResource, name: string) => param(j, name)?.arrayValues?.map((v) => v.value);
  const decisions = (j: JobResource) => sliceParams(j.configuration.query!.queryParameters!).map((p) => `${p.table_name}/${p.municipality}:${p.status}`);
  const statusOf = (outcomes: SliceOutcome[]) => outcomes.map((o) => `${o.table}/${o.municipality}:${o.status}`);

  beforeAll(async () => {
    fake = await startFakeBigQueryServer();
    bq = new BigQuery({ projectId: PROJECT, location: 'southamerica-east1', apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
  });
  afterAll(() => fake.close());
  beforeEach(async () => {
    fake.requests.length = 0;
    fake.jobs.clear();
    fake.tables.clear();
    ({ ledger } = playLoader(fake));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-behaviour-bq-'));
    store = new FsObjectStore(path.join(dir, 'bucket'));
    await warehouse().ensureRawTables(TABLES);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('guard: a redelivered load answers from its committed transaction; a new request for the same slices is already_loaded with no transaction', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261115]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    const first = await load('daily-20261122', [A]);
    expect(statusOf(first.outcomes)).toEqual([`${FACT.name}/${A}:loaded`, `${DIM.name}/${A}:loaded`]);
    expect(applies()).toHaveLength(1);
    expect(await load('daily-20261122', [A])).toMatchObject({ outcomes: first.outcomes });
    expect(applies()).toHaveLength(1);
    // Another request naming the same slices (another load id): the guard finds them in the ledger.
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: DIM, window: null, rows: dimRows(1) }]);
    const other = await load('daily-20261122', [A, B]);
    expect(statusOf(other.outcomes)).toEqual([`${FACT.name}/${A}:already_loaded`, `${DIM.name}/${A}:already_loaded`, `${DIM.name}/${B}:loaded`]);
    expect(decisions(applies()[1]!)).toEqual([`${FACT.name}/${A}:already_loaded`, `${DIM.name}/${A}:already_loaded`, `${DIM.name}/${B}:load`]);
    expect(values(applies()[1]!, 'munis_1')).toEqual([B]);
    expect(values(applies()[1]!, 'munis_0')).toBeUndefined(); // no statement for the fact table at all
  });

  it('guard: an older extraction of an overlapping window is stale (no transaction); a non-overlapping one loads', async () => {
    await stageMunicipality(store, 'daily-20261123', A, T2, [{ table: FACT, window: W_NOV, rows: factRows(2, [20261105]) }]);
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261104, 20261106]) }]);
    await stageMunicipality(store, 'backfill-202610', A, T1, [{ table: FACT, window: W_OCT, rows: factRows(3, [20261010]) }]);
    await load('daily-20261123', [A]);
    expect((await load('daily-20261122', [A])).outcomes).toEqual([{ municipality: A, table: FACT.name, status: 'stale', newerExtractedAt: T2 }]);
    expect(applies()).toHaveLength(1);
    expect(statusOf((await load('backfill-202610', [A])).outcomes)).toEqual([`${FACT.name}/${A}:loaded`]);
    expect(decisions(applies()[1]!)).toEqual([`${FACT.name}/${A}:load`]);
  });

  it('delete scope: the transaction deletes only the slices to load: their municipalities, their table, their windows with the end exclusive', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_OCT, rows: factRows(1, [20261001, 20261031]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [
      { table: FACT, window: W_OCT, rows: factRows(1, [20261001]) },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await load('daily-20261122', [A, B]);
    await stageMunicipality(store, 'rerun-3550308-20261123', A, T2, [{ table: FACT, window: W_OCT, rows: factRows(2, [20261015]) }]);
    await load('rerun-3550308-20261123', [A]);
    const rerun = applies().at(-1)!;
    const del = rerun.configuration.query!.query.split('\n').filter((l) => l.startsWith('DELETE '));
    // One DELETE, of the fact table only (the dimension is not in the request).
    expect(del).toHaveLength(1);
    expect(del[0]).toMatch(/^DELETE `test-project\.raw\.tb_fat_teste` r WHERE /);
    expect(values(rerun, 'munis_0')).toEqual([A]);
    // Outer bounds and per-slice window: start inclusive, end exclusive (a row on November 1st stays).
    expect([param(rerun, 'lo_0')?.value, param(rerun, 'hi_0')?.value]).toEqual(['20261001', '20261101']);
    expect(del[0]).toContain('r.co_dim_tempo >= @lo_0 AND r.co_dim_tempo < @hi_0');
    expect(del[0]).toContain(
      'd.municipality = r._municipality_ibge AND (d.window_start_key IS NULL OR (r.co_dim_tempo >= d.window_start_key AND r.co_dim_tempo < d.window_end_key))',
    );
    expect(sliceParams(rerun.configuration.query!.queryParameters!).map((p) => [p.municipality, p.window_start_key, p.window_end_key])).toEqual([[A, '20261001', '20261101']]);
    const ins = rerun.configuration.query!.query.split('\n').filter((l) => l.startsWith('INSERT INTO `test-project.raw.'));
    expect(ins).toHaveLength(1);
    expect(ins[0]).toMatch(/WHERE s\._municipality_ibge IN UNNEST\(@munis_0\);$/);
  });

  it('delete scope, window on a DATE column: DATE parameters, the end exclusive', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: EVENT, window: W_OCT, rows: eventRows(1, ['2026-10-01']) }]);
    await load('daily-20261122', [A]);
    const apply = applies()[0]!;
    const del = apply.configuration.query!.query.split('\n').find((l) => l.startsWith('DELETE '))!;
    expect(del).toContain('r.dt_evento >= @lo_0 AND r.dt_evento < @hi_0');
    expect(del).toContain('(d.window_start IS NULL OR (r.dt_evento >= d.window_start AND r.dt_evento < d.window_end))');
    expect([param(apply, 'lo_0')?.value, param(apply, 'hi_0')?.value]).toEqual(['2026-10-01', '2026-11-01']);
  });

  it('row count: a slice whose files hold other than its manifest declares fails (data) alone; the others load', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261102]), declaredRows: 3 }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    const r = await load('daily-20261122', [A, B]);
    expect(r.outcomes).toEqual([
      {
        municipality: A,
        table: FACT.name,
        status: 'failed',
        errorClass: 'data',
        message: expect.stringMatching(new RegExp(`^${FACT.name}/${A}: the manifest declares 3 rows, load job \\S+ staged 2$`)),
      },
      { municipality: B, table: FACT.name, status: 'loaded', rowsDeleted: 0, rowsInserted: 1 },
    ]);
    expect(values(applies()[0]!, 'munis_0')).toEqual([B]);
    expect(ledger.map((l) => l.municipality)).toEqual([B]);
  });

  it('an empty slice without parts: no load job, the DELETE still runs, no INSERT', async () => {
    await stageMunicipality(store, 'daily-20261123', A, T2, [{ table: DIM, window: null, rows: [], noParts: true }]);
    expect(statusOf((await load('daily-20261123', [A])).outcomes)).toEqual([`${DIM.name}/${A}:loaded`]);
    expect(loadJobs()).toEqual([]);
    const sql = applies()[0]!.configuration.query!.query;
    expect(sql).toMatch(/^DELETE `test-project\.raw\.tb_dim_teste` r WHERE r\._municipality_ibge IN UNNEST\(@munis_0\)/m);
    expect(sql).not.toMatch(/^INSERT INTO `test-project\.raw\./m);
  });

  it('SHA-256: a part whose bytes differ from the manifest fails its slice (data) alone; it is never staged', async () => {
    await stageMunicipality(store, 'daily-20261122', A, T1, [
      { table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261102]), corruptAfterHash: true },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    const r = await load('daily-20261122', [A, B]);
    expect(statusOf(r.outcomes)).toEqual([`${FACT.name}/${A}:failed`, `${FACT.name}/${B}:loaded`, `${DIM.name}/${A}:loaded`]);
    expect((r.outcomes[0] as Extract<SliceOutcome, { status: 'failed' }>).message).toMatch(/has SHA-256 [0-9a-f]{64}, the manifest declares [0-9a-f]{64}/);
    expect(
      loadJobs()
        .flatMap((j) => j.configuration.load!.sourceUris)
        .some((u) => u.includes(`/${FACT.name}/${A}/`)),
    ).toBe(false);
  });

  it('data error: one unloadable value fails its slice (terminal, named where, no row content); every other slice loads', async () => {
    const bad = [...factRows(1, [20261101]), { co_seq: 77, co_dim_tempo: 20261102, qt_valor: 'NaN', ds_nota: 'hmac-0f3a9c secret-note' }];
    await stageMunicipality(store, 'daily-20261122', A, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101]) }]);
    await stageMunicipality(store, 'daily-20261122', B, T1, [
      { table: FACT, window: W_NOV, rows: bad },
      { table: DIM, window: null, rows: dimRows(1) },
    ]);
    await stageMunicipality(store, 'daily-20261122', C, T1, [{ table: FACT, window: W_NOV, rows: factRows(1, [20261101, 20261103]) }]);
    const r = await load('daily-20261122', [A, B, C]);
    expect(statusOf(r.outcomes)).toEqual([`${FACT.name}/${A}:loaded`, `${FACT.name}/${B}:failed`, `${FACT.name}/${C}:loaded`, `${DIM.name}/${B}:loaded`]);
    const failed = r.outcomes[1] as Extract<SliceOutcome, { status: 'failed' }>;
    expect(failed.errorClass).toBe('data');
    expect(failed.message).toMatch(new RegExp(`^${FACT.name}/${B}: column qt_valor \\(position 2\\) at byte \\d+ of \\S+part-00000\\.csv\\.gz: value not convertible to INT64`));
    for (const leaked of ['NaN', 'hmac-0f3a9c', 'secret-note', '20261102']) expect(failed.message).not.toContain(leaked);
    // The normal case is one load job per table; only the failed table was staged again, in halves
    // (IBGE order: B, A | C), down to the bad municipality.
    expect(
      loadJobs()
        .map((j) => j.jobReference.jobId.replace(/^load-daily-20261122-[0-9a-f]{12}-/, ''))
        .sort(),
    ).toEqual([`${FACT.name}-0-a0`, `${DIM.name}-0-a0`, `${FACT.name}-0-r0-1-a0`, `${FACT.name}-0-r2-2-a0`, `${FACT.name}-0-r0-0-a0`, `${FACT.name}-0-r1-1-a0`].sort());
    expect(values(applies()[0]!, 'munis_0')).toEqual([C, A].sort());
    // Only good staging tables feed the INSERT.
    const ins = applies()[0]!
      .configuration.query!.query.split('\n')
      .find((l) => l.startsWith('INSERT INTO `test-project.raw.tb_fat_teste`'))!;
    expect([...ins.matchAll(/stage_\w+?_tb_fat_teste_0(_r\d+_\d+)?`/g)].map((m) => m[1]).sort()).toEqual(['_r1_1', '_r2_2']);
    // Terminal: a redelivery answers the same from the committed transaction.
    expect(statusOf((await load('daily-20261122', [A, B, C])).outcomes)).toEqual(statusOf(r.outcomes));
  });
});
