import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { ConfigError, ENV } from '../../shared/contracts/config';
import { FUNCTIONS, type FunctionKey, type FunctionSpec } from '../../shared/contracts/functions';
import { startFakeBigQueryServer, type FakeBigQueryServer, type JobResource } from '../support/fake-bigquery-server';
import { startFakeGcsServer, type FakeGcsServer } from '../support/fake-gcs-server';

/**
 * The deployed entry points themselves (functions/<name>/index.ts), loaded as Cloud Run functions
 * load them: configuration from the environment at cold start, the registry file next to the code,
 * Google Cloud clients, registration with the functions framework under FUNCTIONS[x].entryPoint.
 * run-status and run-report are exercised end to end against the Cloud Storage and BigQuery API
 * doubles; the Pub/Sub functions' end-to-end path needs the Pub/Sub emulator (pubsub-emulator.test.ts).
 */
const ENTRY: Record<FunctionKey, string> = {
  fanOut: '../../functions/fan-out/index',
  extract: '../../functions/extract/index',
  load: '../../functions/load/index',
  runStatus: '../../functions/run-status/index',
  runReport: '../../functions/run-report/index',
};
const KEYS = Object.keys(FUNCTIONS) as FunctionKey[];

type Testing = typeof import('@google-cloud/functions-framework/testing');

/** Load an entry module in a fresh module registry, as a new instance would; returns its framework's testing API. */
function coldStart(key: FunctionKey): Testing {
  let testing: Testing | undefined;
  // require, not import: jest.isolateModules loads the entry point afresh, synchronously (a cold start).
  /* eslint-disable @typescript-eslint/no-require-imports */
  jest.isolateModules(() => {
    require(ENTRY[key]);
    testing = require('@google-cloud/functions-framework/testing') as Testing;
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
  return testing!;
}

describe('function entry points', () => {
  let dir: string;
  let gcs: FakeGcsServer;
  let bq: FakeBigQueryServer;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entry-points-'));
    fs.writeFileSync(
      path.join(dir, 'municipalities.yaml'),
      'municipalities:\n  - ibge: "3550308"\n    name: São Paulo\n    network: tls\n    connection: { host: pec-sp.example.org, password: { secret: pec-db-3550308 } }\n',
    );
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'municipalities:\n  - ibge: "355030"\n');
    gcs = await startFakeGcsServer();
    bq = await startFakeBigQueryServer();
  });
  afterAll(async () => {
    await gcs.close();
    await bq.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    process.env = {
      ...saved,
      [ENV.projectId]: 'pec-pipeline-test',
      [ENV.environment]: 'test',
      [ENV.stagingBucket]: 'pec-staging-test',
      [ENV.registryFile]: path.join(dir, 'municipalities.yaml'),
      [ENV.pseudonymKeySecret]: 'pec-pseudonym-key',
      // Clients talk to the local Cloud Storage double; nothing here may reach Google.
      STORAGE_EMULATOR_HOST: `${gcs.url}/storage/v1`,
      BIGQUERY_EMULATOR_HOST: `${bq.url}/bigquery/v2`,
      PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
    };
    delete process.env.K_SERVICE;
  });
  afterAll(() => {
    process.env = saved;
  });

  it.each(KEYS)('%s: cold start parses its configuration and registers its entry point with the right signature', (key) => {
    const testing = coldStart(key);
    expect(typeof testing.getFunction(FUNCTIONS[key].entryPoint)).toBe('function');
    expect(() => testing.getTestServer(FUNCTIONS[key].entryPoint)).not.toThrow();
  });

  it.each(KEYS)('%s: cold start sets exactly the V8 flags of its spec', (key) => {
    // Recorded, not applied: this test process keeps its own V8 settings.
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => {});
    try {
      coldStart(key);
      expect(set.mock.calls).toEqual(((FUNCTIONS[key] as FunctionSpec).v8Flags ?? []).map((flag) => [flag]));
    } finally {
      set.mockRestore();
    }
  });

  it.each(KEYS)('%s: a missing variable stops the cold start with one CRITICAL line naming every problem', (key) => {
    delete process.env[ENV.projectId];
    delete process.env[ENV.stagingBucket];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      let thrown: unknown;
      try {
        coldStart(key);
      } catch (e) {
        thrown = e;
      }
      // The module registry is fresh, so the class is a different instance of ConfigError: compare names.
      expect((thrown as Error).name).toBe(ConfigError.name);
      const line = JSON.parse(String(stderr.mock.calls.find((c) => String(c[0]).includes('CRITICAL'))![0]));
      expect(line).toMatchObject({ severity: 'CRITICAL', serviceContext: { service: FUNCTIONS[key].name } });
      expect(line.problems).toEqual(['GOOGLE_CLOUD_PROJECT: is required but not set', 'STAGING_BUCKET: is required but not set']);
    } finally {
      stderr.mockRestore();
    }
  });

  it('a broken registry file stops the cold start and says which field is wrong', () => {
    process.env[ENV.registryFile] = path.join(dir, 'broken.yaml');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => coldStart('extract')).toThrow(/broken\.yaml is invalid: municipalities\.0\.ibge/);
    } finally {
      stderr.mockRestore();
    }
  });

  it('run-status, as deployed, answers from the bucket through the Cloud Storage client', async () => {
    gcs.put(
      'pec-staging-test',
      'runs/daily-20261122/plan.json',
      Buffer.from(
        JSON.stringify({ schemaVersion: 1, runId: 'daily-20261122', createdAt: '2026-11-22T09:00:00.000Z', trigger: 'daily', window: null, municipalities: ['3550308'] }),
      ),
    );
    gcs.put('pec-staging-test', 'runs/daily-20261122/manifests/3550308.json', Buffer.from('{}'));
    const testing = coldStart('runStatus');
    const server: http.Server = testing.getTestServer(FUNCTIONS.runStatus.entryPoint);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?runId=daily-20261122`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ complete: true, counts: { planned: 1, done: 1 }, municipalities: [{ ibge: '3550308', name: 'São Paulo', state: 'done' }] });
      expect(gcs.requests.some((r) => r.path === '/storage/v1/b/pec-staging-test/o' && r.query.prefix === 'runs/daily-20261122/manifests/')).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('run-report, as deployed, reads the run from the bucket and writes the ledger through the BigQuery client', async () => {
    if (!`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes('--experimental-vm-modules'))
      throw new Error('run with NODE_OPTIONS=--experimental-vm-modules (as `npm test` does): the BigQuery client needs dynamic import()');
    gcs.put(
      'pec-staging-test',
      'runs/daily-20261123/plan.json',
      Buffer.from(
        JSON.stringify({ schemaVersion: 1, runId: 'daily-20261123', createdAt: '2026-11-23T09:00:00.000Z', trigger: 'daily', window: null, municipalities: ['3550308'] }),
      ),
    );
    const testing = coldStart('runReport');
    const server: http.Server = testing.getTestServer(FUNCTIONS.runReport.entryPoint);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ runId: 'daily-20261123', runDate: '2026-11-23', deadlineAt: '2026-11-23T12:00:00Z', loadTimedOut: false, martsFailed: [] }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ runs: [{ runId: 'daily-20261123', planned: 1, loaded: 0 }] });
      const jobs = bq.requests.filter((r) => r.method === 'POST' && r.path === '/bigquery/v2/projects/pec-pipeline-test/jobs').map((r) => r.json as JobResource);
      expect(jobs[0]!.configuration.query!.query).toContain('DELETE FROM `pec-pipeline-test.ops.runs` WHERE run_id = @run_id');
      expect(jobs[0]!.jobReference).toMatchObject({ jobId: expect.stringMatching(/^run-report-/), location: 'southamerica-east1' });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
