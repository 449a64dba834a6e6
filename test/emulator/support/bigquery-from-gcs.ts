import { gunzipSync } from 'node:zlib';
import type { FakeBigQueryServer, JobOutcome, JobResource } from '../../support/fake-bigquery-server';
import type { FakeGcsServer } from '../../support/fake-gcs-server';
import { queryJob, type LedgerRow } from '../../support/fake-bigquery-loader';

/**
 * Plays BigQuery for the load function over the Cloud Storage double, checking what a load job
 * would meet instead of believing the request:
 * - a load job reads its source URIs from the bucket double: a URI naming no object fails the job
 *   with BigQuery's `notFound`; a job without an explicit schema, a file whose header is not the
 *   schema's columns in order, or a record with another number of fields fails `invalid`;
 *   otherwise the job stages the CSV records really in those files (gzip, header row skipped,
 *   quoted newlines allowed), so the warehouse adapter's own check "staged rows = rows the
 *   manifests declare" meets real numbers;
 * - the ledger read and the apply transaction are answered as in the warehouse behaviour suite
 *   (test/support/fake-bigquery-loader.ts: the adapter's own decisions echoed from its parameters;
 *   this double runs no SQL).
 */
export function playBigQueryFromGcs(bq: FakeBigQueryServer, gcs: FakeGcsServer): void {
  const ledger: LedgerRow[] = [];
  bq.onJob = (job: JobResource): JobOutcome => {
    const load = job.configuration.load;
    if (load) {
      let rows = 0;
      const fields = ((load.schema as { fields?: { name: string }[] } | undefined)?.fields ?? []).map((f) => f.name);
      if (fields.length === 0 || load.autodetect) return { error: { reason: 'invalid', message: 'this pipeline loads with an explicit schema, never autodetect' } };
      for (const uri of load.sourceUris) {
        const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
        const object = m ? gcs.objects(m[1]!).get(m[2]!) : undefined;
        if (!object) return { error: { reason: 'notFound', message: `Not found: URI ${uri}` } };
        const gzip = object.data[0] === 0x1f && object.data[1] === 0x8b;
        const records = csvRecords((gzip ? gunzipSync(object.data) : object.data).toString('utf8'));
        const skip = Number(load.skipLeadingRows ?? 0);
        // The header is skipped by BigQuery, but it names the columns in file order: it must be the schema's order.
        if (skip === 1 && records[0]?.join(',') !== fields.join(','))
          return { error: { reason: 'invalid', message: `${uri}: header ${JSON.stringify(records[0])} is not the schema's columns in order` } };
        const bad = records.slice(skip).findIndex((r) => r.length !== fields.length);
        if (bad >= 0)
          return {
            error: {
              reason: 'invalid',
              message: `Error while reading data, error message: CSV table references column position ${fields.length}, but line ${bad + skip + 1} of ${uri} has ${records[bad + skip]!.length}`,
            },
          };
        rows += records.length - skip;
      }
      return { outputRows: rows };
    }
    return queryJob(job, ledger);
  };
}

/**
 * The records of CSV `text`, each as its unquoted field values (RFC 4180: fields in double quotes
 * may hold commas, newlines and doubled quotes).
 */
export function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
      continue;
    }
    if (c === '"') {
      quoted = true;
      started = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      started = true;
    } else if (c === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      started = false;
    } else if (c !== '\r') {
      field += c;
      started = true;
    }
  }
  if (started || field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
