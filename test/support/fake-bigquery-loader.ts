import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { sliceParams } from '../../shared/adapters/gcp/bigquery-sql';
import type { FakeBigQueryServer, JobOutcome, JobResource } from './fake-bigquery-server';

/**
 * Plays the BigQuery jobs of a load for the fake server, deciding nothing the adapter decides:
 * - a load job reads its source files (local paths: the fs object store's load URIs), parses the
 *   CSV and checks every value against the job's explicit schema as BigQuery's CSV loader does
 *   (INT64, NUMERIC/FLOAT64, DATE, DATETIME; empty is NULL); it answers the rows it staged, or, at
 *   the first bad value (maxBadRecords 0), BigQuery's error shape: reason `invalid`, the file in
 *   `errors[].location`, the value quoted in the message (which the adapter must not pass on);
 * - the ledger read answers the ledger rows this loader holds;
 * - the apply transaction echoes its @slices parameter (the adapter's decisions) and, as its ledger
 *   INSERT would, appends a ledger row for every slice it loads.
 * It does not execute the DELETE/INSERT text: the tests check the parameters and predicates sent.
 */
export interface LedgerRow {
  table_name: string;
  municipality: string;
  window_start: string | null;
  window_end: string | null;
  extracted_at: string;
}

export function playLoader(fake: FakeBigQueryServer): { ledger: LedgerRow[] } {
  const ledger: LedgerRow[] = [];
  fake.onJob = (job: JobResource): JobOutcome => (job.configuration.load ? loadJob(job) : queryJob(job, ledger));
  return { ledger };
}

/**
 * The query jobs of a load, over `ledger` (which it appends to): the ledger read answers the rows
 * held; the apply transaction echoes its @slices parameter and records the slices it loads.
 */
export function queryJob(job: JobResource, ledger: LedgerRow[]): JobOutcome {
  const q = job.configuration.query!;
  if (/-ledger-[0-9a-f]{8}$/.test(job.jobReference.jobId))
    return { rows: ledger.map((l) => ({ ...l })), schema: ['table_name', 'municipality', 'window_start', 'window_end', 'extracted_at'].map((name) => ({ name, type: 'STRING' })) };
  const slices = sliceParams(q.queryParameters ?? []);
  for (const s of slices)
    if (s.status === 'load')
      ledger.push({ table_name: s.table_name!, municipality: s.municipality!, window_start: s.window_start, window_end: s.window_end, extracted_at: isoOf(s.extracted_at!) });
  return {
    rows: slices.map((s) => ({
      table_name: s.table_name,
      municipality: s.municipality,
      status: s.status,
      newer_extracted_at: s.newer_extracted_at,
      message: s.message,
      rows_deleted: s.status === 'load' ? 0 : null,
      rows_inserted: s.status === 'load' ? Number(s.rows_expected) : null,
    })),
    schema: [
      { name: 'table_name', type: 'STRING' },
      { name: 'municipality', type: 'STRING' },
      { name: 'status', type: 'STRING' },
      { name: 'newer_extracted_at', type: 'STRING' },
      { name: 'message', type: 'STRING' },
      { name: 'rows_deleted', type: 'INTEGER' },
      { name: 'rows_inserted', type: 'INTEGER' },
    ],
  };
}

/** "2026-11-22 09:00:00.123456+00:00" (a TIMESTAMP parameter) → "2026-11-22T09:00:00.123456Z" (FORMAT_TIMESTAMP as the ledger read returns it). */
function isoOf(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00:00$/.exec(ts);
  if (!m) throw new Error(`unexpected TIMESTAMP parameter ${ts}`);
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
}

const VALID: Record<string, RegExp> = {
  INT64: /^-?\d+$/,
  NUMERIC: /^-?\d+(\.\d+)?$/,
  BIGNUMERIC: /^-?\d+(\.\d+)?$/,
  FLOAT64: /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|NaN|-?Infinity)$/,
  DATE: /^\d{4}-\d{2}-\d{2}$/,
  DATETIME: /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/,
};

function loadJob(job: JobResource): JobOutcome {
  const load = job.configuration.load!;
  const fields = (load.schema as { fields: { name: string; type: string }[] }).fields;
  let rows = 0;
  for (const uri of load.sourceUris) {
    const text = gunzipSync(fs.readFileSync(uri)).toString('utf8');
    let offset = 0;
    const lines = text.split('\n');
    for (const [n, line] of lines.entries()) {
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      if (n < Number(load.skipLeadingRows ?? 0) || line === '') continue;
      const values = parseCsvLine(line);
      for (const [i, f] of fields.entries()) {
        const v = values[i] ?? '';
        if (v !== '' && VALID[f.type] && !VALID[f.type]!.test(v)) {
          const summary = `Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: ${rows + 1}; errors: 1. Please look into the errors[] collection for more details.`;
          return {
            error: { reason: 'invalid', message: summary },
            errors: [
              { reason: 'invalid', message: summary },
              {
                reason: 'invalid',
                location: uri,
                message: `Error while reading data, error message: Could not parse '${v}' as ${f.type} for field ${f.name} (position ${i}) starting at location ${start}  with message 'Unable to parse'`,
              },
            ],
          };
        }
      }
      rows++;
    }
  }
  return { outputRows: rows };
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
