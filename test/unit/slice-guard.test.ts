import { bigQueryDataErrorMessage, duckDbDataErrorMessage, isDuckDbDataError, redactRowContent } from '../../shared/load/data-errors';
import { decideSlice, decideSlices, isoMicros, oldestExtraction, type LedgerSlice } from '../../shared/load/slice-guard';

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
    expect(oldestExtraction([{ extractedAt: '2026-11-22T09:00:00.000001Z' }, { extractedAt: '2026-11-22T09:00:00.000002Z' }])).toBe('2026-11-22T09:00:00.000001Z');
    expect(() => oldestExtraction([])).toThrow('no slices');
    // Nanoseconds (some clients print 9 digits) are cut to the microsecond, not read as more microseconds.
    expect(isoMicros('2026-11-22T09:00:00.123456789Z')).toBe(isoMicros('2026-11-22T09:00:00.123456Z'));
    for (const bad of ['x2026-11-22T09:00:00Z', '2026-11-22T09:00:00Zjunk', '2026-11-22T09:00:00', '2026-13-45T09:00:00Z'])
      expect(() => isoMicros(bad)).toThrow(`not an ISO-8601 timestamp: ${JSON.stringify(bad)}`);
  });

  it('already loaded: same window from the same extraction only', () => {
    expect(decideSlice(T, slice(), [row({})])).toEqual({ status: 'already_loaded' });
    expect(decideSlice(T, slice(), [row({ windowEnd: '2026-11-30' })])).toEqual({ status: 'load' }); // another window, same time: an older overlapping load of ours
    expect(decideSlice(T, slice(), [row({ municipality: '3304557' })])).toEqual({ status: 'load' });
    expect(decideSlice(T, slice(), [row({ table: 'tb_other' })])).toEqual({ status: 'load' });
    expect(decideSlice(T, slice({ window: null }), [row({ windowStart: null, windowEnd: null })])).toEqual({ status: 'already_loaded' });
    // Same extraction, same end, another start: another slice (not this one already loaded).
    expect(decideSlice(T, slice(), [row({ windowStart: '2026-10-15' })])).toEqual({ status: 'load' });
  });

  it('stale: an overlapping window from a newer extraction (one microsecond is newer); the newest is named', () => {
    const newer = (at: string, w = NOV) => row({ extractedAt: at, windowStart: w.start, windowEnd: w.end });
    expect(decideSlice(T, slice(), [newer('2026-11-22T09:00:00.123457Z')])).toEqual({ status: 'stale', newerExtractedAt: '2026-11-22T09:00:00.123457Z' });
    expect(decideSlice(T, slice(), [newer('2026-11-23T00:00:00Z'), newer('2026-11-24T00:00:00Z'), newer('2026-11-21T00:00:00Z')])).toEqual({
      status: 'stale',
      newerExtractedAt: '2026-11-24T00:00:00Z',
    });
    expect(decideSlice(T, slice(), [newer('2026-11-24T00:00:00Z'), newer('2026-11-23T00:00:00Z')])).toEqual({ status: 'stale', newerExtractedAt: '2026-11-24T00:00:00Z' });
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

describe('decideSlices', () => {
  it('one decision per slice of every table, in request order, each against its own table and municipality', () => {
    const loads = [
      {
        table: { name: T },
        slices: [
          { ...slice(), columns: [], uris: [], rows: 1, runId: 'r' },
          { ...slice({ municipality: '3304557' }), columns: [], uris: [], rows: 1, runId: 'r' },
        ],
      },
      { table: { name: 'tb_other' }, slices: [{ ...slice(), columns: [], uris: [], rows: 1, runId: 'r' }] },
    ];
    const d = decideSlices(loads, [row({}), row({ table: 'tb_other', extractedAt: '2026-11-23T00:00:00Z' })]);
    expect(d.map((x) => `${x.table.name}/${x.slice.municipality}:${x.decision.status}`)).toEqual([`${T}/${A}:already_loaded`, `${T}/3304557:load`, 'tb_other/3550308:stale']);
    expect(d[0]!.slice).toBe(loads[0]!.slices[0]);
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

describe('data-error messages: each shape of error text, and what is never taken from it', () => {
  const W = { table: T, municipality: A };
  it('a DuckDB error is a data error only when the CSV content is at fault, said at the start of the message', () => {
    expect(isDuckDbDataError('Invalid Input Error: CSV Error on Line: 2\nExpected Number of Columns: 3 Found: 2')).toBe(true);
    expect(isDuckDbDataError('Conversion Error: Could not convert string "x" to INT32')).toBe(true);
    expect(isDuckDbDataError('Invalid Input Error: No open result set')).toBe(false);
    expect(isDuckDbDataError('Binder Error: Conversion Error: CSV Error on Line: 2')).toBe(false);
    expect(isDuckDbDataError('IO Error: Conversion Error: x')).toBe(false);
  });
  it('DuckDB: names what went wrong with the row (columns, quote, type, or unreadable) and where', () => {
    const file = '\n  file = /b/p.csv.gz\n';
    expect(duckDbDataErrorMessage(W, `Invalid Input Error: CSV Error on Line: 17\nOriginal Line: 1,2\nExpected Number of Columns: 3 Found: 2${file}`)).toBe(
      `${T}/${A}: on line 17 of /b/p.csv.gz: wrong number of columns (row content withheld)`,
    );
    expect(duckDbDataErrorMessage(W, 'Invalid Input Error: CSV Error on Line: 9\nValue with Unterminated Quote found.')).toBe(
      `${T}/${A}: on line 9 of its staged files: unterminated quote (row content withheld)`,
    );
    expect(duckDbDataErrorMessage(W, "Conversion Error: Could not convert string 'x' to 'DECIMAL(18, 3)'")).toBe(
      `${T}/${A}: of its staged files: value not convertible to DECIMAL_18_3_ (row content withheld)`,
    );
    expect(duckDbDataErrorMessage(W, 'Conversion Error: column nu_peso is being converted from VARCHAR')).toBe(
      `${T}/${A}: column nu_peso of its staged files: row cannot be read (row content withheld)`,
    );
    expect(duckDbDataErrorMessage(W, 'Conversion Error: something')).toBe(`${T}/${A}: of its staged files: row cannot be read (row content withheld)`);
  });
  it('DuckDB: a "column name" or file that is not an identifier (it could be a value) is dropped', () => {
    const m = duckDbDataErrorMessage(W, 'Conversion Error: CSV Error on Line: 3\nError when converting column "João da Silva". x\n  file = /b/p q.csv');
    expect(m).toBe(`${T}/${A}: on line 3 of /b/p: row cannot be read (row content withheld)`);
    expect(duckDbDataErrorMessage(W, `Conversion Error: Error when converting column "${'a'.repeat(301)}".`)).not.toContain('column');
    expect(duckDbDataErrorMessage(W, `Conversion Error: Error when converting column "${'a'.repeat(300)}".`)).toContain(`column ${'a'.repeat(300)} `);
  });
  it('BigQuery: errors that name nothing are dropped; at most three distinct details; the file may come from the message', () => {
    expect(bigQueryDataErrorMessage(W, [{ message: 'too many errors, giving up' }, {}])).toBe(`${T}/${A}: staged files cannot be loaded (row content withheld)`);
    const f = (n: number) => ({ message: `Could not parse 'v${n}' as INT64 for field c${n} (position ${n}) starting at location ${n}0` });
    expect(bigQueryDataErrorMessage(W, [f(1), f(1), f(2), f(3), f(4)])).toBe(
      `${T}/${A}: column c1 (position 1) at byte 10: value not convertible to INT64; column c2 (position 2) at byte 20: value not convertible to INT64; column c3 (position 3) at byte 30: value not convertible to INT64 (row content withheld)`,
    );
    expect(bigQueryDataErrorMessage(W, [{ message: 'Error while reading data; File: gs://b/x.csv.gz' }])).toBe(`${T}/${A}: of gs://b/x.csv.gz (row content withheld)`);
    // A detail needs a column, a byte offset or a file; a type alone says nothing about where.
    expect(bigQueryDataErrorMessage(W, [{ message: 'column_type: INT64 value: "x"' }])).toBe(`${T}/${A}: staged files cannot be loaded (row content withheld)`);
    expect(bigQueryDataErrorMessage(W, [{ message: 'starting at location 1234' }])).toBe(`${T}/${A}: at byte 1234 (row content withheld)`);
    expect(bigQueryDataErrorMessage(W, [{ message: 'column_name: nu_peso column_index: 12 line_number: 345' }])).toBe(
      `${T}/${A}: column nu_peso (position 12) on line 345 (row content withheld)`,
    );
    expect(bigQueryDataErrorMessage(W, [{ message: "Could not parse 'x' as INT64 for field nu_peso (position 12)" }])).toBe(
      `${T}/${A}: column nu_peso (position 12): value not convertible to INT64 (row content withheld)`,
    );
    expect(bigQueryDataErrorMessage(W, [{ message: 'Error while reading data', location: "gs://b/João's.csv" }])).toBe(
      `${T}/${A}: staged files cannot be loaded (row content withheld)`,
    );
  });
  it('redaction: every "Original Line:" row, and every quoted value in either quote style', () => {
    const r = redactRowContent('x\nOriginal Line: 1,secret\ny\nOriginal Line: 2,other\nCould not parse \'a"b\' as X; Could not convert string "c\'d" to Y');
    expect(r.message).toBe(
      'x\nOriginal Line: (row content withheld)\ny\nOriginal Line: (row content withheld)\nCould not parse (value withheld) as X; Could not convert string (value withheld) to Y',
    );
    expect(redactRowContent('line 1\n  Original Line: kept, not at the start').redacted).toBe(false);
  });
});
