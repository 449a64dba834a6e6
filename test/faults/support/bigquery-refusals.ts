import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BigQuery } from '@google-cloud/bigquery';

/**
 * A local HTTP server that refuses every BigQuery REST call the way BigQuery does when a limit is
 * hit: the status and JSON error body BigQuery sends (https://cloud.google.com/bigquery/docs/error-messages),
 * e.g. `403` with `errors[].reason = "rateLimitExceeded"`. The real @google-cloud/bigquery client
 * turns that body into its own ApiError, which the pipeline's real classifier then judges: nothing
 * in between is pre-classified by the test. (test/support/fake-bigquery-server.ts plays whole jobs;
 * this one only refuses.)
 */
export interface BigQueryRefusal {
  status: number;
  reason: string;
  message: string;
  /** Google's canonical status name in the body. */
  statusName: string;
}

export const RATE_LIMIT_EXCEEDED: BigQueryRefusal = {
  status: 403,
  reason: 'rateLimitExceeded',
  message: 'Exceeded rate limits: too many table update operations for this table. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
  statusName: 'PERMISSION_DENIED',
};

export const QUOTA_EXCEEDED: BigQueryRefusal = {
  status: 403,
  reason: 'quotaExceeded',
  message: 'Quota exceeded: Your project exceeded quota for concurrent queries. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
  statusName: 'PERMISSION_DENIED',
};

export const ACCESS_DENIED: BigQueryRefusal = {
  status: 403,
  reason: 'accessDenied',
  message:
    'Access Denied: Table test-project:raw.tb_fat_cidadao_pec: Permission bigquery.tables.updateData denied on table test-project:raw.tb_fat_cidadao_pec (or it may not exist).',
  statusName: 'PERMISSION_DENIED',
};

export interface RefusingBigQuery {
  url: string;
  /** Every request received: "METHOD path". */
  requests: string[];
  /** A real BigQuery client pointed at this server (no retries of its own: the pipeline's redelivery is under test). */
  client: BigQuery;
  close(): Promise<void>;
}

export async function startRefusingBigQuery(refusal: BigQueryRefusal): Promise<RefusingBigQuery> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(`${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`);
      res.writeHead(refusal.status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(
        JSON.stringify({
          error: {
            code: refusal.status,
            message: refusal.message,
            errors: [{ message: refusal.message, domain: refusal.reason === 'accessDenied' ? 'global' : 'usageLimits', reason: refusal.reason }],
            status: refusal.statusName,
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const projectId = 'test-project';
  const staticAuth = { getRequestHeaders: async () => new Headers({ authorization: 'Bearer fault-test' }), getProjectId: async () => projectId };
  const client = new BigQuery({ projectId, location: 'southamerica-east1', apiEndpoint: url, authClient: staticAuth as never, autoRetry: false });
  return {
    url,
    requests,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
