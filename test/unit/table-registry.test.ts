import type { z } from 'zod';
import { COLUMN_TYPES, ColumnDef, NUMERIC_MAX, STAGED_LINE_MAX_BYTES, TEXT_MAX_BYTES, TableDef, TableRegistry } from '../../shared/contracts/tables';

/**
 * The table registry's rules (shared/contracts/tables.ts, the zod rules and the type contract):
 * what a registry entry may say, each refusal naming the field and the problem, at the edges.
 * The expected values are written out here, not derived from the registry under test.
 */
type Issue = { path: string; message: string };
function issues(schema: z.ZodType, v: unknown): Issue[] | 'accepted' {
  const r = schema.safeParse(v);
  return r.success ? 'accepted' : r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

const col = (name: string, extra: object = {}) => ({ name, type: 'bigint', ...extra });
const base = {
  name: 'tb_fat_x',
  description: 'a fact table',
  primaryKey: ['co_seq'],
  municipality: { kind: 'column', column: 'co_dim_municipio' },
  mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
  columns: [col('co_seq'), col('co_dim_municipio'), col('co_dim_tempo')],
};
const table = (over: object) => ({ ...base, ...over });

describe('the type contract', () => {
  it('each source type lands as the documented warehouse types, with the checks that keep values exact', () => {
    const summary = Object.fromEntries(Object.entries(COLUMN_TYPES).map(([k, t]) => [k, [t.duckdb, t.bigquery, [...t.conform]]]));
    expect(summary).toEqual({
      bigint: ['BIGINT', 'INT64', []],
      integer: ['INTEGER', 'INT64', ['int32']],
      smallint: ['SMALLINT', 'INT64', ['int16']],
      text: ['VARCHAR', 'STRING', ['text_length']],
      numeric: ['DECIMAL(38,9)', 'NUMERIC', ['numeric']],
      double: ['DOUBLE', 'FLOAT64', []],
      date: ['DATE', 'DATE', ['date']],
      timestamp: ['TIMESTAMP', 'DATETIME', ['timestamp']],
    });
    expect(NUMERIC_MAX).toEqual({ precision: 38, scale: 9, integerDigits: 29 });
    expect(TEXT_MAX_BYTES).toBe(1024 * 1024);
    expect(STAGED_LINE_MAX_BYTES).toBe(16 * 1024 * 1024);
  });
});

describe('a column', () => {
  it('has a SQL identifier for a name, a contract type, and defaults: no aliases, fail when missing', () => {
    expect(ColumnDef.parse(col('co_seq'))).toEqual({ name: 'co_seq', type: 'bigint', aliases: [], whenMissing: 'fail' });
    for (const bad of [{ name: 'Co_seq' }, { name: '1x' }, { type: 'uuid' }, { whenMissing: 'skip' }, { aliases: ['Bad'] }, { extra: 1 }])
      expect([bad, ColumnDef.safeParse({ ...col('co_seq'), ...bad }).success]).toEqual([bad, false]);
    expect(ColumnDef.parse(col('co_seq', { aliases: ['co_old'], whenMissing: 'null' }))).toMatchObject({ aliases: ['co_old'], whenMissing: 'null' });
  });

  it('personal data: a known kind and policy; kept in clear text only with a reason of 10 characters or more', () => {
    const pii = (p: object) => issues(ColumnDef, col('nu_cpf', { type: 'text', pii: p }));
    expect(pii({ kind: 'cpf', policy: 'hash' })).toBe('accepted');
    expect(pii({ kind: 'cpf', policy: 'drop' })).toBe('accepted');
    expect(pii({ kind: 'cpf', policy: 'keep', reason: 'x'.repeat(10) })).toBe('accepted');
    expect(pii({ kind: 'cpf', policy: 'keep' })).toEqual([{ path: 'pii.reason', message: 'a personal-data column kept in clear text needs a reason' }]);
    expect(pii({ kind: 'cpf', policy: 'keep', reason: 'x'.repeat(9) })).not.toBe('accepted');
    expect(pii({ kind: 'cpf', policy: 'encrypt' })).not.toBe('accepted');
    expect(pii({ kind: 'religion', policy: 'hash' })).not.toBe('accepted');
    expect(pii({ kind: 'cpf', policy: 'hash', extra: 1 })).not.toBe('accepted');
  });

  it('a pinned numeric: precision 1–38, scale 0–9 and at most the precision, at most 29 integer digits; numeric only, both or neither', () => {
    const pin = (p: object, type = 'numeric') => issues(ColumnDef, col('nu_x', { type, ...p }));
    for (const ok of [
      { precision: 1, scale: 0 },
      { precision: 1, scale: 1 },
      { precision: 38, scale: 9 },
      { precision: 29, scale: 0 },
      { precision: 9, scale: 9 },
    ])
      expect([ok, pin(ok)]).toEqual([ok, 'accepted']);
    expect(pin({ precision: 0, scale: 0 })).not.toBe('accepted');
    expect(pin({ precision: 39, scale: 9 })).not.toBe('accepted');
    expect(pin({ precision: 5.5, scale: 1 })).not.toBe('accepted');
    expect(pin({ precision: 5, scale: -1 })).not.toBe('accepted');
    expect(pin({ precision: 5, scale: 1.5 })).not.toBe('accepted');
    expect(pin({ precision: 30, scale: 0 })).toEqual([{ path: 'precision', message: "nu_x: 30 integer digits (precision − scale) are above the contract's maximum 29" }]);
    expect(pin({ precision: 38, scale: 8 })).toEqual([{ path: 'precision', message: "nu_x: 30 integer digits (precision − scale) are above the contract's maximum 29" }]);
    expect(pin({ precision: 20, scale: 10 })).toEqual([{ path: 'scale', message: "nu_x: scale 10 is above the contract's maximum 9" }]);
    expect(pin({ precision: 3, scale: 4 })).toEqual([{ path: 'scale', message: 'nu_x: scale 4 is above the precision 3' }]);
    expect(pin({ precision: 5 })).toEqual([{ path: 'scale', message: 'nu_x: a pinned numeric needs both precision and scale' }]);
    expect(pin({ scale: 1 })).toEqual([{ path: 'precision', message: 'nu_x: a pinned numeric needs both precision and scale' }]);
    expect(pin({ precision: 5, scale: 1 }, 'double')).toEqual([{ path: 'precision', message: 'nu_x: precision/scale apply to numeric columns only, not double' }]);
    expect(pin({ scale: 0 }, 'integer')).toEqual([{ path: 'precision', message: 'nu_x: precision/scale apply to numeric columns only, not integer' }]);
    expect(pin({})).toBe('accepted');
  });
});

describe('a table', () => {
  it('is accepted as documented: a name, a description, a primary key, its municipality scope and mode, its columns', () => {
    expect(issues(TableDef, base)).toBe('accepted');
    expect(issues(TableDef, table({ municipality: { kind: 'installation' }, mode: { kind: 'full' }, columns: [col('co_seq')] }))).toBe('accepted');
    expect(issues(TableDef, table({ mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'date' } }))).toBe('accepted');
    for (const bad of [
      { name: 'TB' },
      { description: 'four' },
      { primaryKey: [] },
      { columns: [] },
      { municipality: { kind: 'column' } },
      { municipality: { kind: 'installation', column: 'co_dim_municipio' } },
      { mode: { kind: 'window', column: 'co_dim_tempo' } },
      { mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'epoch' } },
      { mode: { kind: 'full', column: 'co_dim_tempo' } },
      { mode: { kind: 'incremental' } },
      { ignoredColumns: ['Bad'] },
      { extra: 1 },
    ])
      expect([bad, issues(TableDef, table(bad)) === 'accepted']).toEqual([bad, false]);
    expect(issues(TableDef, table({ description: 'fives' }))).toBe('accepted');
  });

  it('a column is extracted or ignored, never both (by name or by alias), and listed once', () => {
    expect(issues(TableDef, table({ ignoredColumns: ['co_seq'] }))).toEqual([{ path: 'ignoredColumns', message: 'column "co_seq" is both extracted and ignored' }]);
    expect(issues(TableDef, table({ columns: [...base.columns, col('nu_new', { aliases: ['nu_old'] })], ignoredColumns: ['nu_old'] }))).toEqual([
      { path: 'ignoredColumns', message: 'column "nu_old" is both extracted and ignored' },
    ]);
    expect(issues(TableDef, table({ ignoredColumns: ['nu_other'] }))).toBe('accepted');
    expect(issues(TableDef, table({ columns: [...base.columns, col('co_seq')] }))).toEqual([{ path: 'columns', message: 'column "co_seq" is listed twice' }]);
  });

  it('the primary key is made of extracted columns that are not hashed or dropped', () => {
    expect(issues(TableDef, table({ primaryKey: ['co_seq', 'nu_x'] }))).toEqual([{ path: 'primaryKey', message: 'primary key column "nu_x" is not in columns' }]);
    for (const policy of ['hash', 'drop'])
      expect(issues(TableDef, table({ columns: [...base.columns, col('nu_cns', { pii: { kind: 'cns', policy } })], primaryKey: ['nu_cns'] }))).toEqual([
        { path: 'primaryKey', message: 'primary key column "nu_cns" cannot be hashed or dropped' },
      ]);
    const kept = col('nu_cns', { pii: { kind: 'cns', policy: 'keep', reason: 'the key of the citizen table' } });
    expect(issues(TableDef, table({ columns: [...base.columns, kept], primaryKey: ['nu_cns'] }))).toBe('accepted');
  });

  it('the window and municipality keys are extracted and never personal data', () => {
    expect(issues(TableDef, table({ columns: [col('co_seq'), col('co_dim_municipio')] }))).toEqual([
      { path: 'columns', message: 'key column "co_dim_tempo" must be extracted (listed in columns)' },
    ]);
    expect(issues(TableDef, table({ columns: [col('co_seq'), col('co_dim_tempo')] }))).toEqual([
      { path: 'columns', message: 'key column "co_dim_municipio" must be extracted (listed in columns)' },
    ]);
    const personal = { pii: { kind: 'location', policy: 'keep', reason: 'the municipality is the point' } };
    expect(issues(TableDef, table({ columns: [col('co_seq'), col('co_dim_municipio', personal), col('co_dim_tempo')] }))).toEqual([
      { path: 'columns', message: 'key column "co_dim_municipio" cannot be personal data' },
    ]);
    expect(issues(TableDef, table({ columns: [col('co_seq'), col('co_dim_municipio'), col('co_dim_tempo', personal)] }))).toEqual([
      { path: 'columns', message: 'key column "co_dim_tempo" cannot be personal data' },
    ]);
    // A full-refresh table of the installation has no key column to check.
    expect(issues(TableDef, table({ municipality: { kind: 'installation' }, mode: { kind: 'full' }, columns: [col('co_seq'), col('nu_x', personal)] }))).toBe('accepted');
  });

  it('the widest row it can stage stays within the loaders’ line limit: seven clear-text columns, not eight; hashed and dropped ones do not count', () => {
    const texts = (n: number, pii?: object) => Array.from({ length: n }, (_, i) => col(`no_${i}`, { type: 'text', ...(pii ? { pii } : {}) }));
    expect(issues(TableDef, table({ columns: [...base.columns, ...texts(7)] }))).toBe('accepted');
    expect(issues(TableDef, table({ columns: [...base.columns, ...texts(8)] }))).toEqual([
      { path: 'columns', message: `8 text columns could stage a row longer than ${16 * 1024 * 1024} bytes` },
    ]);
    expect(issues(TableDef, table({ columns: [...base.columns, ...texts(20, { kind: 'name', policy: 'hash' })] }))).toBe('accepted');
    expect(issues(TableDef, table({ columns: [...base.columns, ...texts(20, { kind: 'name', policy: 'drop' })] }))).toBe('accepted');
    expect(issues(TableDef, table({ columns: [...base.columns, ...texts(8, { kind: 'name', policy: 'keep', reason: 'needed in the marts' })] }))).not.toBe('accepted');
  });
});

describe('the registry', () => {
  it('names each table once', () => {
    const other = table({ name: 'tb_dim_y' });
    expect(issues(TableRegistry, [base, other])).toBe('accepted');
    expect(issues(TableRegistry, [base, other, base])).toEqual([{ path: '', message: 'table "tb_fat_x" is registered twice' }]);
    expect(issues(TableRegistry, [])).toBe('accepted');
  });
});
