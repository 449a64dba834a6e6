import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BigQuery } from '@google-cloud/bigquery';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { bigQueryQueryRunner } from '../../shared/adapters/gcp/bigquery-query';
import { loadFunctionConfig } from '../../shared/adapters/gcp/function-config';
import type { Manifest } from '../../shared/contracts/manifest';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { layout } from '../../shared/records/layout';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { createLogger } from '../../shared/log';
import { CapturedLog } from '../support/local-pipeline';
import { evaluateAlerts } from '../../shared/ledger/alerts';
import { BigQueryLedger, bigQueryLedgerScript } from '../../shared/ledger/bigquery-ledger';
import { buildRunReport } from '../../shared/ledger/report';
import type { RunReportResponse } from '../../shared/ledger/run-report';
import type { Clock, ObjectStore } from '../../shared/ports';
import { planRun } from '../../shared/run/plan-run';
import { StoreRunObserver, writePlan } from '../../shared/records/run-records';
import { runReportFunction } from '../../functions/run-report/function';
import { startFakeBigQueryServer, type FakeBigQueryServer, type JobResource } from '../support/fake-bigquery-server';

/**
 * The run-report function served over HTTP by the functions framework: the run's objects in a real
 * object store (FsObjectStore, the bucket's local stand-in) in, the ledger written through the real
 * @google-cloud/bigquery client to test/support/fake-bigquery-server.ts (which checks the requests
 * and plays back job outcomes; it runs no SQL), the answer the workflow logs alerts from out.
 */

// @google-cloud/bigquery loads node-fetch with a dynamic import(): jest needs --experimental-vm-modules.
if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes('--experimental-vm-modules'))
  throw new Error('run this suite with NODE_OPTIONS=--experimental-vm-modules (as `npm test` does): the BigQuery client needs dynamic import()');

const PROJECT = 'pec-pipeline-test';
const LOCATION = 'southamerica-east1';
const staticAuth = { getRequestHeaders: async () => new Headers({ authorization: 'Bearer integration-test' }), getProjectId: async () => PROJECT };

const registry = MunicipalityRegistry.parse({
  municipalities: ['3550308', '3304557', '4106902'].map((ibge, i) => ({
    ibge,
    name: ['São Paulo', 'Rio de Janeiro', 'Curitiba'][i],
    network: 'tls',
    connection: { host: `pec-${ibge}.example.org`, password: { secret: `pec-db-${ibge}` } },
  })),
});
const CREATED = new Date('2026-11-22T09:00:00Z');
const DEADLINE = '2026-11-22T12:00:00.000Z';
const logLines = new CapturedLog();
const REPORT_REQUEST = { runId: 'daily-20261122', runDate: '2026-11-22', deadlineAt: DEADLINE, loadTimedOut: false, martsFailed: [] };

/** A manifest of one full-refresh table, `rows` staged of `rows` read; the PEC's DW processed 30 h before the run. */
function manifest(runId: string, ibge: string, rows: number): Manifest {
  return {
    schemaVersion: 1,
    runId,
    municipality: ibge,
    attempt: '20261122090000000-abcdef',
    extractedAt: '2026-11-22T09:05:00.000Z',
    finishedAt: '2026-11-22T09:06:00.000Z',
    pecVersion: '5.5.12',
    dwProcessedAt: '2026-11-21T03:00:00',
    tables: [
      {
        table: 'tb_dim_equipe',
        window: null,
        columns: [{ name: 'co_seq_dim_equipe', type: 'bigint' }],
        parts: [{ key: `runs/${runId}/tables/tb_dim_equipe/${ibge}/a/part-00000.csv.gz`, rows, bytes: 100, sha256: 'a'.repeat(64) }],
        rows,
        sourceRows: rows,
        csvBytes: 200,
        seconds: 1,
        extractedAt: '2026-11-22T09:05:00.000Z',
        warnings: [],
      },
    ],
    failedTables: [],
  };
}

describe('run-report function over HTTP, writing the ledger through BigQuery', () => {
  let dir: string;
  let store: ObjectStore;
  let fake: FakeBigQueryServer;
  let server: http.Server;
  let base: string;
  let rerunId: string;
  const clock: Clock = { now: () => new Date('2026-11-22T13:00:00Z') };
  const ds = { project: PROJECT, dataset: 'ops' };

  const jobPosts = () => fake.requests.filter((r) => r.method === 'POST' && r.path === `/bigquery/v2/projects/${PROJECT}/jobs`).map((r) => r.json as JobResource);
  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(base, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const paramsOf = (job: JobResource) => Object.fromEntries((job.configuration.query?.queryParameters ?? []).map((p) => [p.name, p.parameterValue.value]));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-report-'));
    store = new FsObjectStore(dir);
    fake = await startFakeBigQueryServer();
    const bq = new BigQuery({ projectId: PROJECT, location: LOCATION, apiEndpoint: fake.url, authClient: staticAuth as never, autoRetry: false });
    const config = loadFunctionConfig('runReport', { GOOGLE_CLOUD_PROJECT: PROJECT, PIPELINE_ENV: 'test', STAGING_BUCKET: 'pec-staging-test', STALE_SOURCE_HOURS: '48' });
    // The same wiring as functions/run-report/index.ts, with the client pointed at the fake.
    const ledger = new BigQueryLedger(bigQueryQueryRunner(bq, { location: config.bqLocation, jobPrefix: 'run-report-', labels: { step: 'run-report' } }), {
      project: config.projectId,
      dataset: config.opsDataset,
    });
    ff.http('runReport', runReportFunction(config, { store, ledger, clock, logger: createLogger({ service: 'run-report-test', destination: logLines }) }));
    server = getTestServer('runReport');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // The daily run: São Paulo loaded, Rio failed for good, Curitiba extracted but not loaded.
    const put = (key: string, body: unknown) => store.create(key, Readable.from([Buffer.from(JSON.stringify(body))]), 'application/json');
    const plan = planRun({ trigger: 'daily', runDate: '2026-11-22' }, registry, { now: CREATED, lookbackDays: 35, requestId: 'm1' });
    await writePlan(store, plan, CREATED);
    await put(layout.manifest(plan.runId, '3550308'), manifest(plan.runId, '3550308', 3));
    await put(layout.manifest(plan.runId, '4106902'), manifest(plan.runId, '4106902', 2));
    const observer = new StoreRunObserver(store, { now: () => new Date('2026-11-22T10:00:00Z') });
    await observer.record({
      kind: 'extract_failed',
      runId: plan.runId,
      municipality: '3304557',
      errorClass: 'source_auth',
      message: 'password authentication failed',
      willRetry: false,
    });
    await observer.record({
      kind: 'load_finished',
      runId: plan.runId,
      loadId: 'load-daily-20261122-abc',
      missingManifests: [],
      outcomes: [{ municipality: '3550308', table: 'tb_dim_equipe', status: 'loaded', rowsDeleted: 0, rowsInserted: 3 }],
    });
    // A rerun of Curitiba the day before that loaded and was never reported (no workflow of its own).
    const rerun = planRun({ trigger: 'rerun', municipalities: ['4106902'], runDate: '2026-11-21' }, registry, { now: CREATED, lookbackDays: 35, requestId: 'm2' });
    rerunId = rerun.runId;
    await writePlan(store, rerun, CREATED);
    await put(layout.manifest(rerunId, '4106902'), manifest(rerunId, '4106902', 5));
    await observer.record({
      kind: 'load_finished',
      runId: rerunId,
      loadId: `load-${rerunId}-abc`,
      missingManifests: [],
      outcomes: [{ municipality: '4106902', table: 'tb_dim_equipe', status: 'loaded', rowsDeleted: 1, rowsInserted: 5 }],
    });
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.requests.length = 0;
    // Jobs are never reused (random ids): forget them between tests.
    fake.jobs.clear();
  });

  it('writes the run ledger in one transaction per run through BigQuery query jobs, and reports the runs not reported yet', async () => {
    fake.onJob = (job) =>
      job.configuration.query?.query.startsWith('SELECT DISTINCT run_id')
        ? { rows: [{ run_id: 'daily-20261122' }, { run_id: rerunId }] }
        : // The report script takes a while: the client long-polls getQueryResults until it is done.
          { runningPolls: 2, rows: [] };
    const res = await post(REPORT_REQUEST);
    expect(res.status).toBe(200);
    const body = (await res.json()) as RunReportResponse;
    expect(body.runs).toEqual([
      { runId: 'daily-20261122', status: 'partial', planned: 3, loaded: 1, failed: 1, late: 0, skipped: 0, alerts: 2 },
      { runId: rerunId, status: 'succeeded', planned: 1, loaded: 1, failed: 0, late: 0, skipped: 0, alerts: 0 },
    ]);
    // The answer is counts and a pointer (the workflow holds it); the function logs each alert line itself.
    expect(body.alerts).toBe(2);
    expect(body.runsReported).toBe(2);
    expect(body.alertsQuery).toBe(`SELECT * FROM ops.alerts WHERE run_id IN ('daily-20261122', '${rerunId}') ORDER BY run_id, rule, municipality`);
    // STALE_SOURCE_HOURS=48 reached the alert rules: DW processed 30 h before the run is not stale.
    const alertLines = logLines.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.alert === 'pec-pipeline');
    expect(alertLines.map((a) => [a.rule, a.municipality])).toEqual([
      ['municipality_failed', '3304557'],
      ['not_loaded', '4106902'],
    ]);
    expect(alertLines[0]).toMatchObject({ alert: 'pec-pipeline', runId: 'daily-20261122', severity: 'ERROR' });

    // Three jobs, in order: the daily report, the unreported-runs query, the rerun's report.
    const jobs = jobPosts();
    expect(jobs.map((j) => j.configuration.query!.query.split('\n')[0])).toEqual([
      'BEGIN TRANSACTION;',
      `SELECT DISTINCT run_id FROM \`${PROJECT}.ops.loaded_slices\``,
      'BEGIN TRANSACTION;',
    ]);
    for (const j of jobs) {
      expect(j.jobReference.jobId).toMatch(/^run-report-/);
      expect(j.jobReference.location).toBe(LOCATION);
      expect(j.configuration.query!.useLegacySql).toBe(false);
      expect(j.configuration.labels).toMatchObject({ pipeline: 'pec', step: 'run-report' });
    }

    // The daily report: DELETE the run's rows and INSERT the report's, in every ledger table, values only as parameters.
    const [daily] = jobs;
    const sql = daily!.configuration.query!.query;
    for (const t of ['runs', 'municipality_runs', 'reconciliation', 'alerts']) {
      expect(sql).toContain(`DELETE FROM \`${PROJECT}.ops.${t}\` WHERE run_id = @run_id`);
      expect(sql).toContain(`INSERT INTO \`${PROJECT}.ops.${t}\``);
      expect(sql).toContain(`FROM UNNEST(JSON_QUERY_ARRAY(@${t}_0)) AS r`);
    }
    expect(sql.trim().endsWith('COMMIT TRANSACTION;')).toBe(true);
    expect(sql).not.toContain('3304557'); // no value is ever spliced into the SQL
    expect(daily!.configuration.query!.parameterMode?.toUpperCase()).toBe('NAMED');
    expect(new Set(daily!.configuration.query!.queryParameters!.map((p) => p.parameterType.type))).toEqual(new Set(['STRING']));
    const params = paramsOf(daily!);
    expect(params.run_id).toBe('daily-20261122');
    const runRows = JSON.parse(params.runs_0!) as Record<string, unknown>[];
    expect(runRows).toEqual([
      expect.objectContaining({
        run_id: 'daily-20261122',
        trigger: 'daily',
        run_date: '2026-11-22',
        status: 'partial',
        deadline_at: DEADLINE,
        municipalities_planned: 3,
        alerts: 2,
      }),
    ]);
    const municipalities = JSON.parse(params.municipality_runs_0!) as { municipality: string; status: string; error_class: string | null }[];
    expect(municipalities.map((m) => [m.municipality, m.status, m.error_class])).toEqual([
      ['3550308', 'loaded', null],
      ['3304557', 'failed', 'source_auth'],
      ['4106902', 'staged', null],
    ]);
    const reconciliation = JSON.parse(params.reconciliation_0!) as { municipality: string; status: string; loaded_rows: number | null }[];
    expect(reconciliation.map((r) => [r.municipality, r.status, r.loaded_rows])).toEqual([
      ['3550308', 'match', 3],
      ['4106902', 'not_loaded', null],
    ]);
    expect((JSON.parse(params.alerts_0!) as { rule: string }[]).map((a) => a.rule)).toEqual(['municipality_failed', 'not_loaded']);

    // Exactly the script the ledger defines for this report (shared/ledger/bigquery-ledger.ts).
    const report = await buildRunReport(store, REPORT_REQUEST, clock.now());
    const expected = bigQueryLedgerScript(report, evaluateAlerts(report, { staleSourceHours: 48 }), ds);
    expect(sql).toBe(expected.query);
    expect(params).toEqual(expected.params);

    // The client waited for the running script: getQueryResults answered "not complete" twice first.
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/queries/${daily!.jobReference.jobId}`))).toHaveLength(3);

    // The rerun found by the unreported-runs query gets its own report.
    expect(paramsOf(jobs[2]!).run_id).toBe(rerunId);
  });

  it('a finalize-only request (no runId) reports only the runs not reported yet', async () => {
    fake.onJob = (job) => (job.configuration.query?.query.startsWith('SELECT DISTINCT run_id') ? { rows: [{ run_id: rerunId }] } : { rows: [] });
    const res = await post({ runId: null, runDate: null, loadTimedOut: false, martsFailed: ['diabetes_follow_up'] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as RunReportResponse).runs.map((r) => r.runId)).toEqual([rerunId]);
    expect(jobPosts()).toHaveLength(2);
  });

  it.each([
    ['a bad run id', { ...REPORT_REQUEST, runId: 'Daily_2026' }, /^runId: /],
    ['a date that is not YYYY-MM-DD', { ...REPORT_REQUEST, runDate: '22/11/2026' }, /^runDate: /],
    ['a deadline that is not an ISO timestamp', { ...REPORT_REQUEST, deadlineAt: 'noon' }, /^deadlineAt: /],
    ['loadTimedOut not a boolean', { ...REPORT_REQUEST, loadTimedOut: 'no' }, /^loadTimedOut: /],
    ['martsFailed not a list of names', { ...REPORT_REQUEST, martsFailed: [1] }, /^martsFailed\.0: /],
    ['an unknown field', { ...REPORT_REQUEST, verbose: true }, /verbose/],
  ])('answers 400 naming the field for %s, and touches nothing', async (_what, body, error) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(error);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 400 for a body that is not a JSON object, 405 for other methods', async () => {
    for (const [body, headers] of [
      ['["daily-20261122"]', { 'content-type': 'application/json' }],
      ['runId=daily-20261122', { 'content-type': 'text/plain' }],
    ] as const) {
      const res = await post(body, headers);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/\(body\): must be a JSON object/);
    }
    const get = await fetch(`${base}/?runId=daily-20261122`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 422 for a run without a plan: the id is wrong or the run never started (the workflow does not retry it)', async () => {
    const res = await post({ ...REPORT_REQUEST, runId: 'daily-20991231' });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ errorClass: 'invalid_message', retry: false, error: expect.stringMatching(/daily-20991231 has no plan/) });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['when the job is refused at once', 0],
    ['when the running job fails', 1],
  ])('answers 503 with Retry-After on a transient BigQuery failure %s, so the workflow retries', async (_when, runningPolls) => {
    fake.onJob = () => ({ runningPolls, error: { reason: 'backendError', message: 'Backend error. Job aborted.' } });
    const res = await post(REPORT_REQUEST);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await res.json()).toMatchObject({ errorClass: 'warehouse', retry: true, error: expect.stringMatching(/reason backendError/) });
  });

  it('answers 500 on a terminal BigQuery failure, with what went wrong', async () => {
    fake.onJob = () => ({ error: { reason: 'accessDenied', message: 'Access Denied: Table pec-pipeline-test:ops.runs: Permission bigquery.tables.updateData denied' } });
    const res = await post(REPORT_REQUEST);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      errorClass: 'warehouse',
      retry: false,
      error: expect.stringMatching(/BigQuery query job failed \(reason accessDenied\): Access Denied/),
    });
  });
});
