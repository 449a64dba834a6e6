import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Manifest } from '../../shared/contracts/manifest';
import { SET_ASIDE_TABLE, TableRegistry, TEXT_MAX_BYTES } from '../../shared/contracts/tables';
import { layout } from '../../shared/records/layout';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';

/**
 * Round trip per type (issue 12): a real PostgreSQL source holding ordinary values, both ends of
 * each type's range, values just outside it, NULL vs '', and awkward text → the real extractor
 * (COPY, conformance checks, CSV transform, gzip parts, manifest) → the real load path into the
 * local DuckDB warehouse. In-range values must come back exactly (doubles bit for bit); every
 * value outside the range must come back NULL with a record in ops.set_aside_values, a count in
 * the manifest, a reconciliation row and an alert. The odd values are injected with SQL into a
 * table the test creates (scripts/synthetic-pec is not touched).
 */
const REGISTRY = TableRegistry.parse([
  {
    name: 'tb_dim_municipio',
    description: 'municipalities of the fixture',
    primaryKey: ['co_seq_dim_municipio'],
    municipality: { kind: 'installation' },
    mode: { kind: 'full' },
    columns: [
      { name: 'co_seq_dim_municipio', type: 'bigint' },
      { name: 'co_ibge', type: 'text' },
    ],
  },
  {
    name: 'tb_fat_tipos',
    description: 'one column per registry type',
    primaryKey: ['co_seq'],
    municipality: { kind: 'column', column: 'co_dim_municipio' },
    mode: { kind: 'full' },
    columns: [
      { name: 'co_seq', type: 'bigint' },
      { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
      { name: 'no_nome', type: 'text', pii: { kind: 'name', policy: 'drop' } },
      { name: 'ds_texto', type: 'text' },
      { name: 'nu_grande', type: 'bigint' },
      // Registry narrower than the source (source bigint / integer): out-of-range values exist.
      { name: 'nu_inteiro', type: 'integer' },
      { name: 'nu_pequeno', type: 'smallint' },
      // Registry integer, source numeric: fractions and NaN cannot land either.
      { name: 'nu_contagem', type: 'integer' },
      { name: 'nu_decimal', type: 'numeric' },
      // The registry pins this one (a blood pressure): it lands as DECIMAL(5,1) / NUMERIC(5,1).
      { name: 'nu_pressao', type: 'numeric', precision: 5, scale: 1 },
      { name: 'nu_real', type: 'double' },
      { name: 'dt_data', type: 'date' },
      { name: 'dt_hora', type: 'timestamp' },
      { name: 'dt_nascimento', type: 'date', pii: { kind: 'birth_date', policy: 'keep', reason: 'age bands drive the indicators (fixture)' } },
      { name: 'co_dim_municipio', type: 'bigint' },
    ],
  },
]);

type Row = Partial<
  Record<
    'ds_texto' | 'nu_grande' | 'nu_inteiro' | 'nu_pequeno' | 'nu_decimal' | 'nu_pressao' | 'nu_real' | 'dt_data' | 'dt_hora' | 'nu_cpf' | 'dt_nascimento' | 'nu_contagem',
    string | null
  >
>;
/** Source rows (PostgreSQL literals as text) and, for out-of-range ones, the reason expected. */
const CASES: { row: Row; setAside?: [column: string, reason: string] }[] = [
  // text: NULL vs '', separators, quotes, line breaks, backslashes, \N, non-ASCII, the length limit
  { row: { ds_texto: null } },
  { row: { ds_texto: '' } },
  { row: { ds_texto: 'vírgula, "aspas" e \'apóstrofo\'' } },
  { row: { ds_texto: 'linha 1\nlinha 2\r\nlinha 3\r' } },
  { row: { ds_texto: 'barra \\ invertida \\\\ e \\N e \\.' } },
  { row: { ds_texto: '\\N' } },
  { row: { ds_texto: 'ção 日本 🙂 \t tab' } },
  { row: { ds_texto: '"' } },
  // Exactly the limit, all quotes: the staged CSV line doubles it (2 MiB + the rest of the row).
  { row: { ds_texto: '"'.repeat(TEXT_MAX_BYTES) } },
  { row: { ds_texto: 'x'.repeat(TEXT_MAX_BYTES + 1) }, setAside: ['ds_texto', 'text_too_long'] },
  { row: { ds_texto: 'é'.repeat(1_100_000) }, setAside: ['ds_texto', 'text_too_long'] },
  // bigint: both ends (no outside: PostgreSQL bigint has the same range)
  { row: { nu_grande: '-9223372036854775808' } },
  { row: { nu_grande: '9223372036854775807' } },
  { row: { nu_grande: '0' } },
  // integer from a bigint source column
  { row: { nu_inteiro: '-2147483648' } },
  { row: { nu_inteiro: '2147483647' } },
  { row: { nu_inteiro: '2147483648' }, setAside: ['nu_inteiro', 'integer_out_of_range'] },
  { row: { nu_inteiro: '-2147483649' }, setAside: ['nu_inteiro', 'integer_out_of_range'] },
  // smallint from an integer source column
  { row: { nu_pequeno: '-32768' } },
  { row: { nu_pequeno: '32767' } },
  { row: { nu_pequeno: '32768' }, setAside: ['nu_pequeno', 'integer_out_of_range'] },
  { row: { nu_contagem: '12' } },
  { row: { nu_contagem: '-2147483648.000' } },
  { row: { nu_contagem: '1.5' }, setAside: ['nu_contagem', 'integer_out_of_range'] },
  { row: { nu_contagem: 'NaN' }, setAside: ['nu_contagem', 'integer_out_of_range'] },
  // numeric (unconstrained in the source) → NUMERIC(38,9) / DECIMAL(38,9)
  { row: { nu_decimal: '0' } },
  { row: { nu_decimal: '-0.5' } },
  { row: { nu_decimal: '99.10' } },
  { row: { nu_decimal: '1.5000000000000000' } }, // trailing zeros past the 9th decimal: exact
  { row: { nu_decimal: '0.000000001' } },
  { row: { nu_decimal: '99999999999999999999999999999.999999999' } },
  { row: { nu_decimal: '-99999999999999999999999999999.999999999' } },
  { row: { nu_decimal: '100000000000000000000000000000' }, setAside: ['nu_decimal', 'numeric_out_of_range'] },
  { row: { nu_decimal: '123456789012345678901234567890' }, setAside: ['nu_decimal', 'numeric_out_of_range'] },
  { row: { nu_decimal: '0.0000000005' }, setAside: ['nu_decimal', 'numeric_scale'] },
  { row: { nu_decimal: '1234567890.12345678901234567890' }, setAside: ['nu_decimal', 'numeric_scale'] },
  { row: { nu_decimal: 'NaN' }, setAside: ['nu_decimal', 'numeric_nan'] },
  // numeric pinned by the registry to numeric(5,1), from an unconstrained source column
  { row: { nu_pressao: '120.5' } },
  { row: { nu_pressao: '120.50' } },
  { row: { nu_pressao: '9999.9' } },
  { row: { nu_pressao: '-9999.9' } },
  { row: { nu_pressao: '10000' }, setAside: ['nu_pressao', 'numeric_out_of_range'] },
  { row: { nu_pressao: '120.25' }, setAside: ['nu_pressao', 'numeric_scale'] },
  { row: { nu_pressao: 'NaN' }, setAside: ['nu_pressao', 'numeric_nan'] },
  // double precision: every binary64 value lands bit for bit (zeros of both signs: see the local-only test)
  { row: { nu_real: '0.1' } },
  { row: { nu_real: '0.3333333333333333' } },
  { row: { nu_real: '-1e-300' } },
  { row: { nu_real: '1.7976931348623157e308' } },
  { row: { nu_real: '-1.7976931348623157e308' } },
  { row: { nu_real: '5e-324' } },
  { row: { nu_real: '2.2250738585072014e-308' } },
  { row: { nu_real: '-0' } },
  { row: { nu_real: '0' } },
  { row: { nu_real: 'NaN' } },
  { row: { nu_real: 'Infinity' } },
  { row: { nu_real: '-Infinity' } },
  // date → BigQuery DATE 0001-01-01 … 9999-12-31
  { row: { dt_data: '0001-01-01' } },
  { row: { dt_data: '9999-12-31' } },
  { row: { dt_data: '2026-02-28' } },
  { row: { dt_data: '0001-12-31 BC' }, setAside: ['dt_data', 'date_out_of_range'] },
  { row: { dt_data: '0044-03-15 BC' }, setAside: ['dt_data', 'date_out_of_range'] },
  { row: { dt_data: '10000-01-01' }, setAside: ['dt_data', 'date_out_of_range'] },
  { row: { dt_data: 'infinity' }, setAside: ['dt_data', 'date_infinite'] },
  { row: { dt_data: '-infinity' }, setAside: ['dt_data', 'date_infinite'] },
  // timestamp → BigQuery DATETIME
  { row: { dt_hora: '0001-01-01 00:00:00' } },
  { row: { dt_hora: '9999-12-31 23:59:59.999999' } },
  { row: { dt_hora: '2026-11-21 23:59:59.000001' } },
  { row: { dt_hora: '0001-12-31 23:59:59.999999 BC' }, setAside: ['dt_hora', 'timestamp_out_of_range'] },
  { row: { dt_hora: '10000-01-01 00:00:00' }, setAside: ['dt_hora', 'timestamp_out_of_range'] },
  { row: { dt_hora: 'infinity' }, setAside: ['dt_hora', 'timestamp_infinite'] },
  // personal data kept in clear: checked and recorded, but its value is not copied into the record
  { row: { dt_nascimento: '1950-07-01' } },
  { row: { dt_nascimento: '0010-01-01 BC' }, setAside: ['dt_nascimento', 'date_out_of_range'] },
  // hashed personal data: never checked, never recorded; NULL and '' stay apart
  { row: { nu_cpf: null } },
  { row: { nu_cpf: '' } },
  { row: { nu_cpf: 'x'.repeat(TEXT_MAX_BYTES + 10) } },
];

/** Decimal text without insignificant zeros. */
function canonicalDecimal(v: string): string {
  const [int, frac = ''] = v.split('.');
  const f = frac.replace(/0+$/, '');
  const i = int!.replace(/^(-?)0+(?=\d)/, '$1');
  const r = f ? `${i}.${f}` : i;
  return r === '-0' ? '0' : r;
}
/** The 64 bits of a double, as hex (so -0 ≠ 0 and NaN compares equal to itself). */
function bits(text: string): string {
  const special: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity, infinity: Infinity, '-infinity': -Infinity };
  const v = special[text.toLowerCase()] ?? Number(text);
  if (Number.isNaN(v) && text.toLowerCase() !== 'nan') throw new Error(`not a double: ${text}`);
  return Buffer.from(new Float64Array([v]).buffer).toString('hex');
}

describe('type round trip, PostgreSQL → extract → local warehouse', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('roundtrip', async (c) => {
      await c.query(`CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint primary key, co_ibge text);
        INSERT INTO tb_dim_municipio VALUES (7, '3509502');
        CREATE TABLE tb_fat_tipos (co_seq bigint primary key, nu_cpf text, no_nome text, ds_texto text, nu_grande bigint,
          nu_inteiro bigint, nu_pequeno integer, nu_contagem numeric, nu_decimal numeric, nu_pressao numeric, nu_real double precision, dt_data date, dt_hora timestamp,
          dt_nascimento date, co_dim_municipio bigint)`);
      for (const [i, { row }] of CASES.entries()) {
        const cols = Object.keys(row);
        await c.query(
          `INSERT INTO tb_fat_tipos (co_seq, no_nome, co_dim_municipio${cols.map((k) => `, ${k}`).join('')}) VALUES ($1, 'NOME', 7${cols.map((_, j) => `, $${j + 2}`).join('')})`,
          [i + 1, ...cols.map((k) => row[k as keyof Row])],
        );
      }
    });
  }, 120_000);
  afterAll(async () => db.drop());

  it('lands every in-range value exactly and sets aside, records, counts and alerts every other one', async () => {
    // A column the registry does not know (a newer PEC version): reported, not extracted.
    await db.client.query('ALTER TABLE tb_fat_tipos ADD COLUMN ds_coluna_nova text');
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }], { tables: REGISTRY });
    try {
      const run = await p.runOnce({ runDate: '2026-11-21', window: { start: '2026-11-01', end: '2026-11-22' } });
      expect(run.extracted).toEqual(['3509502']);

      await db.client.query('SET extra_float_digits = 3');
      const source = (
        await db.client
          .query(`SELECT co_seq::text AS id, ds_texto, nu_grande::text, nu_inteiro::text, nu_pequeno::text, CASE WHEN nu_contagem <> 'NaN' AND nu_contagem = trunc(nu_contagem) THEN nu_contagem::bigint::text ELSE nu_contagem::text END AS nu_contagem, nu_decimal::text, nu_pressao::text,
          nu_real::text, dt_data::text, dt_nascimento::text, to_char(dt_hora, 'YYYY-MM-DD HH24:MI:SS.US') AS dt_hora FROM tb_fat_tipos ORDER BY co_seq`)
      ).rows as Record<string, string | null>[];
      const landed = await p.warehouse.query(`SELECT co_seq::VARCHAR AS id, ds_texto, nu_grande::VARCHAR AS nu_grande, nu_inteiro::VARCHAR AS nu_inteiro,
          nu_pequeno::VARCHAR AS nu_pequeno, nu_contagem::VARCHAR AS nu_contagem, nu_decimal::VARCHAR AS nu_decimal, nu_pressao::VARCHAR AS nu_pressao, nu_real::VARCHAR AS nu_real, strftime(dt_data, '%Y-%m-%d') AS dt_data,
          strftime(dt_hora, '%Y-%m-%d %H:%M:%S.%f') AS dt_hora, strftime(dt_nascimento, '%Y-%m-%d') AS dt_nascimento, nu_cpf FROM raw.tb_fat_tipos ORDER BY co_seq`);
      expect(landed).toHaveLength(CASES.length);
      const [pinned] = await p.warehouse.query(
        `SELECT data_type FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'tb_fat_tipos' AND column_name = 'nu_pressao'`,
      );
      expect(pinned).toEqual({ data_type: 'DECIMAL(5,1)' });

      const expectedAside: [string, string, string][] = [];
      for (const [i, c] of CASES.entries()) {
        const s = source[i]!;
        const l = landed[i]!;
        const aside = c.setAside?.[0];
        if (aside) expectedAside.push([String(i + 1), aside, c.setAside![1]]);
        const ctx = `row ${i + 1} ${JSON.stringify(c.row).slice(0, 80)}`;
        for (const col of ['ds_texto', 'nu_grande', 'nu_inteiro', 'nu_pequeno', 'nu_contagem', 'dt_data', 'dt_hora', 'dt_nascimento'] as const)
          expect([ctx, col, l[col]]).toEqual([ctx, col, col === aside ? null : s[col]]);
        for (const col of ['nu_decimal', 'nu_pressao'] as const)
          expect([ctx, col, l[col] === null ? null : canonicalDecimal(String(l[col]))]).toEqual([ctx, col, aside === col || s[col] === null ? null : canonicalDecimal(s[col]!)]);
        expect([ctx, l.nu_real === null ? null : bits(String(l.nu_real))]).toEqual([ctx, s.nu_real === null ? null : bits(s.nu_real)]);
        // NULL stays NULL and '' stays '' for hashed columns too; a long value is simply hashed.
        const cpf = c.row.nu_cpf;
        expect([ctx, l.nu_cpf === null ? null : l.nu_cpf === '' ? '' : 'hash']).toEqual([ctx, cpf === undefined || cpf === null ? null : cpf === '' ? '' : 'hash']);
      }

      // One record per value set aside: table, column, primary key, reason, original value.
      const records = await p.warehouse.query(`SELECT source_table, column_name, primary_key, reason, original_value, original_bytes::INTEGER AS original_bytes,
          strftime(extracted_on, '%Y-%m-%d') AS extracted_on, _municipality_ibge, _run_id FROM ops.set_aside_values ORDER BY column_name, primary_key`);
      expect(records.map((r) => [JSON.parse(String(r.primary_key))[0], r.column_name, r.reason])).toEqual(
        expectedAside.sort((a, b) => a[1].localeCompare(b[1]) || JSON.stringify([a[0]]).localeCompare(JSON.stringify([b[0]]))),
      );
      for (const r of records) {
        const id = Number(JSON.parse(String(r.primary_key))[0]);
        const original = source[id - 1]![String(r.column_name)]!;
        expect(r.source_table).toBe('tb_fat_tipos');
        expect(r._municipality_ibge).toBe('3509502');
        expect(r._run_id).toBe(run.runId);
        if (r.reason === 'text_too_long') {
          expect(r.original_value).toBe(original.slice(0, 1000));
          expect(r.original_bytes).toBe(Buffer.byteLength(original));
        } else if (r.column_name === 'dt_nascimento') {
          expect(r.original_value).toBeNull(); // personal data: the record names it, never copies it
          expect(r.original_bytes).toBe(Buffer.byteLength(original));
        } else if (r.column_name !== 'dt_hora') expect(r.original_value).toBe(original);
        else expect(r.original_value).toMatch(/^(infinity|10000-01-01 00:00:00|0001-12-31 23:59:59.999999 BC)$/);
      }
      // The hashed column's long value was hashed, not set aside; the dropped column never read.
      expect(records.some((r) => r.column_name === 'nu_cpf' || r.column_name === 'no_nome')).toBe(false);

      // Counted in the manifest, reconciled in the ledger, alerted.
      const manifest = Manifest.parse(JSON.parse((await p.store.read(layout.manifest(run.runId, '3509502')))!.toString('utf8')));
      const fact = manifest.tables.find((t) => t.table === 'tb_fat_tipos')!;
      expect(fact.setAsideValues).toBe(expectedAside.length);
      expect(fact.unknownColumns).toEqual(['ds_coluna_nova']);
      expect(fact.typeDrift).toBeUndefined(); // wider integer sources are checked value by value, not drift
      expect(manifest.tables.find((t) => t.table === 'tb_dim_municipio')!.setAsideValues).toBeUndefined();
      expect(manifest.setAside!.rows).toBe(expectedAside.length);
      const recon = await p.warehouse.query(
        `SELECT staged_rows::INTEGER AS staged, loaded_rows::INTEGER AS loaded, status FROM ops.reconciliation
          WHERE run_id = $1 AND table_name = $2`,
        [run.runId, SET_ASIDE_TABLE.name],
      );
      expect(recon).toEqual([{ staged: expectedAside.length, loaded: expectedAside.length, status: 'match' }]);
      expect(await p.warehouse.query(`SELECT set_aside_values::INTEGER AS set_aside, unknown_columns FROM ops.municipality_runs WHERE run_id = $1`, [run.runId])).toEqual([
        { set_aside: expectedAside.length, unknown_columns: 'tb_fat_tipos.ds_coluna_nova' },
      ]);
      const alerts = await p.warehouse.query(`SELECT message FROM ops.alerts WHERE run_id = $1 AND rule = 'values_set_aside'`, [run.runId]);
      expect(alerts).toEqual([{ message: expect.stringContaining(`3509502: ${expectedAside.length} source value(s)`) }]);
      const lines = p.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const drift = lines.filter((l) => l.message === 'schema drift: source column(s) unknown to the registry are not extracted');
      expect(drift.map((l) => [l.table, l.unknownColumns])).toEqual([['tb_fat_tipos', ['ds_coluna_nova']]]);
      expect(drift.every((l) => l.severity === 'WARNING')).toBe(true);

      // Idempotent: a second run of the same day replaces that day's records instead of adding to them.
      const again = await p.runOnce({ runDate: '2026-11-21', window: { start: '2026-11-01', end: '2026-11-22' } });
      expect(again.extracted).toEqual(['3509502']);
      const [count] = await p.warehouse.query(`SELECT count(*)::INTEGER AS n, count(DISTINCT _run_id)::INTEGER AS runs FROM ops.set_aside_values`);
      expect(count).toEqual({ n: expectedAside.length, runs: 1 });
    } finally {
      await p.dispose();
      await db.client.query('ALTER TABLE tb_fat_tipos DROP COLUMN ds_coluna_nova');
    }
  }, 300_000);

  it('a time-budget continuation adds its set-aside records to the same slice', async () => {
    await db.client.query(`INSERT INTO tb_dim_municipio VALUES (8, repeat('y', ${TEXT_MAX_BYTES + 1}))`);
    // A budget of 1 ms: every invocation stages one table and continues in a new message.
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }], { tables: REGISTRY, settings: { timeBudgetMs: 1 } });
    try {
      const run = await p.runOnce({ runDate: '2026-11-21', window: { start: '2026-11-01', end: '2026-11-22' } });
      const manifest = Manifest.parse(JSON.parse((await p.store.read(layout.manifest(run.runId, '3509502')))!.toString('utf8')));
      const expected = 1 + CASES.filter((c) => c.setAside).length;
      expect(manifest.setAside!.parts).toHaveLength(2); // one per invocation, one slice
      expect(manifest.setAside!.rows).toBe(expected);
      expect(manifest.setAside!.extractedAt).toBe(manifest.extractedAt);
      const rows = await p.warehouse.query(`SELECT source_table, count(*)::INTEGER AS n, count(DISTINCT _extracted_at)::INTEGER AS snapshots
          FROM ops.set_aside_values GROUP BY 1 ORDER BY 1`);
      expect(rows).toEqual([
        { source_table: 'tb_dim_municipio', n: 1, snapshots: 1 },
        { source_table: 'tb_fat_tipos', n: expected - 1, snapshots: 1 },
      ]);
    } finally {
      await p.dispose();
      await db.client.query('DELETE FROM tb_dim_municipio WHERE co_seq_dim_municipio = 8');
    }
  }, 300_000);

  it('a registry column missing from the source fails its table with an alert that names the column', async () => {
    await db.client.query('ALTER TABLE tb_fat_tipos RENAME COLUMN nu_grande TO nu_grande_renomeado');
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }], { tables: REGISTRY });
    try {
      const run = await p.runOnce({ runDate: '2026-11-21', window: { start: '2026-11-01', end: '2026-11-22' } });
      const alerts = await p.warehouse.query(`SELECT message FROM ops.alerts WHERE run_id = $1 AND rule = 'table_failed'`, [run.runId]);
      expect(alerts).toHaveLength(1);
      expect(String(alerts[0]!.message)).toMatch(/tb_fat_tipos.*nu_grande absent from the source/);
    } finally {
      await p.dispose();
      await db.client.query('ALTER TABLE tb_fat_tipos RENAME COLUMN nu_grande_renomeado TO nu_grande');
    }
  }, 300_000);
});

describe('local-only difference: the sign of zero in DuckDB (docs/types.md)', () => {
  it('pins it: after a checkpoint, a DOUBLE segment holding only zeros keeps one sign for all of them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duckdb-zero-'));
    const file = path.join(dir, 'w.duckdb');
    try {
      let instance = await DuckDBInstance.create(file);
      let conn = await instance.connect();
      await conn.run(`CREATE TABLE z AS SELECT CASE WHEN i = 7 THEN -0.0::DOUBLE ELSE 0.0::DOUBLE END AS d FROM range(1000) t(i)`);
      const before = (await conn.runAndReadAll('SELECT count(*) FILTER (WHERE signbit(d))::INTEGER AS neg FROM z')).getRowObjectsJson();
      expect(before).toEqual([{ neg: 1 }]); // exact while in memory
      conn.closeSync();
      instance.closeSync();
      instance = await DuckDBInstance.create(file);
      conn = await instance.connect();
      const after = (await conn.runAndReadAll('SELECT count(*) FILTER (WHERE signbit(d))::INTEGER AS neg FROM z')).getRowObjectsJson();
      conn.closeSync();
      instance.closeSync();
      // If this starts failing, DuckDB fixed it: drop the `localOnly` note of `double` in COLUMN_TYPES.
      expect(after).toEqual([{ neg: 0 }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
