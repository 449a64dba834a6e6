import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { Client } from 'pg';
import { ExtractSettingsSchema } from '../../shared/contracts/config';
import type { Manifest } from '../../shared/contracts/manifest';
import type { ExtractRequest } from '../../shared/contracts/messages';
import type { MunicipalityEntry } from '../../shared/contracts/municipalities';
import { SET_ASIDE_TABLE, TableDef } from '../../shared/contracts/tables';
import { PipelineError } from '../../shared/errors';
import { extractMunicipality, type ExtractDeps, type ExtractOutcome } from '../../shared/extract/extract-municipality';
import { Pseudonymizer } from '../../shared/extract/pseudonymizer';
import { newestVersion, readSourceFacts, SourceSession, type SourceLimits } from '../../shared/extract/source';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { createLogger } from '../../shared/log';
import type { ObjectStore } from '../../shared/ports';
import { CapturedLog, registryFor, TEST_KEY } from '../support/local-pipeline';
import { createTestDatabase, testServerPort, testServerUrl, type TestDatabase } from '../support/pg';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * `extractMunicipality` and the source session, driven directly against the suite's PostgreSQL with
 * small hand-made tables (not the synthetic PEC): what lands in the bucket (parts, manifest,
 * checkpoints, set-aside records), what the source session guarantees (one read-only snapshot, the
 * session settings, the limits) and how each failure is classed. The fastest test that reaches
 * every line of shared/extract/extract-municipality.ts and source.ts: `npm run mutation:source`
 * runs it per mutant.
 */
const IBGE = '3509502';
const RUN = 'daily-20261121';
const WINDOW = { start: '2026-11-01', end: '2026-11-03' };
const CPF = '12345678901';

const FACT = TableDef.parse({
  name: 'tb_fact',
  description: 'a windowed fact table',
  primaryKey: ['co_seq'],
  municipality: { kind: 'column', column: 'co_dim_municipio' },
  mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'co_dim_municipio', type: 'bigint' },
    { name: 'co_dim_tempo', type: 'integer' },
    { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
    { name: 'vl_num', type: 'numeric' },
    { name: 'vl_peso', type: 'numeric' },
    { name: 'vl_num2', type: 'numeric' },
    { name: 'ds_new', type: 'text', whenMissing: 'null' },
  ],
});
const UNIT = TableDef.parse({
  name: 'tb_unit',
  description: 'an installation table',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'full' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'no_unit', type: 'text' },
  ],
});
const DRIFTED = TableDef.parse({
  name: 'tb_drifted',
  description: 'a table without a required column',
  primaryKey: ['co_seq'],
  municipality: { kind: 'installation' },
  mode: { kind: 'full' },
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'ds_required', type: 'text' },
  ],
});
const ABSENT = TableDef.parse({ ...UNIT, name: 'tb_absent', description: 'a table the source does not have' });
const SLOW = TableDef.parse({ ...UNIT, name: 'tb_slow', description: 'a view that takes a second per row' });
const BROKEN = TableDef.parse({ ...UNIT, name: 'tb_broken', description: 'a view that fails at its third row' });
const SLOW3 = (name: string) =>
  TableDef.parse({
    name,
    description: 'a view of three rows, one second each',
    primaryKey: ['g'],
    municipality: { kind: 'installation' },
    mode: { kind: 'full' },
    columns: [{ name: 'g', type: 'integer' }],
  });
const BIG = TableDef.parse({ ...UNIT, name: 'tb_big', description: 'enough rows for several parts' });
const MANY_NAN = TableDef.parse({
  ...UNIT,
  name: 'tb_many_nan',
  description: 'a set-aside value in every row, over many chunks',
  columns: [
    { name: 'co_seq', type: 'bigint' },
    { name: 'vl_num', type: 'numeric' },
    { name: 'no_unit', type: 'text' },
  ],
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as PipelineError,
  );
const classOf = (e: PipelineError) => ({ type: e instanceof PipelineError, errorClass: e.errorClass, transient: e.transient });

/** `store` with some of its methods replaced: a store that fails or looks away where a test says. */
function overriding(store: FsObjectStore, methods: Partial<ObjectStore>): ObjectStore {
  return {
    read: store.read.bind(store),
    list: store.list.bind(store),
    create: store.create.bind(store),
    readStream: store.readStream.bind(store),
    loadUri: store.loadUri.bind(store),
    ...methods,
  };
}

describe('extractMunicipality on hand-made tables', () => {
  let db: TestDatabase;
  let entry: MunicipalityEntry;
  let dir: string;
  const fresh = () => fs.mkdtempSync(path.join(dir, 'store-'));

  beforeAll(async () => {
    db = await createTestDatabase('extract_unit', async (c) => {
      await c.query(`
        CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint PRIMARY KEY, co_ibge text);
        INSERT INTO tb_dim_municipio VALUES (1, '3509502'), (2, '350950'), (3, '3550308');
        CREATE TABLE tb_migracao (ds_filename text);
        INSERT INTO tb_migracao VALUES ('db/v5.2.9/a.sql'), ('db/v5.10/b.sql'), ('db/v5.10.1/c.sql'), ('db/v5.2.10/d.sql'), ('other/e.sql');
        CREATE TABLE tb_relatorio_processamento (dt_processamento timestamp);
        INSERT INTO tb_relatorio_processamento VALUES ('2026-11-20 03:04:05'), ('2026-11-21 01:02:03.9'), ('2026-11-19 23:59:59');
        CREATE TABLE tb_fact (co_seq bigint PRIMARY KEY, co_dim_municipio bigint, co_dim_tempo integer, nu_cpf text, vl_num numeric, vl_peso double precision, vl_num2 numeric, ds_extra text);
        INSERT INTO tb_fact VALUES
          (10, 1, 20261031, '${CPF}', 1, 1.5, 1, 'x'),
          (11, 1, 20261101, '${CPF}', 2, 1.5, 1, 'x'),
          (12, 2, 20261102, '${CPF}', 'NaN', 1.5, 1, 'x'),
          (13, 3, 20261102, '${CPF}', 3, 1.5, 1, 'x'),
          (14, 1, 20261103, '${CPF}', 4, 1.5, 1, 'x'),
          (15, 1, 20261102, NULL, 'NaN', 1.5, 'NaN', 'x');
        CREATE TABLE tb_unit (co_seq bigint PRIMARY KEY, no_unit text);
        INSERT INTO tb_unit VALUES (1, 'UBS Centro'), (2, 'UBS Norte');
        CREATE TABLE tb_drifted (co_seq bigint PRIMARY KEY);
        INSERT INTO tb_drifted VALUES (1);
        CREATE TABLE tb_big (co_seq bigint PRIMARY KEY, no_unit text);
        INSERT INTO tb_big SELECT g, repeat('u', 2000) FROM generate_series(1, 300) g;
        CREATE TABLE tb_many_nan (co_seq bigint PRIMARY KEY, vl_num numeric, no_unit text);
        INSERT INTO tb_many_nan SELECT g, 'NaN', repeat('u', 2000) FROM generate_series(1, 300) g;
        CREATE TABLE tb_counter (n int);
        CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE plpgsql VOLATILE AS 'BEGIN PERFORM pg_sleep(1); RETURN true; END';
        CREATE VIEW tb_slow AS SELECT * FROM tb_unit CROSS JOIN generate_series(1, 30) g WHERE slow_row();
        CREATE VIEW tb_slow3a AS SELECT * FROM generate_series(1, 3) g WHERE slow_row();
        CREATE VIEW tb_slow3b AS SELECT * FROM generate_series(1, 3) g WHERE slow_row();
        CREATE VIEW tb_broken AS SELECT g::bigint AS co_seq, (10 / (3 - g))::text AS no_unit FROM generate_series(1, 5) g;`);
    });
    await db.client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${db.readerRole}`);
    [entry] = registryFor([{ db, municipalities: [{ ibge: IBGE, name: 'Campinas' }] }]).municipalities as [MunicipalityEntry];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-extract-unit-'));
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const settings = (over: Partial<ExtractDeps['settings']> = {}) => ({ ...ExtractSettingsSchema.parse({}), applicationName: 'pec-extract-unit', ...over });
  function deps(store: ObjectStore, tables: TableDef[], over: Partial<ExtractDeps> = {}, log = new CapturedLog()): ExtractDeps {
    return {
      store,
      secrets: { resolve: async () => db.readerPassword, pseudonymKey: async () => TEST_KEY },
      municipality: (ibge) => (ibge === IBGE ? entry : undefined),
      tables,
      clock: { now: () => new Date('2026-11-21T06:00:00.000Z') },
      logger: createLogger({ service: 'test', destination: log }),
      settings: settings(),
      // A lease left behind would make the next extraction wait: short, so a leak fails fast.
      lease: { ttlMs: 600_000, waitMs: 1_500, pollMs: 100 },
      ...over,
    };
  }
  const request = (over: Partial<ExtractRequest> = {}): ExtractRequest => ({ runId: RUN, municipality: IBGE, window: WINDOW, trigger: 'daily', loadWhenDone: false, ...over });
  /** The staged CSV of a part, as rows of field texts keyed by the header. */
  async function csv(store: ObjectStore, key: string): Promise<{ header: string[]; rows: Record<string, string>[]; bytes: number }> {
    const text = gunzipSync((await store.read(key))!).toString('utf8');
    const [head, ...lines] = text.split('\n').filter(Boolean);
    const header = head!.split(',');
    return {
      header,
      bytes: Buffer.byteLength(text) - Buffer.byteLength(`${head}\n`),
      rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i]!, v.replace(/^"|"$/g, '')]))),
    };
  }
  async function sessionCount(app: string): Promise<number> {
    const admin = new Client({ connectionString: testServerUrl() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]);
      return rows[0]!.n;
    } finally {
      await admin.end();
    }
  }

  it('stages each table from the municipality and window, hashes personal data, records drift, set-aside values and failed tables in one manifest', async () => {
    const store = new FsObjectStore(fresh());
    const log = new CapturedLog();
    const t0 = Date.now();
    const out = await extractMunicipality(deps(store, [FACT, UNIT, DRIFTED, ABSENT]), request());
    const took = (Date.now() - t0) / 1000;
    expect(out.status).toBe('extracted');
    const m = (out as { manifest: Manifest }).manifest;
    expect(m).toMatchObject({ runId: RUN, municipality: IBGE, finishedAt: '2026-11-21T06:00:00.000Z', pecVersion: '5.10.1', dwProcessedAt: '2026-11-21T01:02:03' });
    expect(m.extractedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Math.abs(Date.parse(m.extractedAt) - Date.now())).toBeLessThan(600_000);
    // The attempt is the snapshot time's digits and a random suffix: every part is under it.
    expect(m.attempt).toBe(`${m.extractedAt.replace(/[^0-9]/g, '').slice(0, 17)}-${m.attempt.slice(-6)}`);
    expect(m.attempt).toMatch(/^\d{17}-[0-9a-f]{6}$/);
    expect(m.failedTables).toEqual([
      { table: 'tb_drifted', errorClass: 'source_schema', message: expect.stringContaining('ds_required') },
      { table: 'tb_absent', errorClass: 'source_schema', message: 'tb_absent does not exist in this source' },
    ]);
    expect(m.tables.map((t) => t.table)).toEqual(['tb_fact', 'tb_unit']);
    // Each table's time is in seconds, within the call's.
    for (const t of m.tables) expect(t.seconds >= 0 && t.seconds <= took).toBe(true);
    const [fact, unit] = m.tables as [Manifest['tables'][number], Manifest['tables'][number]];

    // Windowed: municipality ids 1 and 2 (the 7- and the 6-digit code), [start, end) only.
    expect(fact).toMatchObject({ window: WINDOW, rows: 3, sourceRows: 3, extractedAt: m.extractedAt, setAsideValues: 3 });
    expect(fact.warnings).toEqual([expect.stringContaining('ds_new')]);
    expect(fact.unknownColumns).toEqual(['ds_extra']);
    expect(fact.typeDrift).toEqual([expect.stringContaining('vl_peso')]);
    expect(fact.parts).toHaveLength(1);
    expect(fact.parts[0]!.key).toContain(m.attempt);
    const staged = await csv(store, fact.parts[0]!.key);
    expect(staged.header).toEqual(fact.columns.map((c) => c.name));
    expect(fact.csvBytes).toBe(staged.bytes + Buffer.byteLength(`${staged.header.join(',')}\n`));
    expect(staged.rows.map((r) => r.co_seq).sort()).toEqual(['11', '12', '15']);
    const pseudonym = Pseudonymizer.reference(TEST_KEY, CPF);
    expect(staged.rows.map((r) => r.nu_cpf).sort()).toEqual(['', pseudonym, pseudonym]);
    expect(staged.rows.find((r) => r.co_seq === '12')!.vl_num).toBe('');
    expect(JSON.stringify(staged)).not.toContain(CPF);

    // Full refresh: the installation's whole table, no window.
    expect(unit).toMatchObject({ window: null, rows: 2, sourceRows: 2, parts: [expect.anything()] });
    expect(unit.warnings).toEqual([]);
    expect(unit).not.toHaveProperty('setAsideValues');
    expect(unit).not.toHaveProperty('unknownColumns');
    expect(unit).not.toHaveProperty('typeDrift');
    expect((await csv(store, unit.parts[0]!.key)).rows.map((r) => r.no_unit)).toEqual(['UBS Centro', 'UBS Norte']);

    // The three NaN values (row 12's vl_num2 conforms), as records of their own slice: the snapshot's day, [day, day + 1).
    const day = m.extractedAt.slice(0, 10);
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(m.setAside).toMatchObject({ table: SET_ASIDE_TABLE.name, window: { start: day, end: next }, rows: 3, sourceRows: 3, extractedAt: m.extractedAt, warnings: [] });
    const aside = await csv(store, m.setAside!.parts[0]!.key);
    expect(aside.header).toEqual(m.setAside!.columns.map((c) => c.name));
    expect(m.setAside!.csvBytes).toBe(aside.bytes + Buffer.byteLength(`${aside.header.join(',')}\n`));
    const ts = m.extractedAt.replace('T', ' ').replace(/Z$/, '');
    // As PostgreSQL would write them (the load reads them the same way): text quoted, the byte count not.
    const raw = gunzipSync((await store.read(m.setAside!.parts[0]!.key))!)
      .toString('utf8')
      .split('\n')
      .slice(1, -1);
    const line = (pk: string, col: string) => `"tb_fact","${col}","[""${pk}""]","numeric_nan","NaN",3,"${day}","${IBGE}","${RUN}","${ts}"`;
    expect(raw.sort()).toEqual([line('12', 'vl_num'), line('15', 'vl_num'), line('15', 'vl_num2')].sort());
    expect(Object.keys(aside.rows[0]!).slice(0, 3)).toEqual(SET_ASIDE_TABLE.columns.slice(0, 3).map((c) => c.name));
    // Every object written is a part of this attempt or the manifest; the lease is released.
    const keys = await store.list('runs/');
    expect(keys.sort()).toEqual([...m.tables.flatMap((t) => t.parts.map((p) => p.key)), m.setAside!.parts[0]!.key, `runs/${RUN}/manifests/${IBGE}.json`].sort());
    const lease = await store.list('leases/');
    expect(lease.map((k) => k.replace(/^.*\//, ''))).toEqual(['00000001.json', '00000001.released']);
    expect(JSON.parse((await store.read(lease[0]!))!.toString('utf8')).holder).toBe(`${RUN}/${IBGE}`);

    // Delivered again: the committed manifest, nothing written.
    const again = await extractMunicipality(deps(store, [FACT, UNIT, DRIFTED, ABSENT], {}, log), request());
    expect(again).toEqual({ status: 'already_extracted', manifest: m });
    expect((await store.list('runs/')).sort()).toEqual(keys.sort());
    expect(log.lines.join('\n')).toContain('manifest already committed');
  });

  it('logs each table, its drift and its set-aside values, at warning level where alerting must see them', async () => {
    const log = new CapturedLog();
    await extractMunicipality(deps(new FsObjectStore(fresh()), [FACT, UNIT, DRIFTED], {}, log), request());
    const lines = log.lines.map((l) => JSON.parse(l) as { severity: string; message: string; table?: string });
    const at = (msg: string) => lines.filter((l) => l.message.startsWith(msg)).map((l) => [l.table, l.severity]);
    const warn = 'WARNING';
    expect(at('table staged')).toEqual([
      ['tb_fact', 'INFO'],
      ['tb_unit', 'INFO'],
    ]);
    expect(at('schema drift: column(s) absent')).toEqual([['tb_fact', warn]]);
    expect(at('schema drift: source column(s) unknown')).toEqual([['tb_fact', warn]]);
    expect(at('schema drift: source column type(s)')).toEqual([['tb_fact', warn]]);
    expect(at('values the warehouse types cannot hold')).toEqual([['tb_fact', warn]]);
    expect(at('table failed: schema drift')).toEqual([['tb_drifted', warn]]);
  });

  it('only the requested tables, in registry order', async () => {
    const out = await extractMunicipality(deps(new FsObjectStore(fresh()), [FACT, UNIT, DRIFTED]), request({ tables: ['tb_drifted', 'tb_unit'] }));
    const m = (out as { manifest: Manifest }).manifest;
    expect(m.tables.map((t) => t.table)).toEqual(['tb_unit']);
    expect(m.failedTables.map((t) => t.table)).toEqual(['tb_drifted']);
    expect(m).not.toHaveProperty('setAside');
  });

  it('set-aside values over many chunks of one COPY: each recorded once (the sink takes each batch of descriptions once)', async () => {
    const store = new FsObjectStore(fresh());
    const out = await extractMunicipality(deps(store, [MANY_NAN]), request());
    const m = (out as { manifest: Manifest }).manifest;
    expect(m.tables[0]).toMatchObject({ rows: 300, sourceRows: 300, setAsideValues: 300 });
    expect(m.setAside).toMatchObject({ rows: 300 });
  });

  it('closes a part at partMaxBytes and opens the next one: every row in exactly one part', async () => {
    const store = new FsObjectStore(fresh());
    const out = await extractMunicipality(deps(store, [BIG], { settings: settings({ partMaxBytes: 64 * 1024 }) }), request());
    const t = (out as { manifest: Manifest }).manifest.tables[0]!;
    expect(t.parts.length).toBeGreaterThan(2);
    expect(t.parts.map((p) => p.key)).toEqual(t.parts.map((_, i) => t.parts[0]!.key.replace(/0+(\.csv\.gz)$/, `${String(i).padStart(5, '0')}$1`)));
    const parts = await Promise.all(t.parts.map((p) => csv(store, p.key)));
    expect(parts.map((p) => p.rows.length)).toEqual(t.parts.map((p) => p.rows));
    expect(parts.flatMap((p) => p.rows.map((r) => Number(r.co_seq)))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(t).toMatchObject({ rows: 300, sourceRows: 300 });
    // A part is closed once it holds the limit (checked per chunk of rows): every part but the last
    // reached it. The total counts the header of every part.
    for (const p of parts.slice(0, -1)) expect(p.bytes + Buffer.byteLength(`${p.header.join(',')}\n`)).toBeGreaterThanOrEqual(64 * 1024);
    expect(t.csvBytes).toBe(parts.reduce((n, p) => n + p.bytes + Buffer.byteLength(`${p.header.join(',')}\n`), 0));
  });

  it('continues table by table when the time budget is used, and the last invocation commits one manifest with the first snapshot', async () => {
    const store = new FsObjectStore(fresh());
    const d = deps(store, [FACT, DRIFTED, UNIT, BIG], { settings: settings({ timeBudgetMs: 1 }) });
    const outcomes: ExtractOutcome[] = [];
    for (let i = 0; i < 6 && outcomes.at(-1)?.status !== 'extracted'; i++) {
      const last = outcomes.at(-1);
      outcomes.push(await extractMunicipality(d, request(last?.status === 'continue' ? { continuation: { sequence: last.nextSequence - 1 } } : {})));
      await new Promise((r) => setTimeout(r, 5));
    }
    // Each invocation stages at least one table before it looks at the budget; a table that fails
    // (schema drift) is done but is not that one table.
    expect(outcomes.slice(0, 2)).toEqual([
      { status: 'continue', nextSequence: 2, tablesDone: 1, tablesLeft: 3 },
      { status: 'continue', nextSequence: 3, tablesDone: 2, tablesLeft: 1 },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['continue', 'continue', 'extracted']);
    const cps = await store.list(`runs/${RUN}/checkpoints/${IBGE}/`);
    expect(cps).toHaveLength(2);
    const [first, second] = await Promise.all(cps.map(async (k) => JSON.parse((await store.read(k))!.toString('utf8'))));
    expect(first.tables.map((t: { table: string }) => t.table)).toEqual(['tb_fact']);
    expect(first).toMatchObject({ pecVersion: '5.10.1', dwProcessedAt: '2026-11-21T01:02:03', failedTables: [] });
    expect(first.setAside).toMatchObject({ rows: 3 });
    expect(second.failedTables.map((t: { table: string }) => t.table)).toEqual(['tb_drifted']);
    expect(second.tables.map((t: { table: string }) => t.table)).toEqual(['tb_unit']);
    expect(second).not.toHaveProperty('setAside');
    // Later invocations keep the first snapshot time; each writes under its own attempt.
    expect(second.extractedAt).toBe(first.extractedAt);
    expect(second.attempt).not.toBe(first.attempt);
    const m = (outcomes[2] as { manifest: Manifest }).manifest;
    expect(m).toMatchObject({ attempt: first.attempt, extractedAt: first.extractedAt, pecVersion: '5.10.1', dwProcessedAt: '2026-11-21T01:02:03' });
    expect(m.tables.map((t) => t.table)).toEqual(['tb_fact', 'tb_unit', 'tb_big']);
    expect(m.tables[2]!.extractedAt).not.toBe(first.extractedAt);
    expect(m.failedTables.map((t) => t.table)).toEqual(['tb_drifted']);
    expect(m.setAside).toEqual(first.setAside);
  });

  it("a continuation's set-aside records join the first invocation's slice: one slice, every part, the rows summed", async () => {
    const store = new FsObjectStore(fresh());
    const other = TableDef.parse({ ...FACT, name: 'tb_fact2', description: 'the same facts again' });
    await db.client.query('DROP TABLE IF EXISTS tb_fact2; CREATE TABLE tb_fact2 AS SELECT * FROM tb_fact');
    await db.client.query(`GRANT SELECT ON tb_fact2 TO ${db.readerRole}`);
    const d = deps(store, [FACT, other], { settings: settings({ timeBudgetMs: 1 }) });
    const first = await extractMunicipality(d, request());
    expect(first).toMatchObject({ status: 'continue', nextSequence: 2 });
    await new Promise((r) => setTimeout(r, 20));
    const out = await extractMunicipality(d, request({ continuation: { sequence: 1 } }));
    const m = (out as { manifest: Manifest }).manifest;
    const [cp] = await store.list(`runs/${RUN}/checkpoints/${IBGE}/`);
    const firstAside = JSON.parse((await store.read(cp!))!.toString('utf8')).setAside;
    expect(m.setAside!.parts).toHaveLength(2);
    expect(m.setAside!.parts[0]).toEqual(firstAside.parts[0]);
    expect(m.setAside).toMatchObject({ rows: 6, sourceRows: 6, window: firstAside.window, extractedAt: m.extractedAt });
    const files = await Promise.all(m.setAside!.parts.map((p) => csv(store, p.key)));
    expect(m.setAside!.csvBytes).toBe(files.reduce((n, f) => n + f.bytes + Buffer.byteLength(`${f.header.join(',')}\n`), 0));
    const rows = files.flatMap((p) => p.rows);
    expect(new Set(rows.map((r) => r.extracted_at ?? Object.values(r).at(-1)))).toEqual(new Set([m.extractedAt.replace('T', ' ').replace(/Z$/, '')]));
    expect(rows.map((r) => r.table_name ?? Object.values(r)[0]).sort()).toEqual(['tb_fact', 'tb_fact', 'tb_fact', 'tb_fact2', 'tb_fact2', 'tb_fact2']);
  });

  it('a concurrent delivery that wrote the checkpoint first wins: superseded, nothing more written', async () => {
    const store = new FsObjectStore(fresh());
    const d = deps(store, [UNIT, FACT], { settings: settings({ timeBudgetMs: 1 }) });
    await extractMunicipality(d, request());
    const [cp] = await store.list(`runs/${RUN}/checkpoints/${IBGE}/`);
    // Another delivery read no checkpoint yet: it sees the same state the first one saw.
    const blind = overriding(store, { list: (p) => (p.includes('/checkpoints/') ? Promise.resolve([]) : store.list(p)) });
    const out = await extractMunicipality({ ...d, store: blind }, request());
    expect(out).toEqual({ status: 'superseded' });
    expect(await store.list(`runs/${RUN}/checkpoints/${IBGE}/`)).toEqual([cp]);
    expect(await store.list(`runs/${RUN}/manifests/`)).toEqual([]);
  });

  it('a manifest committed by a concurrent delivery is the answer: already_extracted with the winner', async () => {
    const store = new FsObjectStore(fresh());
    const d = deps(store, [UNIT]);
    const winner = (await extractMunicipality(d, request())) as { manifest: Manifest };
    const blind = overriding(store, { read: async (k) => (k.includes('/manifests/') && !blindSeen++ ? undefined : store.read(k)) });
    let blindSeen = 0;
    const out = await extractMunicipality({ ...d, store: blind }, request());
    expect(out).toEqual({ status: 'already_extracted', manifest: winner.manifest });
  });

  it('refuses a municipality not in the registry, disabled, or without a tb_dim_municipio row: unknown_municipality, terminal', async () => {
    const store = new FsObjectStore(fresh());
    const e1 = await failure(extractMunicipality(deps(store, [UNIT]), request({ municipality: '3550308' })));
    expect({ ...classOf(e1), message: e1.message }).toEqual({
      type: true,
      errorClass: 'unknown_municipality',
      transient: false,
      message: 'municipality 3550308 is not in the registry',
    });
    const e2 = await failure(extractMunicipality(deps(store, [UNIT], { municipality: () => ({ ...entry, enabled: false }) }), request()));
    expect({ ...classOf(e2), message: e2.message }).toEqual({
      type: true,
      errorClass: 'unknown_municipality',
      transient: false,
      message: `municipality ${IBGE} is disabled in the registry`,
    });
    const e3 = await failure(extractMunicipality(deps(store, [UNIT], { municipality: () => ({ ...entry, ibge: '3304557' }) }), request({ municipality: '3304557' })));
    expect(classOf(e3)).toEqual({ type: true, errorClass: 'unknown_municipality', transient: false });
    expect(e3.message).toContain('no tb_dim_municipio row with co_ibge 3304557');
    expect(await store.list('runs/')).toEqual([]);
    expect(await sessionCount('pec-extract-unit')).toBe(0);
  });

  it('caps each statement at what the delivery has left (at least 1 s): a hung COPY is cancelled as source_timeout', async () => {
    const store = new FsObjectStore(fresh());
    const e = await failure(extractMunicipality(deps(store, [UNIT, SLOW], { statementDeadlineMs: 1 }), request()));
    expect(classOf(e)).toEqual({ type: true, errorClass: 'source_timeout', transient: true });
    expect(e.message).toContain('57014');
    // The first table ran under the same 1 s cap and finished: the cap is a timeout, not a refusal.
    const ok = await extractMunicipality(deps(new FsObjectStore(fresh()), [UNIT], { statementDeadlineMs: 1 }), request());
    expect(ok.status).toBe('extracted');
    // Without a deadline near, the configured timeout applies (a 1 s statement timeout cancels too).
    const e2 = await failure(extractMunicipality(deps(new FsObjectStore(fresh()), [SLOW], { settings: settings({ statementTimeoutMs: 1_000 }) }), request()));
    expect(e2.message).toContain('57014');
    expect(await store.list(`runs/${RUN}/manifests/`)).toEqual([]);
  });

  it('the cap is what the delivery has LEFT when each table starts: a 3 s table fits a 4.5 s deadline, the next one does not', async () => {
    const store = new FsObjectStore(fresh());
    const e = await failure(extractMunicipality(deps(store, [SLOW3('tb_slow3a'), SLOW3('tb_slow3b')], { statementDeadlineMs: 4_500 }), request()));
    expect(classOf(e)).toEqual({ type: true, errorClass: 'source_timeout', transient: true });
    expect((await store.list('runs/')).map((k) => k.split('/')[3])).toEqual(['tb_slow3a']);
  });

  it('a source error mid-COPY fails the municipality, classed by its SQLSTATE; the part is not left, the session and lease are released', async () => {
    const store = new FsObjectStore(fresh());
    const e = await failure(extractMunicipality(deps(store, [FACT, UNIT, BROKEN]), request()));
    expect(e).toBeInstanceOf(PipelineError);
    expect(e.message).toMatch(/^source error 22012: /);
    // The parts in flight (tb_broken's and the set-aside records') are aborted: no object, no temporary file.
    expect((await store.list('runs/')).map((k) => k.split('/')[3]).sort()).toEqual(['tb_fact', 'tb_unit']);
    const files = () =>
      fs
        .readdirSync(store.root, { recursive: true })
        .map(String)
        .filter((f) => f.includes('.tmp-'));
    for (let i = 0; i < 40 && files().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(files()).toEqual([]);
    expect(await store.list(`runs/${RUN}/manifests/`)).toEqual([]);
    expect(await sessionCount('pec-extract-unit')).toBe(0);
    // The lease was released: the next extraction of this installation does not wait for it.
    expect((await extractMunicipality(deps(store, [UNIT]), request())).status).toBe('extracted');
  });

  it('rows written and the rows PostgreSQL reports for the COPY must agree: a count one off fails the municipality as internal, nothing committed', async () => {
    const proxy = new TcpProxy(testServerPort());
    await proxy.up();
    const viaProxy: MunicipalityEntry = { ...entry, connection: { ...entry.connection, port: proxy.port } };
    try {
      proxy.misreportCopyCount(1);
      const store = new FsObjectStore(fresh());
      const e = await failure(extractMunicipality(deps(store, [UNIT], { municipality: (ibge) => (ibge === IBGE ? viaProxy : undefined) }), request()));
      expect({ ...classOf(e), message: e.message }).toEqual({ type: true, errorClass: 'internal', transient: false, message: 'tb_unit: wrote 2 rows but PostgreSQL reported 3' });
      expect(await store.list(`runs/${RUN}/manifests/`)).toEqual([]);
    } finally {
      await proxy.down();
    }
  });

  it('a part upload that takes every byte and then fails (the store refuses at completion) is a transient storage error too', async () => {
    for (const failOn of ['tb_unit', 'tb_fact/']) {
      const store = new FsObjectStore(fresh());
      const refusing = overriding(store, {
        create: async (key, body, type) => {
          if (!key.includes(failOn)) return store.create(key, body, type);
          for await (const _ of body); // every write succeeds: only the part's finish() can fail
          throw new Error(`upload not completed at ${key}`);
        },
      });
      const e = await failure(extractMunicipality(deps(refusing, [UNIT, FACT]), request()));
      expect([failOn, classOf(e)]).toEqual([failOn, { type: true, errorClass: 'storage', transient: true }]);
      expect(e.message).toMatch(/^object store: upload not completed at /);
      expect(await store.list(`runs/${RUN}/manifests/`)).toEqual([]);
    }
    expect(await sessionCount('pec-extract-unit')).toBe(0);
  });

  it('a failed write to the store is a transient storage error, and nothing is committed', async () => {
    for (const failOn of ['tb_unit', 'tb_fact/', SET_ASIDE_TABLE.name, '/checkpoints/', '/manifests/']) {
      const store = new FsObjectStore(fresh());
      const broken = overriding(store, {
        create: async (key, body, type) => {
          if (key.includes(failOn)) {
            body.resume();
            throw new Error(`disk full at ${key}`);
          }
          return store.create(key, body, type);
        },
      });
      const e = await failure(extractMunicipality(deps(broken, [UNIT, FACT], failOn === '/checkpoints/' ? { settings: settings({ timeBudgetMs: 1 }) } : {}), request()));
      expect([failOn, classOf(e)]).toEqual([failOn, { type: true, errorClass: 'storage', transient: true }]);
      expect(e.message).toMatch(/^object store: disk full at /);
      expect((e.cause as Error).message).toMatch(/^disk full at /);
      expect(await store.list(`runs/${RUN}/manifests/`)).toEqual([]);
    }
    expect(await sessionCount('pec-extract-unit')).toBe(0);
  });
});

describe('the source session', () => {
  let db: TestDatabase;
  let entry: MunicipalityEntry;
  const limits: SourceLimits = {
    connectTimeoutMs: 1_500,
    statementTimeoutMs: 4_321,
    lockTimeoutMs: 1_234,
    idleInTransactionTimeoutMs: 65_432,
    applicationName: 'pec-session-unit',
  };

  beforeAll(async () => {
    db = await createTestDatabase('source_session', async (c) => {
      await c.query(`CREATE TABLE tb_x (n int); INSERT INTO tb_x VALUES (1), (2);
        CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint, co_ibge text); INSERT INTO tb_dim_municipio VALUES (7, '3509502'), (5, '350950'), (9, '3550308');`);
    });
    [entry] = registryFor([{ db, municipalities: [{ ibge: IBGE, name: 'Campinas' }] }]).municipalities as [MunicipalityEntry];
  }, 120_000);
  afterAll(async () => db?.drop());

  it('one read-only REPEATABLE READ snapshot with the limits and output settings the extractor relies on', async () => {
    const s = await SourceSession.open(entry, db.readerPassword, limits);
    try {
      const show = async (name: string) => (await s.query<{ v: string }>(`SELECT current_setting($1) AS v`, [name]))[0]!.v;
      expect({
        iso: await show('transaction_isolation'),
        ro: await show('transaction_read_only'),
        sessionRo: await show('default_transaction_read_only'),
        digits: await show('extra_float_digits'),
        date: await show('DateStyle'),
        interval: await show('IntervalStyle'),
        tz: await show('TimeZone'),
        stmt: await show('statement_timeout'),
        lock: await show('lock_timeout'),
        idle: await show('idle_in_transaction_session_timeout'),
        app: await show('application_name'),
      }).toEqual({
        iso: 'repeatable read',
        ro: 'on',
        sessionRo: 'on',
        digits: '3',
        date: 'ISO, YMD',
        interval: 'postgres',
        tz: 'UTC',
        stmt: '4321ms',
        lock: '1234ms',
        idle: '65432ms',
        app: 'pec-session-unit',
      });
      // One snapshot: a row committed by another session after the first read does not show up.
      expect((await s.query('SELECT n FROM tb_x')).length).toBe(2);
      await db.client.query('INSERT INTO tb_x VALUES (3)');
      expect((await s.query('SELECT n FROM tb_x')).length).toBe(2);
      const copy = s.copyOut('COPY (SELECT n FROM tb_x ORDER BY n) TO STDOUT');
      let text = '';
      for await (const chunk of copy) text += String(chunk);
      expect(text).toBe('1\n2\n');
      expect(await copy.completed).toBe(2);
      // A write fails inside PostgreSQL, and so does one after a stray COMMIT (the session is read-only).
      const w1 = await failure(s.query('INSERT INTO tb_x VALUES (4)'));
      expect(w1.message).toContain('25006');
      await s.query('ROLLBACK').catch(() => undefined);
      await s.query('COMMIT');
      const w2 = await failure(s.query('INSERT INTO tb_x VALUES (5)'));
      expect(w2.message).toContain('25006');
    } finally {
      await s.close();
      await db.client.query('DELETE FROM tb_x WHERE n > 2');
    }
  });

  it('a failed statement is classed by its own SQLSTATE', async () => {
    const s = await SourceSession.open(entry, db.readerPassword, limits);
    try {
      const e = await failure(s.query('SELECT 1 / 0'));
      expect(e).toBeInstanceOf(PipelineError);
      expect(e.message).toMatch(/^source error 22012: /);
      // The transaction is now aborted: the next statement says so (25P02), with its own SQLSTATE.
      const p = await failure(s.query('SELECT n FROM tb_x WHERE n = $1', [1]));
      expect(p.message).toMatch(/^source error 25P02: /);
    } finally {
      await s.close();
    }
    expect(await countApp(limits.applicationName)).toBe(0);
  });

  it('facts: the snapshot time, the newest PEC version, the DW processing time, both forms of the IBGE code, the columns', async () => {
    const s = await SourceSession.open(entry, db.readerPassword, limits);
    try {
      const f = await readSourceFacts(s, IBGE, ['tb_x', 'tb_dim_municipio', 'tb_none']);
      expect(f.municipioIds).toEqual(['5', '7']);
      // No tb_migracao, no tb_relatorio_processamento: no version, no DW time.
      expect(f.pecVersion).toBeNull();
      expect(f.dwProcessedAt).toBeNull();
      const [now] = await s.query<{ t: string }>('SELECT to_char(now() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') AS t');
      expect(f.snapshotAt).toBe(now!.t);
      expect([...f.columnsByTable.keys()].sort()).toEqual(['tb_dim_municipio', 'tb_x']);
      expect([...f.columnsByTable.get('tb_dim_municipio')!.entries()]).toEqual([
        ['co_seq_dim_municipio', { dataType: 'bigint', maxChars: null, precision: null, scale: null }],
        ['co_ibge', { dataType: 'text', maxChars: null, precision: null, scale: null }],
      ]);
    } finally {
      await s.close();
    }
  });

  it('the newest PEC version compares numerically, part by part; the DW time is the latest processing', async () => {
    await db.client.query(`CREATE TABLE tb_migracao (ds_filename text); CREATE TABLE tb_relatorio_processamento (dt_processamento timestamp);
      GRANT SELECT ON tb_migracao, tb_relatorio_processamento TO ${db.readerRole}`);
    const facts = async () => {
      const s = await SourceSession.open(entry, db.readerPassword, limits);
      try {
        return await readSourceFacts(s, IBGE, []);
      } finally {
        await s.close();
      }
    };
    try {
      expect(await facts()).toMatchObject({ pecVersion: null, dwProcessedAt: null, columnsByTable: new Map() });
      for (const [files, newest] of [
        [['db/v5.2.9/a.sql', 'db/v5.10/b.sql', 'db/v5.2.10/c.sql'], '5.10'],
        [['db/v5.10/b.sql', 'db/v5.10.1/c.sql', 'db/v5.9.99/d.sql'], '5.10.1'],
        [['db/v5.10.1/c.sql', 'db/v5.10/b.sql'], '5.10.1'],
        [['db/v4.2.7/a.sql', 'db/v5/b.sql', 'db/v4.10.0/c.sql'], '5'],
        [['db/v5.3/a.sql', 'db/v5.3.0/b.sql', 'db/v5.2.99/c.sql'], expect.stringMatching(/^5\.3(\.0)?$/)],
        [['scripts/x.sql', 'db/vX/y.sql'], null],
      ] as const) {
        await db.client.query('TRUNCATE tb_migracao');
        for (const f of files) await db.client.query('INSERT INTO tb_migracao VALUES ($1)', [f]);
        expect([files, (await facts()).pecVersion]).toEqual([files, newest]);
      }
      await db.client.query(`INSERT INTO tb_relatorio_processamento VALUES ('2026-11-20 03:04:05'), ('2026-11-21 01:02:03.9'), (NULL)`);
      expect((await facts()).dwProcessedAt).toBe('2026-11-21T01:02:03');
    } finally {
      await db.client.query('DROP TABLE tb_migracao, tb_relatorio_processamento');
    }
  });

  it('the newest version is the greatest part by part, whatever the order the source lists them in', () => {
    for (const v of [
      ['5.10', '5.10.1'],
      ['5.10.1', '5.10'],
    ])
      expect(newestVersion([...v])).toBe('5.10.1');
    expect(newestVersion(['5.9.99', '5.10'])).toBe('5.10');
    expect(newestVersion([])).toBeNull();
  });

  it('a backend terminated by a DBA: later queries and COPYs fail with the server’s reason (57P01, source_unreachable), close() still resolves', async () => {
    const app = 'pec-session-killed';
    const s = await SourceSession.open(entry, db.readerPassword, { ...limits, applicationName: app });
    await db.client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
    for (let i = 0; i < 50 && (await countApp(app)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    const e = await failure(s.query('SELECT 1'));
    expect({ ...classOf(e), sqlstate: e.message.match(/^source error (\w+)/)?.[1] }).toEqual({ type: true, errorClass: 'source_unreachable', transient: true, sqlstate: '57P01' });
    const copy = s.copyOut('COPY (SELECT 1) TO STDOUT');
    const streamed = await new Promise<Error>((resolve) => {
      copy.on('error', resolve);
      copy.resume();
    });
    expect((streamed as { code?: string }).code).toBe('57P01');
    await expect(copy.completed).rejects.toMatchObject({ code: '57P01' });
    await expect(s.close()).resolves.toBeUndefined();
  });

  it('connection failures are classed at connect: wrong password and a role that may not CONNECT are credentials; nothing is left open', async () => {
    const wrong = await failure(SourceSession.open(entry, 'not-the-password', limits));
    expect({ ...classOf(wrong), code: wrong.message.match(/^source error (\w+)/)?.[1] }).toEqual({ type: true, errorClass: 'source_auth', transient: false, code: '28P01' });
    const role = `noconnect_${db.name}`;
    await db.client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-noconnect'`);
    try {
      const denied = await failure(SourceSession.open({ ...entry, connection: { ...entry.connection, user: role } }, 'pw-noconnect', limits));
      expect({ ...classOf(denied), code: denied.message.match(/^source error (\w+)/)?.[1] }).toEqual({ type: true, errorClass: 'source_auth', transient: false, code: '42501' });
    } finally {
      await db.client.query(`DROP ROLE ${role}`);
    }
    // TLS asked of a server without it (this test server): refused, never silently in clear text.
    const tls = await failure(SourceSession.open({ ...entry, connection: { ...entry.connection, sslmode: 'require' } }, db.readerPassword, limits));
    expect(tls.message).toMatch(/does not support SSL/);
    // A database the role may not see at all.
    const missing = await failure(SourceSession.open({ ...entry, connection: { ...entry.connection, database: 'no_such_database' } }, db.readerPassword, limits));
    expect(classOf(missing)).toEqual({ type: true, errorClass: 'source_auth', transient: false });
    expect(await countApp(limits.applicationName)).toBe(0);
  });

  it('TLS: "require" encrypts without checking the certificate; "verify-full" refuses a certificate no known CA signed', async () => {
    // A TLS front for the test server (which has no TLS): it answers PostgreSQL's SSLRequest with 'S',
    // completes the handshake with a self-signed certificate, and relays the decrypted bytes. The key and
    // certificate are committed test fixtures (made once by `openssl req -x509 … -days 36500 -subj
    // /CN=127.0.0.1`): npm test needs nothing beyond Node and npm.
    const dir = path.join(__dirname, '..', 'fixtures', 'tls');
    const sockets = new Set<net.Socket>();
    const front = net.createServer((raw) => {
      sockets.add(raw);
      raw.once('data', (d: Buffer) => {
        // SSLRequest: length 8, code 80877103. Anything else means the client did not ask for TLS.
        if (d.length !== 8 || d.readInt32BE(4) !== 80877103) return void raw.destroy();
        raw.write('S');
        const secure = new tls.TLSSocket(raw, { isServer: true, key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) });
        const upstream = net.connect(testServerPort(), '127.0.0.1');
        sockets.add(upstream);
        secure.pipe(upstream).pipe(secure);
        const close = () => [secure, upstream, raw].forEach((s) => s.destroy());
        secure.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
    });
    try {
      await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
      const port = (front.address() as net.AddressInfo).port;
      const via = (sslmode: 'require' | 'verify-full'): MunicipalityEntry => ({ ...entry, connection: { ...entry.connection, port, sslmode } });
      const s = await SourceSession.open(via('require'), db.readerPassword, limits);
      try {
        expect(await s.query<{ n: number }>('SELECT count(*)::int AS n FROM tb_x')).toEqual([{ n: 2 }]);
      } finally {
        await s.close();
      }
      const refused = await failure(SourceSession.open(via('verify-full'), db.readerPassword, limits));
      expect(refused.message).toMatch(/self[- ]signed certificate/);
      expect(classOf(refused).type).toBe(true);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((r) => front.close(r));
    }
  });

  it('TCP keep-alive is on for the source connection (a peer gone without a FIN is noticed), read from the kernel', async () => {
    // Linux lists each TCP socket in /proc/net/tcp; timer code 02 is the keep-alive timer, armed only
    // on a socket with SO_KEEPALIVE. The client's port is the one PostgreSQL sees for this session.
    if (process.platform !== 'linux') {
      console.warn('SKIPPED: TCP keep-alive check (needs Linux /proc/net/tcp)');
      return;
    }
    const s = await SourceSession.open(entry, db.readerPassword, limits);
    try {
      const admin = new Client({ connectionString: testServerUrl() });
      await admin.connect();
      let port: number;
      try {
        const { rows } = await admin.query<{ p: number }>('SELECT client_port AS p FROM pg_stat_activity WHERE application_name = $1', [limits.applicationName]);
        expect(rows).toHaveLength(1);
        port = rows[0]!.p;
      } finally {
        await admin.end();
      }
      const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
      const line = fs
        .readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .find((f) => f[1]?.endsWith(`:${hex(port)}`) && f[2]?.endsWith(`:${hex(testServerPort())}`));
      expect(line?.[5]?.slice(0, 2)).toBe('02');
    } finally {
      await s.close();
    }
  });

  it('the connection lost right after the startup, at BEGIN: open fails (no session handed out), classed source_unreachable, transient', async () => {
    const proxy = new TcpProxy(testServerPort());
    await proxy.up();
    try {
      proxy.killAtQuery('BEGIN');
      const e = await failure(SourceSession.open({ ...entry, connection: { ...entry.connection, port: proxy.port } }, db.readerPassword, limits));
      expect(proxy.statements).toEqual(['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY']);
      expect(classOf(e)).toEqual({ type: true, errorClass: 'source_unreachable', transient: true });
    } finally {
      await proxy.down();
    }
  });

  it('a server that accepts the connection and never answers: given up after connectTimeoutMs, transient', async () => {
    const silent = net.createServer(() => {});
    const sockets: net.Socket[] = [];
    silent.on('connection', (c) => sockets.push(c));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const e = await failure(SourceSession.open({ ...entry, connection: { ...entry.connection, port } }, db.readerPassword, { ...limits, connectTimeoutMs: 500 }));
      expect(classOf(e)).toMatchObject({ type: true, transient: true });
      expect(e.message).toMatch(/timeout/i);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  async function countApp(app: string): Promise<number> {
    const admin = new Client({ connectionString: testServerUrl() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]);
      return rows[0]!.n;
    } finally {
      await admin.end();
    }
  }
});
