import { TableRegistry } from '../../shared/contracts/tables';
import { Pseudonymizer } from '../../shared/extract/pseudonymizer';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { TEST_KEY, testPipeline } from '../support/local-pipeline';

/**
 * Every column type the registry uses goes PostgreSQL → COPY CSV → pseudonymiser → gzip part →
 * DuckDB and comes out equal: NULL vs '', accents, quotes/newlines/backslashes/\N in text,
 * numeric precision, double precision, 3000-12-31, microsecond timestamps, big bigints.
 */
const FIDELITY = TableRegistry.parse([
  {
    name: 'tb_fat_fidelidade',
    description: 'type-fidelity fixture',
    primaryKey: ['co_seq_fat_fidelidade'],
    municipality: { kind: 'column', column: 'co_dim_municipio' },
    mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
    columns: [
      { name: 'co_seq_fat_fidelidade', type: 'bigint' },
      { name: 'nu_cpf_cidadao', type: 'text', pii: { kind: 'cpf', policy: 'hash' } },
      { name: 'no_cidadao', type: 'text', pii: { kind: 'name', policy: 'drop' } },
      { name: 'ds_texto', type: 'text' },
      { name: 'nu_inteiro', type: 'integer' },
      { name: 'nu_pequeno', type: 'smallint' },
      { name: 'nu_decimal', type: 'numeric' },
      { name: 'nu_real', type: 'double' },
      { name: 'dt_data', type: 'date' },
      { name: 'dt_hora', type: 'timestamp' },
      { name: 'co_dim_municipio', type: 'bigint' },
      { name: 'co_dim_tempo', type: 'bigint' },
    ],
  },
]);

/** Decimal text without insignificant zeros, to compare numeric(∞) with DECIMAL(38,9) digit by digit. */
function canonicalDecimal(v: unknown): string | null {
  if (v === null) return null;
  const [int, frac = ''] = String(v).split('.');
  const f = frac.replace(/0+$/, '');
  const i = int!.replace(/^(-?)0+(?=\d)/, '$1');
  const r = f ? `${i}.${f}` : i;
  return r === '-0' ? '0' : r;
}

const TEXTS = [
  null,
  '',
  'JOÃO da Conceição',
  'aspas "duplas" e \'simples\'',
  'linha 1\nlinha 2\r\nlinha 3',
  'barra \\ invertida \\\\',
  '\\N',
  'a\\Nb',
  'vírgula, ponto; e vírgula',
  ' espaços ',
  '"',
  ',',
  '\t tab',
];

describe('type fidelity, PostgreSQL to warehouse', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('fidelity', async (c) => {
      await c.query(`CREATE TABLE tb_dim_municipio (co_seq_dim_municipio bigint primary key, co_ibge text, no_municipio text);
        INSERT INTO tb_dim_municipio VALUES (1, '-', 'Não informado'), (7, '3509502', 'Campinas'), (8, '3548500', 'Santos');
        CREATE TABLE tb_fat_fidelidade (co_seq_fat_fidelidade bigint primary key, nu_cpf_cidadao text, no_cidadao text, ds_texto text,
          nu_inteiro integer, nu_pequeno smallint, nu_decimal numeric, nu_real double precision, dt_data date, dt_hora timestamp,
          co_dim_municipio bigint, co_dim_tempo bigint)`);
      const rows: unknown[][] = TEXTS.map((t, i) => [
        i + 1,
        i % 3 === 0 ? null : i % 3 === 1 ? '' : `1234567890${i % 10}`,
        `NOME ${i}`,
        t,
        [null, 0, -2147483648, 2147483647][i % 4],
        [null, -32768, 32767][i % 3],
        [null, '0', '-0.5', '123456789012345678901234567.123456789', '0.000000001', '99.10'][i % 6],
        [null, 0.1, 1 / 3, -1e-300, 1.7976931348623157e308, 3.141592653589793][i % 6],
        [null, '3000-12-31', '1900-01-01', '2026-02-28'][i % 4],
        [null, '2026-11-21 23:59:59.999999', '2000-01-01 00:00:00'][i % 3],
        7,
        20261120,
      ]);
      // eslint-disable-next-line no-loss-of-precision -- 2^53+1 is the point: the value a double cannot hold
      rows.push([9007199254740993, '11111111111', 'OUTRA', 'de Santos', 1, 1, '1', 1, '2026-01-01', '2026-01-01 10:00:00', 8, 20261120]);
      rows.push([100, '22222222222', 'FORA', 'fora da janela', 1, 1, '1', 1, '2026-01-01', '2026-01-01 10:00:00', 7, 20260101]);
      for (const r of rows) await c.query(`INSERT INTO tb_fat_fidelidade VALUES (${r.map((_, i) => `$${i + 1}`).join(', ')})`, r);
    });
  });
  afterAll(async () => db.drop());

  it('lands every value exactly, pseudonymises hash columns and never selects dropped ones', async () => {
    const p = await testPipeline([{ db, municipalities: [{ ibge: '3509502', name: 'Campinas' }] }], { tables: FIDELITY });
    try {
      const run = await p.runOnce({ runDate: '2026-11-21', window: { start: '2026-11-01', end: '2026-12-01' } });
      expect(run.extracted).toEqual(['3509502']);
      await db.client.query('SET extra_float_digits = 3'); // without it PostgreSQL 9.6/10 print 15 digits
      const source = (
        await db.client.query(`SELECT co_seq_fat_fidelidade::text AS id, nu_cpf_cidadao, ds_texto, nu_inteiro, nu_pequeno, nu_decimal::text AS nu_decimal,
          nu_real::text AS nu_real, to_char(dt_data, 'YYYY-MM-DD') AS dt_data, to_char(dt_hora, 'YYYY-MM-DD HH24:MI:SS.US') AS dt_hora
          FROM tb_fat_fidelidade WHERE co_dim_municipio = 7 AND co_dim_tempo >= 20261101 ORDER BY co_seq_fat_fidelidade`)
      ).rows;
      const landed = await p.warehouse.query(`SELECT co_seq_fat_fidelidade::VARCHAR AS id, nu_cpf_cidadao, ds_texto, nu_inteiro, nu_pequeno,
          nu_decimal::VARCHAR AS nu_decimal, nu_real, strftime(dt_data, '%Y-%m-%d') AS dt_data, strftime(dt_hora, '%Y-%m-%d %H:%M:%S.%f') AS dt_hora,
          _municipality_ibge, _run_id FROM raw.tb_fat_fidelidade ORDER BY co_seq_fat_fidelidade`);
      expect(landed).toHaveLength(source.length);
      const pz = new Pseudonymizer(TEST_KEY);
      source.forEach((s, i) => {
        const l = landed[i]!;
        expect(l.id).toBe(s.id);
        expect(l.ds_texto).toBe(s.ds_texto);
        expect(l.nu_cpf_cidadao).toBe(s.nu_cpf_cidadao === null ? null : s.nu_cpf_cidadao === '' ? '' : pz.pseudonym(s.nu_cpf_cidadao));
        expect(l.nu_inteiro).toBe(s.nu_inteiro);
        expect(l.nu_pequeno).toBe(s.nu_pequeno);
        expect(canonicalDecimal(l.nu_decimal)).toBe(canonicalDecimal(s.nu_decimal));
        // Exact round trip of binary doubles: PostgreSQL's shortest exact text equals JS's.
        expect(l.nu_real === null ? null : Number(l.nu_real)).toBe(s.nu_real === null ? null : Number(s.nu_real));
        expect(l.dt_data).toBe(s.dt_data);
        expect(l.dt_hora).toBe(s.dt_hora);
        expect(l._municipality_ibge).toBe('3509502');
        expect(l._run_id).toBe(run.runId);
      });
      const cols = await p.warehouse.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'tb_fat_fidelidade'`);
      expect(cols.map((c) => c.column_name)).not.toContain('no_cidadao');
      expect(landed.some((r) => r.id === '100')).toBe(false); // outside the window
      expect(landed.some((r) => r.id === '9007199254740993')).toBe(false); // other municipality
    } finally {
      await p.dispose();
    }
  });
});
