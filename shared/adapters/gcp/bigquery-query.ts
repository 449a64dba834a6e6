import type { BigQuery, Job } from '@google-cloud/bigquery';
import type { BigQueryQueryRunner } from '../../ports';
import { gcpError } from './errors';

export interface BigQueryQueryOptions {
  /** Location of the datasets the query touches (every job runs there: LGPD, São Paulo). */
  location: string;
  /** Readable job ids in the project's job history, e.g. "run-report-" (BigQuery appends a random id). */
  jobPrefix?: string;
  /** Job labels (cost reports by step); `pipeline: pec` is always added. */
  labels?: Record<string, string>;
}

/**
 * Runs a `BigQueryQuery` (SQL or a multi-statement script with named STRING parameters) as one
 * query job and returns the rows of its last statement. The ledger writer (BigQueryLedger) takes
 * this as its query runner. Client errors, and a job that failed, become PipelineErrors that say
 * whether to retry (errors.ts): a report is idempotent (it replaces its run's rows in one
 * transaction), so a caller may simply try again on a transient one.
 *
 * Jobs get random ids (jobPrefix + uuid) on purpose: re-running a report must run it again, it
 * never reuses an earlier answer.
 */
export function bigQueryQueryRunner(bq: BigQuery, o: BigQueryQueryOptions): BigQueryQueryRunner {
  const labels = { pipeline: 'pec', ...(o.labels ?? {}) };
  return async (q) => {
    let job: Job;
    try {
      [job] = await bq.createQueryJob({
        query: q.query,
        params: q.params,
        location: o.location,
        useLegacySql: false,
        labels,
        ...(o.jobPrefix ? { jobPrefix: o.jobPrefix } : {}),
      });
    } catch (err) {
      // A job that failed at once (a syntax error, a missing table) is reported here, with its reason.
      throw gcpError(err, 'warehouse', 'BigQuery query job');
    }
    try {
      // Waits for the job: the results call long-polls until the job is done, then pages through its rows.
      const [rows] = await job.getQueryResults({ autoPaginate: true });
      return rows as Record<string, unknown>[];
    } catch (err) {
      throw gcpError(err, 'warehouse', `BigQuery query job ${job.id}`);
    }
  };
}
