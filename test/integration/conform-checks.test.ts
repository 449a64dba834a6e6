import { TEXT_MAX_BYTES, type ColumnType } from '../../shared/contracts/tables';
import type { SourceColumn } from '../../shared/extract/source';
import { conformCheck } from '../../shared/extract/sql';
import { createTestDatabase, type TestDatabase } from '../support/pg';

/**
 * The conformance checks executed by PostgreSQL itself, value by value at the edges of each landed
 * type: a value the warehouse holds exactly passes (and is staged as the warehouse reads it); every
 * other one is set aside with its reason, what the record keeps of it and its size. The SQL text of
 * the checks is not looked at here: only what PostgreSQL answers. (type-roundtrip.test.ts runs the
 * same edges through the whole extractor and load; this file is the fast oracle for sql.ts.)
 */
type Case = [value: string, expected: null | { reason: string; original?: string | null; bytes?: number }, staged?: string];

const col = (dataType: string, extra: Partial<SourceColumn> = {}): SourceColumn => ({ dataType, maxChars: null, precision: null, scale: null, ...extra });

describe('conformance checks, as PostgreSQL evaluates them', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('conform', async () => {});
  }, 120_000);
  afterAll(async () => db?.drop());

  /** Evaluates the check for `type` read from a source column of `sourceType` on every case's value. */
  async function check(type: ColumnType, sourceType: string, src: SourceColumn | undefined, cases: Case[], pinned?: { precision: number; scale: number }) {
    const c = conformCheck(type, '"v"', src, pinned);
    expect(c).toBeDefined();
    await db.client.query(`DROP TABLE IF EXISTS t; CREATE TABLE t (i int, v ${sourceType})`);
    for (const [i, [v]] of cases.entries()) await db.client.query('INSERT INTO t VALUES ($1, $2)', [i, v]);
    const { rows } = await db.client.query<{ bad: boolean; reason: string | null; original: string | null; bytes: number | null; staged: string | null }>(
      `SELECT (${c!.bad}) AS bad, CASE WHEN ${c!.bad} THEN ${c!.reason} END AS reason, CASE WHEN ${c!.bad} THEN ${c!.original} END AS original,
         CASE WHEN ${c!.bad} THEN ${c!.bytes} END AS bytes, (CASE WHEN ${c!.bad} THEN NULL ELSE ${c!.value ?? '"v"'} END)::text AS staged FROM t ORDER BY i`,
    );
    const got = rows.map((r, i) => [cases[i]![0], r.bad ? { reason: r.reason, original: r.original, bytes: r.bytes } : null, r.staged ?? undefined]);
    const want = cases.map(([v, e, staged]) => [
      v,
      e ? { reason: e.reason, original: e.original === undefined ? v : e.original, bytes: e.bytes ?? Buffer.byteLength(v) } : null,
      e ? undefined : (staged ?? v),
    ]);
    expect(got).toEqual(want);
  }

  it('numeric into NUMERIC(38,9): 29 integer digits and 9 decimals pass; NaN, a 30th digit, a 10th decimal are set aside', async () => {
    await check('numeric', 'numeric', col('numeric'), [
      ['0', null],
      ['-0.5', null],
      ['99999999999999999999999999999.999999999', null],
      ['-99999999999999999999999999999.999999999', null],
      ['0.000000001', null],
      ['1.5000000000000', null],
      ['100000000000000000000000000000', { reason: 'numeric_out_of_range' }],
      ['-100000000000000000000000000000', { reason: 'numeric_out_of_range' }],
      ['0.0000000005', { reason: 'numeric_scale' }],
      ['-0.0000000015', { reason: 'numeric_scale' }],
      ['NaN', { reason: 'numeric_nan' }],
    ]);
  });

  it('numeric pinned to numeric(5,1): 4 integer digits and 1 decimal', async () => {
    await check(
      'numeric',
      'numeric',
      col('numeric'),
      [
        ['9999.9', null],
        ['-9999.9', null],
        ['120.50', null],
        ['10000', { reason: 'numeric_out_of_range' }],
        ['-10000.0', { reason: 'numeric_out_of_range' }],
        ['120.25', { reason: 'numeric_scale' }],
        ['9999.95', { reason: 'numeric_scale' }],
        ['NaN', { reason: 'numeric_nan' }],
      ],
      { precision: 5, scale: 1 },
    );
    // A source numeric(6,1) can exceed numeric(5,1): checked (the typed path of the same rule).
    await check(
      'numeric',
      'numeric(6,1)',
      col('numeric', { precision: 6, scale: 1 }),
      [
        ['10000.0', { reason: 'numeric_out_of_range' }],
        ['9999.9', null],
      ],
      { precision: 5, scale: 1 },
    );
  });

  it('integer from bigint and from numeric (fractions, NaN; integral values staged as digits)', async () => {
    await check('integer', 'bigint', col('bigint'), [
      ['2147483647', null],
      ['-2147483648', null],
      ['2147483648', { reason: 'integer_out_of_range' }],
      ['-2147483649', { reason: 'integer_out_of_range' }],
    ]);
    await check('integer', 'numeric', col('numeric'), [
      ['12.000', null, '12'],
      ['-2147483648.000', null, '-2147483648'],
      ['2147483647', null],
      ['1.5', { reason: 'integer_out_of_range' }],
      ['-0.001', { reason: 'integer_out_of_range' }],
      ['2147483648', { reason: 'integer_out_of_range' }],
      ['NaN', { reason: 'integer_out_of_range' }],
    ]);
  });

  it('smallint from integer and from bigint', async () => {
    for (const source of ['integer', 'bigint'])
      await check('smallint', source, col(source), [
        ['32767', null],
        ['-32768', null],
        ['32768', { reason: 'integer_out_of_range' }],
        ['-32769', { reason: 'integer_out_of_range' }],
      ]);
  });

  it('date: 0001-01-01 … 9999-12-31 pass; BC, year 10000 and ±infinity are set aside', async () => {
    await check('date', 'date', col('date'), [
      ['0001-01-01', null],
      ['9999-12-31', null],
      ['0001-12-31 BC', { reason: 'date_out_of_range' }],
      ['10000-01-01', { reason: 'date_out_of_range' }],
      ['infinity', { reason: 'date_infinite' }],
      ['-infinity', { reason: 'date_infinite' }],
    ]);
  });

  it('timestamp: to the microsecond at both ends', async () => {
    await check('timestamp', 'timestamp without time zone', col('timestamp without time zone'), [
      ['0001-01-01 00:00:00', null],
      ['9999-12-31 23:59:59.999999', null],
      ['0001-12-31 23:59:59.999999 BC', { reason: 'timestamp_out_of_range' }],
      ['10000-01-01 00:00:00', { reason: 'timestamp_out_of_range' }],
      ['infinity', { reason: 'timestamp_infinite' }],
      ['-infinity', { reason: 'timestamp_infinite' }],
    ]);
  });

  it('text: up to TEXT_MAX_BYTES bytes of UTF-8 pass; longer is set aside with its first 1000 characters and its size', async () => {
    const multi = 'é'.repeat(TEXT_MAX_BYTES / 2 + 1);
    await check('text', 'text', col('text'), [
      ['x'.repeat(TEXT_MAX_BYTES), null],
      ['é'.repeat(TEXT_MAX_BYTES / 2), null],
      ['x'.repeat(TEXT_MAX_BYTES + 1), { reason: 'text_too_long', original: 'x'.repeat(1000) }],
      [multi, { reason: 'text_too_long', original: 'é'.repeat(1000), bytes: TEXT_MAX_BYTES + 2 }],
    ]);
  });
});
