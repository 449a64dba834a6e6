import { gunzipSync } from 'node:zlib';
import { BigQuery } from '@google-cloud/bigquery';
import { BigQueryWarehouse } from '../../shared/adapters/gcp/bigquery-warehouse';
import { rawTableSchema } from '../../shared/adapters/gcp/bigquery-schema';
import { Manifest } from '../../shared/contracts/manifest';
import { landedTables, SET_ASIDE_TABLE, TableRegistry, TEXT_MAX_BYTES } from '../../shared/contracts/tables';
import { layout } from '../../shared/records/layout';
import type { SliceLoad } from '../../shared/ports';
import { startFakeBigQueryServer, type FakeBigQueryServer, type JobResource } from '../support/fake-bigquery-server';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { testPipeline } from '../support/local-pipeline';

/**
 * Contract between the staged files and the BigQuery adapter's CSV load options (issue 12): files
 * staged by the real extractor from a real PostgreSQL holding odd values are read the way the
 * adapter's load job tells BigQuery to read them (its field delimiter, quote, header rows, quoted
 * newlines, explicit schema — captured from the job the real client sends to
 * test/support/fake-bigquery-server.ts), and every field is checked against the literal grammar
 * and range BigQuery documents for the column's type. This is not BigQuery itself (there is none
 * in the test suite): it proves that nothing outside those documented ranges reaches a load job
 * and that the file layout matches the job's schema column for column.
 */
const PROJECT = 'test-project';
if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes('--experimental-vm-modules'))
  throw new Error('run this suite with NODE_OPTIONS=--experimental-vm-modules (as `npm test` does): the BigQuery client needs dynamic import()');
const staticAuth = { getRequestHeaders: async () => new Headers({ authorization: 'Bearer contract-test' }), getProjectId: async () => PROJECT };

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
    name: 'tb_fat_bq',
    description: 'one column per registry type',
    primaryKey: ['co_seq'],
    municipality: { kind: 'column', column: 'co_dim_municipio' },
    mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
    columns: [
      { name: 'co_seq', type: 'bigint' },
      { name: 'nu_cpf', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
      { name: 'ds_texto', type: 'text' },
      { name: 'nu_inteiro', type: 'integer' },
      { name: 'nu_decimal', type: 'numeric' },
      { name: 'nu_real', type: 'double' },
      { name: 'dt_data', type: 'date' },
      { name: 'dt_hora', type: 'timestamp' },
      { name: 'co_dim_municipio', type: 'bigint' },
      { name: 'co_dim_tempo', type: 'bigint' },
    ],
  },
]);

const ODD = {
  ds_texto: [null, '', 'a,"b"\nc\r\nd \\ \\N é 🙂', '"'.repeat(1000), 'x'.repeat(TEXT_MAX_BYTES + 1)],
  nu_inteiro: ['-2147483648', '2147483647', '2147483648'],
  nu_decimal: ['99999999999999999999999999999.999999999', '1.50000000000', '0.0000000005', '100000000000000000000000000000', 'NaN', '-0.000000001'],
  nu_real: ['5e-324', '-1.7976931348623157e308', '0.1', '-0', 'NaN', 'Infinity', '-Infinity'],
  dt_data: ['0001-01-01', '9999-12-31', '0044-03-15 BC', '10000-01-01', 'infinity', '-infinity'],
  dt_hora: ['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '0001-12-31 23:59:59 BC', '275000-01-01 00:00:00', '-infinity'],
} as const;

/** RFC 4180 as the load job configures it: `delimiter`, `quote` (doubled inside), quoted newlines allowed. */
function parseCsv(text: string, delimiter: string, quote: string): { value: string; quoted: boolean }[][] {
  const rows: { value: string; quoted: boolean }[][] = [];
  let row: { value: string; quoted: boolean }[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    let quoted = false;
    if (text[i] === quote) {
      quoted = true;
      i++;
      for (;;) {
        const q = text.indexOf(quote, i);
        if (q < 0) throw new Error('unterminated quoted field');
        value += text.slice(i, q);
        if (text[q + 1] === quote) {
          value += quote;
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      let j = i;
      while (j < text.length && text[j] !== delimiter && text[j] !== '\n') j++;
      value = text.slice(i, j);
      if (value.includes(quote)) throw new Error(`stray quote in unquoted field ${JSON.stringify(value)}`);
      i = j;
    }
    row.push({ value, quoted });
    if (text[i] === delimiter) {
      i++;
      continue;
    }
    if (text[i] === '\n' || i >= text.length) {
      rows.push(row);
      row = [];
      i++;
      if (i >= text.length) return rows;
      continue;
    }
    throw new Error(`unexpected character ${JSON.stringify(text[i])} at ${i}`);
  }
}

const INT64 = [-(2n ** 63n), 2n ** 63n - 1n];
const yearOk = (y: string) => Number(y) >= 1 && Number(y) <= 9999;
const realDate = (y: string, m: string, d: string) => {
  const t = new Date(Date.UTC(2000, Number(m) - 1, Number(d)));
  t.setUTCFullYear(Number(y));
  return t.getUTCFullYear() === Number(y) && t.getUTCMonth() === Number(m) - 1 && t.getUTCDate() === Number(d);
};
/** Why BigQuery would refuse or change `v` as a literal of `type`, or null when it holds it exactly (documented ranges). */
function refusal(type: string, v: string): string | null {
  switch (type) {
    case 'INT64': {
      if (!/^-?\d+$/.test(v)) return 'not an integer';
      const n = BigInt(v);
      return n < INT64[0]! || n > INT64[1]! ? 'outside INT64' : null;
    }
    case 'NUMERIC': {
      const m = /^-?(\d+)(?:\.(\d+))?$/.exec(v);
      if (!m) return 'not a plain decimal';
      if (m[1]!.replace(/^0+(?=\d)/, '').length > 29) return 'more than 29 integer digits';
      return (m[2] ?? '').replace(/0+$/, '').length > 9 ? 'more than 9 significant decimals (BigQuery would round)' : null;
    }
    case 'FLOAT64':
      return /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^(NaN|Infinity|-Infinity)$/.test(v) ? null : 'not a float literal';
    case 'DATE': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
      return m && yearOk(m[1]!) && realDate(m[1]!, m[2]!, m[3]!) ? null : 'not a DATE in 0001-01-01 … 9999-12-31';
    }
    case 'DATETIME':
    case 'TIMESTAMP': {
      const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?$/.exec(v);
      return m && yearOk(m[1]!) && realDate(m[1]!, m[2]!, m[3]!) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 60
        ? null
        : `not a ${type} in 0001-01-01 … 9999-12-31 23:59:59.999999`;
    }
    case 'STRING':
      return Buffer.byteLength(v) > TEXT_MAX_BYTES ? 'longer than the type contract allows' : null;
    default:
      return `unknown type ${type}`;
  }
}

describe('staged files against the BigQuery adapter’s CSV load options (contract)', () => {
  let db: TestDatabase;
  let fake: FakeBigQueryServer;
  beforeAll(async () => {
    fake = await startFakeBigQueryServer();
    db = await createTestDatabase('bqtypes', async (c) => {
      await c.query(`CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint primary key, co_ibge text);
        INSERT INTO tb_dim_municipio VALUES (7, '3509502');
        CREATE TABLE tb_fat_bq (co_seq bigint primary key, nu_cpf text, ds_texto text, nu_inteiro bigint, nu_decimal numeric,
          nu_real double precision, dt_data date, dt_hora timestamp, co_dim_municipio bigint, co_dim_tempo bigint)`);
      let id = 0;
      for (const [col, values] of Object.entries(ODD))
        for (const v of values)
          await c.query(`INSERT INTO tb_fat_bq (co_seq, nu_cpf, ${col}, co_dim_municipio, co_dim_tempo) VALUES ($1, $2, $3, 7, 20261120)`, [++id, id % 2 ? '' : null, v]);
    });
  }, 120_000);
  afterAll(async () => {
    await db.drop();
    await fake.close();
  });

  it('every staged field of every slice (tables and set_aside_values) is a value the load job’s schema type holds exactly', async () => {
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }], { tables: REGISTRY });
    try {
      const run = await p.runOnce({ runDate: '2026-11-21', window: { start: '2026-11-01', end: '2026-11-22' } });
      const manifest = Manifest.parse(JSON.parse((await p.store.read(layout.manifest(run.runId, '3509502')))!.toString('utf8')));
      const extracts = [...manifest.tables, manifest.setAside!];
      expect(extracts.map((t) => t.table)).toEqual(['tb_dim_municipio', 'tb_fat_bq', SET_ASIDE_TABLE.name]);

      // The load jobs the adapter sends for these slices, through the real client.
      const tables = landedTables(REGISTRY);
      const slices = extracts.map((t) => ({
        table: tables.find((d) => d.name === t.table)!,
        slices: [
          {
            municipality: manifest.municipality,
            runId: manifest.runId,
            extractedAt: t.extractedAt,
            window: t.window,
            columns: t.columns,
            uris: t.parts.map((x) => `gs://b/${x.key}`),
            rows: t.rows,
          } satisfies SliceLoad,
        ],
      }));
      fake.onJob = (job) =>
        job.configuration.load
          ? { outputRows: extracts.find((t) => job.configuration.load!.sourceUris[0]!.includes(`/tables/${t.table}/`))!.rows }
          : { error: { reason: 'invalid', message: 'stop after staging' } };
      const bq = new BigQuery({ projectId: PROJECT, location: 'southamerica-east1', apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
      const warehouse = new BigQueryWarehouse(bq, { projectId: PROJECT, location: 'southamerica-east1', rawDataset: 'raw', opsDataset: 'ops', pollMs: { initial: 5, max: 10 } });
      await warehouse.replaceSlices(slices, 'load-types-0123456789ab').catch(() => undefined); // the apply step is not this test's subject
      const loads = fake.requests
        .filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs`)
        .map((r) => (r.json as JobResource).configuration.load)
        .filter((l): l is NonNullable<typeof l> => !!l);
      expect(loads).toHaveLength(extracts.length);

      let checked = 0;
      for (const t of extracts) {
        const load = loads.find((l) => l.sourceUris[0]!.includes(`/tables/${t.table}/`))!;
        // What the staged format relies on: header skipped, quoted newlines, '"' doubled, ',' between fields, NULL = empty.
        expect(load).toMatchObject({ sourceFormat: 'CSV', skipLeadingRows: 1, allowQuotedNewlines: true, fieldDelimiter: ',', quote: '"', encoding: 'UTF-8', maxBadRecords: 0 });
        expect(load.nullMarker ?? '').toBe('');
        const fields = (load.schema as { fields: { name: string; type: string; mode?: string }[] }).fields;
        // The raw table's types are the job's types (one definition: COLUMN_TYPES through rawTableSchema).
        const raw = rawTableSchema(tables.find((d) => d.name === t.table)!).fields;
        for (const f of fields) expect([t.table, f.name, f.type]).toEqual([t.table, f.name, raw.find((r) => r.name === f.name)!.type]);

        let text = '';
        for (const [n, x] of t.parts.entries()) {
          const part = gunzipSync((await p.store.read(x.key))!).toString('utf8');
          text += n === 0 ? part : part.slice(part.indexOf('\n') + 1); // every part has the header
        }
        expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text); // valid UTF-8 (encoding: UTF-8)
        const rows = parseCsv(text, load.fieldDelimiter as string, load.quote as string);
        expect(rows[0]!.map((c) => c.value)).toEqual(fields.map((f) => f.name)); // header = schema, column for column
        const data = rows.slice(1);
        expect(data).toHaveLength(t.rows);
        for (const [r, row] of data.entries()) {
          expect(row).toHaveLength(fields.length);
          for (const [i, cell] of row.entries()) {
            const f = fields[i]!;
            if (!cell.quoted && cell.value === '') {
              expect([t.table, r, f.name, f.mode]).not.toEqual([t.table, r, f.name, 'REQUIRED']);
              continue;
            }
            expect([t.table, r, f.name, cell.value.slice(0, 60), refusal(f.type, cell.value)]).toEqual([t.table, r, f.name, cell.value.slice(0, 60), null]);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(100);
      // And the odd values did reach the extractor: 12 of them were set aside rather than staged.
      expect(manifest.setAside!.rows).toBe(12);
    } finally {
      await p.dispose();
    }
  }, 300_000);
});
