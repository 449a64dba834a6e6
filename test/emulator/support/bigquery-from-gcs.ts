import { gunzipSync } from 'node:zlib';
import type { FakeBigQueryServer, JobOutcome, JobResource } from '../../support/fake-bigquery-server';
import type { FakeGcsServer } from '../../support/fake-gcs-server';

/**
 * Plays BigQuery for the load function over the Cloud Storage double, checking what a load job
 * would meet instead of believing the request:
 * - a load job reads its source URIs from the bucket double: a URI naming no object fails the job
 *   with BigQuery's `notFound`; otherwise the job stages the CSV records really in those files
 *   (gzip, header row skipped, quoted newlines allowed, as the job's configuration says), so the
 *   warehouse adapter's own check "staged rows = rows the manifests declare" meets real numbers;
 * - the apply script (the one multi-statement transaction) answers each slice it lists as loaded,
 *   with the rows the manifests declared (this double runs no SQL; the script is covered by
 *   test/contract/bigquery-sql.contract.test.ts).
 */
export function playBigQueryFromGcs(bq: FakeBigQueryServer, gcs: FakeGcsServer): void {
  bq.onJob = (job: JobResource): JobOutcome => {
    const load = job.configuration.load;
    if (load) {
      let rows = 0;
      for (const uri of load.sourceUris) {
        const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
        const object = m ? gcs.objects(m[1]!).get(m[2]!) : undefined;
        if (!object) return { error: { reason: 'notFound', message: `Not found: URI ${uri}` } };
        const gzip = object.data[0] === 0x1f && object.data[1] === 0x8b;
        const text = (gzip ? gunzipSync(object.data) : object.data).toString('utf8');
        rows += Math.max(0, csvRecords(text) - Number(load.skipLeadingRows ?? 0));
      }
      return { outputRows: rows };
    }
    const sql = job.configuration.query?.query ?? '';
    const tuples = [...sql.matchAll(/\('(tb_[a-z0-9_]+)', '(\d{7})', [^)]*?, (\d+)\)/g)];
    return {
      rows: tuples.map(([, table, municipality, rows]) => ({
        table_name: table!,
        municipality: municipality!,
        status: 'loaded',
        newer_extracted_at: null,
        rows_deleted: 0,
        rows_inserted: Number(rows),
      })),
      schema: [
        { name: 'table_name', type: 'STRING' },
        { name: 'municipality', type: 'STRING' },
        { name: 'status', type: 'STRING' },
        { name: 'newer_extracted_at', type: 'STRING' },
        { name: 'rows_deleted', type: 'INTEGER' },
        { name: 'rows_inserted', type: 'INTEGER' },
      ],
    };
  };
}

/** CSV records in `text` (RFC 4180: a newline inside double quotes does not end a record). */
export function csvRecords(text: string): number {
  let records = 0;
  let quoted = false;
  let inRecord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (c === '\n' && !quoted) {
      records++;
      inRecord = false;
    } else if (c !== '\r') inRecord = true;
  }
  return records + (inRecord ? 1 : 0);
}
