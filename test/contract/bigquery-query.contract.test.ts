import { BigQuery } from '@google-cloud/bigquery';
import { bigQueryQueryRunner } from '../../shared/adapters/gcp/bigquery-query';
import { PipelineError } from '../../shared/errors';
import { startFakeBigQueryServer, type FakeBigQueryServer, type JobResource } from '../support/fake-bigquery-server';

/**
 * Contract: the query job the ledger's query runner (bigQueryQueryRunner, used by run-report)
 * makes the real @google-cloud/bigquery client send, and what it returns and throws. The server is
 * test/support/fake-bigquery-server.ts: it records the request and plays back the job's outcome.
 */
const PROJECT = 'test-project';
if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes('--experimental-vm-modules'))
  throw new Error('run this suite with NODE_OPTIONS=--experimental-vm-modules (as `npm test` does): the BigQuery client needs dynamic import()');
const staticAuth = { getRequestHeaders: async () => new Headers({ authorization: 'Bearer contract-test' }), getProjectId: async () => PROJECT };

describe('bigQueryQueryRunner against the BigQuery REST API (contract)', () => {
  let fake: FakeBigQueryServer;
  let bq: BigQuery;
  const jobPosts = () => fake.requests.filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs`).map((r) => r.json as JobResource);

  beforeAll(async () => {
    fake = await startFakeBigQueryServer();
    // The client's own location is deliberately another one: the job must carry the runner's.
    bq = new BigQuery({ projectId: PROJECT, location: 'US', apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.onJob = () => ({ rows: [] });
  });

  it('one standard-SQL query job in the given location, with the named parameters, labels and job prefix; returns the rows', async () => {
    fake.onJob = () => ({ runningPolls: 1, rows: [{ run_id: 'daily-20261122', loaded: 3 }] });
    const run = bigQueryQueryRunner(bq, { location: 'southamerica-east1', jobPrefix: 'run-report-', labels: { step: 'run-report' } });
    const rows = await run({ query: 'SELECT @run_id AS run_id, 3 AS loaded', params: { run_id: 'daily-20261122' } });
    expect(rows).toEqual([{ run_id: 'daily-20261122', loaded: 3 }]);

    const [job, ...more] = jobPosts();
    expect(more).toEqual([]);
    expect(job!.jobReference.location).toBe('southamerica-east1');
    expect(job!.jobReference.jobId).toMatch(/^run-report-[0-9a-f-]{36}$/);
    expect(job!.configuration.labels).toEqual({ pipeline: 'pec', step: 'run-report' });
    const q = job!.configuration.query!;
    expect(q.query).toBe('SELECT @run_id AS run_id, 3 AS loaded');
    expect(q.useLegacySql).toBe(false);
    expect(q.parameterMode).toBe('named');
    expect(q.queryParameters).toEqual([{ name: 'run_id', parameterType: { type: 'STRING' }, parameterValue: { value: 'daily-20261122' } }]);
    // It waited for the job (one RUNNING answer, then the rows), rather than reading too early.
    expect(fake.requests.filter((r) => r.path.includes('/queries/')).length).toBeGreaterThanOrEqual(2);
  });

  it('every run is a new job (a re-run report never reuses an earlier answer); without a prefix or labels, only pipeline=pec', async () => {
    const run = bigQueryQueryRunner(bq, { location: 'southamerica-east1' });
    await run({ query: 'SELECT 1', params: {} });
    await run({ query: 'SELECT 1', params: {} });
    const [a, b] = jobPosts();
    expect(a!.jobReference.jobId).not.toBe(b!.jobReference.jobId);
    expect(a!.jobReference.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a!.configuration.labels).toEqual({ pipeline: 'pec' });
  });

  it('a job that fails while running is a classified PipelineError naming the job and the reason: transient for backendError, terminal for invalidQuery', async () => {
    const run = bigQueryQueryRunner(bq, { location: 'southamerica-east1' });
    fake.onJob = () => ({ runningPolls: 1, error: { reason: 'backendError', message: 'Backend error. Job aborted.' } });
    const transient = await run({ query: 'SELECT 1', params: {} }).catch((e: unknown) => e);
    expect(transient).toBeInstanceOf(PipelineError);
    expect(transient).toMatchObject({ transient: true, errorClass: 'warehouse' });
    expect((transient as Error).message).toMatch(/^BigQuery query job [0-9a-f-]{36} failed \(reason backendError\): Backend error/);

    fake.onJob = () => ({ runningPolls: 1, error: { reason: 'invalidQuery', message: 'Syntax error: Unexpected end of script' } });
    const terminal = await run({ query: 'SELECT', params: {} }).catch((e: unknown) => e);
    expect(terminal).toMatchObject({ transient: false, errorClass: 'warehouse' });
    expect((terminal as Error).message).toMatch(/^BigQuery query job [0-9a-f-]{36} failed \(reason invalidQuery\)/);
  });

  it('a job that fails at once (its insert answer already carries the error) is classified the same way', async () => {
    fake.onJob = () => ({ error: { reason: 'rateLimitExceeded', message: 'Exceeded rate limits' } });
    const err = await bigQueryQueryRunner(bq, { location: 'southamerica-east1' })({ query: 'SELECT 1', params: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ transient: true, errorClass: 'rate_limited' });
    expect((err as Error).message).toMatch(/^BigQuery query job failed \(reason rateLimitExceeded\)/);
  });

  it('no answer at all (connection refused) is transient, in the warehouse class the runner gives it', async () => {
    const closed = await startFakeBigQueryServer();
    await closed.close();
    const nowhere = new BigQuery({ projectId: PROJECT, apiEndpoint: closed.url, authClient: staticAuth as never, autoRetry: false });
    const err = await bigQueryQueryRunner(nowhere, { location: 'southamerica-east1' })({ query: 'SELECT 1', params: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ transient: true, errorClass: 'warehouse' });
    expect((err as Error).message).toMatch(/^BigQuery query job failed \(ECONNREFUSED\)/);
  });
});
