import { bigQueryDataErrorMessage, duckDbDataErrorMessage, isDuckDbDataError, redactRowContent } from '../../shared/load/data-errors';
import { decideSlice, isoMicros, oldestExtraction, type LedgerSlice } from '../../shared/load/slice-guard';

const T = 'tb_fat_x';
const A = '3550308';
const NOV = { start: '2026-11-01', end: '2026-12-01' };
const row = (over: Partial<LedgerSlice>): LedgerSlice => ({
  table: T,
  municipality: A,
  windowStart: NOV.start,
  windowEnd: NOV.end,
  extractedAt: '2026-11-22T09:00:00.123456Z',
  ...over,
});
const slice = (over: Partial<{ window: { start: string; end: string } | null; extractedAt: string; municipality: string }> = {}) => ({
  municipality: A,
  window: NOV,
  extractedAt: '2026-11-22T09:00:00.123456Z',
  ...over,
});

describe('the slice guard (shared by both warehouses)', () => {
  it('compares extraction times to the microsecond, whatever the offset notation', () => {
    expect(isoMicros('2026-11-22T09:00:00.123457Z') - isoMicros('2026-11-22T09:00:00.123456Z')).toBe(1n);
    expect(isoMicros('2026-11-22T09:00:00.1Z')).toBe(isoMicros('2026-11-22T09:00:00.100000+00:00'));
    expect(isoMicros('2026-11-22T06:00:00-03:00')).toBe(isoMicros('2026-11-22T09:00:00Z'));
    expect(() => isoMicros('2026-11-22 09:00:00')).toThrow(/not an ISO-8601/);
    expect(oldestExtraction([{ extractedAt: '2026-11-22T09:00:00.000002Z' }, { extractedAt: '2026-11-22T09:00:00.000001Z' }])).toBe('2026-11-22T09:00:00.000001Z');
  });

  it('already loaded: same window from the same extraction only', () => {
    expect(decideSlice(T, slice(), [row({})])).toEqual({ status: 'already_loaded' });
    expect(decideSlice(T, slice(), [row({ windowEnd: '2026-11-30' })])).toEqual({ status: 'load' }); // another window, same time: an older overlapping load of ours
    expect(decideSlice(T, slice(), [row({ municipality: '3304557' })])).toEqual({ status: 'load' });
    expect(decideSlice(T, slice(), [row({ table: 'tb_other' })])).toEqual({ status: 'load' });
    expect(decideSlice(T, slice({ window: null }), [row({ windowStart: null, windowEnd: null })])).toEqual({ status: 'already_loaded' });
  });

  it('stale: an overlapping window from a newer extraction (one microsecond is newer); the newest is named', () => {
    const newer = (at: string, w = NOV) => row({ extractedAt: at, windowStart: w.start, windowEnd: w.end });
    expect(decideSlice(T, slice(), [newer('2026-11-22T09:00:00.123457Z')])).toEqual({ status: 'stale', newerExtractedAt: '2026-11-22T09:00:00.123457Z' });
    expect(decideSlice(T, slice(), [newer('2026-11-23T00:00:00Z'), newer('2026-11-24T00:00:00Z'), newer('2026-11-21T00:00:00Z')])).toEqual({
      status: 'stale',
      newerExtractedAt: '2026-11-24T00:00:00Z',
    });
    // Windows are half-open: [Oct 1, Nov 1) and [Nov 1, Dec 1) do not overlap, [Oct 15, Nov 2) does.
    expect(decideSlice(T, slice(), [newer('2026-11-23T00:00:00Z', { start: '2026-10-01', end: '2026-11-01' })])).toEqual({ status: 'load' });
    expect(decideSlice(T, slice(), [newer('2026-11-23T00:00:00Z', { start: '2026-12-01', end: '2027-01-01' })])).toEqual({ status: 'load' });
    expect(decideSlice(T, slice(), [newer('2026-11-23T00:00:00Z', { start: '2026-10-15', end: '2026-11-02' })]).status).toBe('stale');
    // A full refresh overlaps everything, on either side.
    expect(decideSlice(T, slice(), [row({ extractedAt: '2026-11-23T00:00:00Z', windowStart: null, windowEnd: null })]).status).toBe('stale');
    expect(decideSlice(T, slice({ window: null }), [newer('2026-11-23T00:00:00Z')]).status).toBe('stale');
    // Older rows never make a slice stale.
    expect(decideSlice(T, slice(), [newer('2026-11-22T09:00:00.123455Z')])).toEqual({ status: 'load' });
  });
});

describe('data-error messages name where, never what', () => {
  const duck =
    'Conversion Error: CSV Error on Line: 3\nOriginal Line: 77,20261102,NaN,hmac-0f3a9c\nError when converting column "qt_valor". Could not convert string "NaN" to \'BIGINT\'\n\n  file = /b/runs/r/tables/t/3550308/a1/part-00000.csv.gz\n  delimiter = ,';
  it('DuckDB', () => {
    expect(isDuckDbDataError(duck)).toBe(true);
    expect(isDuckDbDataError('IO Error: No files found that match the pattern "x"')).toBe(false);
    const m = duckDbDataErrorMessage({ table: T, municipality: A }, duck);
    expect(m).toBe(`${T}/${A}: column qt_valor on line 3 of /b/runs/r/tables/t/3550308/a1/part-00000.csv.gz: value not convertible to BIGINT (row content withheld)`);
    const r = redactRowContent(duck);
    expect(r.redacted).toBe(true);
    for (const leaked of ['NaN', 'hmac-0f3a9c', '20261102']) expect(r.message).not.toContain(leaked);
    expect(redactRowContent('IO Error: disk full')).toEqual({ message: 'IO Error: disk full', redacted: false });
  });

  it('BigQuery', () => {
    const m = bigQueryDataErrorMessage({ table: T, municipality: A }, [
      { message: 'Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: 1; errors: 1.' },
      {
        location: 'gs://b/p.csv.gz',
        message:
          "Error while reading data, error message: Could not parse 'João da Silva' as INT64 for field qt_valor (position 2) starting at location 99  with message 'Unable to parse'",
      },
    ]);
    expect(m).toBe(`${T}/${A}: column qt_valor (position 2) at byte 99 of gs://b/p.csv.gz: value not convertible to INT64 (row content withheld)`);
    expect(m).not.toContain('João');
    const newer = bigQueryDataErrorMessage({ table: T, municipality: A }, [
      {
        location: 'gs://b/p.csv.gz',
        message:
          'Error while reading data, error message: Unable to parse; line_number: 3 byte_offset_to_start_of_line: 120 column_index: 2 column_name: "qt_valor" column_type: INT64 value: "NaN" File: gs://b/p.csv.gz',
      },
    ]);
    expect(newer).toBe(`${T}/${A}: column qt_valor (position 2) on line 3 at byte 120 of gs://b/p.csv.gz: value not convertible to INT64 (row content withheld)`);
    expect(redactRowContent('column_type: INT64 value: "NaN" File: x').message).toBe('column_type: INT64 value: (value withheld) File: x');
  });
});
