import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadFunctionConfig } from '../../shared/adapters/gcp/function-config';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { TransientError } from '../../shared/errors';
import { layout } from '../../shared/records/layout';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { silentLogger } from '../../shared/log';
import type { Clock, ObjectStore } from '../../shared/ports';
import { planRun } from '../../shared/run/plan-run';
import { StoreRunObserver, writePlan } from '../../shared/records/run-records';
import type { RunStatus, RunStatusSummary } from '../../shared/run/run-status';
import { runStatusFunction } from '../../functions/run-status/function';

/**
 * The run-status function served over HTTP by the functions framework, on a real object store
 * (FsObjectStore, the local stand-in for the bucket): plan + manifests + failure and load records
 * in, the status the workflow polls out.
 */
const registry = MunicipalityRegistry.parse({
  municipalities: ['3550308', '3304557', '4106902', '3509502'].map((ibge, i) => ({
    ibge,
    name: ['São Paulo', 'Rio de Janeiro', 'Curitiba', 'Campinas'][i],
    network: 'tls',
    connection: { host: `pec-${ibge}.example.org`, password: { secret: `pec-db-${ibge}` } },
  })),
});
const CREATED = new Date('2026-11-22T09:00:00Z');

describe('run-status function over HTTP', () => {
  let dir: string;
  let store: ObjectStore;
  let server: http.Server;
  let base: string;
  const clock: Clock & { t: Date } = { t: new Date(CREATED.getTime() + 30 * 60_000), now: () => clock.t };
  let failReads = false;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-status-'));
    const fsStore = new FsObjectStore(dir);
    // The same store, with a knob that makes listings fail like an unreachable bucket.
    store = {
      create: (k, b, t) => fsStore.create(k, b, t),
      read: (k) => fsStore.read(k),
      readStream: (k) => fsStore.readStream(k),
      list: async (p) => {
        if (failReads) throw new TransientError('bucket unavailable (HTTP 503)', 'storage');
        return fsStore.list(p);
      },
      loadUri: (k) => fsStore.loadUri(k),
    };
    const config = loadFunctionConfig('runStatus', { GOOGLE_CLOUD_PROJECT: 'pec-pipeline-test', PIPELINE_ENV: 'test', STAGING_BUCKET: 'pec-staging-test' });
    ff.http('runStatus', runStatusFunction(config, { store, clock, logger: silentLogger, registry }));
    server = getTestServer('runStatus');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // A daily run of four municipalities: one done, one failed for good, one done after a failure
    // (the manifest wins), one still extracting after two time-budget continuations.
    const plan = planRun({ trigger: 'daily', runDate: '2026-11-22' }, registry, { now: CREATED, lookbackDays: 35, requestId: 'm1' });
    await writePlan(store, plan, CREATED);
    const put = (key: string, body: unknown) => store.create(key, Readable.from([Buffer.from(JSON.stringify(body))]), 'application/json');
    await put(layout.manifest(plan.runId, '3550308'), { any: 'manifest' });
    await put(layout.manifest(plan.runId, '4106902'), { any: 'manifest' });
    const observer = new StoreRunObserver(store, { now: () => CREATED });
    await observer.record({
      kind: 'extract_failed',
      runId: plan.runId,
      municipality: '3304557',
      errorClass: 'source_auth',
      message: 'password authentication failed',
      willRetry: false,
    });
    await observer.record({ kind: 'extract_failed', runId: plan.runId, municipality: '3304557', errorClass: 'source_auth', message: 'second failure: not kept', willRetry: false });
    await observer.record({ kind: 'extract_failed', runId: plan.runId, municipality: '4106902', errorClass: 'source_auth', message: 'then fixed', willRetry: false });
    // Transient failures are redelivered by Pub/Sub: never recorded as failed.
    await observer.record({
      kind: 'extract_failed',
      runId: plan.runId,
      municipality: '3509502',
      errorClass: 'source_unreachable',
      message: 'timeout',
      willRetry: true,
      attempt: 1,
    });
    await put(layout.checkpoint(plan.runId, '3509502', 1), {});
    await put(layout.checkpoint(plan.runId, '3509502', 2), {});
    await observer.record({
      kind: 'load_finished',
      runId: plan.runId,
      loadId: 'load-daily-20261122-abc',
      missingManifests: [],
      outcomes: [{ municipality: '3550308', table: 'tb_dim_equipe', status: 'loaded', rowsDeleted: 0, rowsInserted: 3 }],
    });
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports done / failed / pending per municipality, with names, continuations and loads', async () => {
    const res = await fetch(`${base}/?runId=daily-20261122`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as RunStatus;
    expect(body).toMatchObject({
      runId: 'daily-20261122',
      trigger: 'daily',
      window: { start: '2026-10-18', end: '2026-11-23' },
      complete: false,
      counts: { planned: 4, done: 2, failed: 1, pending: 1, late: 0, loaded: 1 },
      loads: [{ loadId: 'load-daily-20261122-abc', loaded: 1, alreadyLoaded: 0, stale: 0, missingManifests: [] }],
    });
    const by = Object.fromEntries(body.municipalities.map((m) => [m.ibge, m]));
    expect(by['3550308']).toMatchObject({ name: 'São Paulo', state: 'done', loaded: true });
    expect(by['3304557']).toMatchObject({ state: 'failed', failure: { errorClass: 'source_auth', message: 'password authentication failed' } });
    expect(by['4106902']).toMatchObject({ state: 'done' });
    expect(by['4106902']!.failure).toBeUndefined();
    expect(by['3509502']).toMatchObject({ state: 'pending', continuations: 2, late: false });
  });

  it('the summary view (what the workflow polls) holds counts, one page of the plan and the loadable list, from query strings', async () => {
    const res = await fetch(`${base}/?runId=daily-20261122&view=summary&dispatchFrom=0&dispatchLimit=3&loadableLimit=5`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as RunStatusSummary;
    expect(body).not.toHaveProperty('municipalities');
    expect(body.counts).toMatchObject({ planned: 4, done: 2, failed: 1, pending: 1, retrying: 1, loaded: 1, loadable: 1 });
    expect(body.retryingByClass).toEqual({ source_unreachable: 1 });
    expect(body.loadable).toEqual(['4106902']);
    expect(body.dispatch!.next).toBe(3);
    expect((await fetch(`${base}/?runId=daily-20261122&view=summary&loadableLimit=101`)).status).toBe(400);
  });

  it("flags pending municipalities late past the caller's deadline; POST with a JSON body works too", async () => {
    clock.t = new Date(CREATED.getTime() + 3 * 3600_000);
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runId: 'daily-20261122', lateAfterSeconds: 7200 }) });
    const body = (await res.json()) as RunStatus;
    expect(body.counts.late).toBe(1);
    expect(body.municipalities.find((m) => m.ibge === '3509502')!.late).toBe(true);
  });

  it('answers 400 for a bad request, 404 before fan-out wrote the plan, 405 for other methods', async () => {
    const bad = await fetch(`${base}/?runId=Daily_2026`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/runId: must be 3–63 characters/);
    expect((await fetch(`${base}/?runId=daily-20261122&verbose=1`)).status).toBe(400);
    const missing = await fetch(`${base}/?runId=daily-20991231`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/has no plan \(yet\)/);
    expect((await fetch(`${base}/?runId=daily-20261122`, { method: 'PUT' })).status).toBe(405);
  });

  it('answers 503 with Retry-After when the bucket cannot be read, so the workflow retries', async () => {
    failReads = true;
    try {
      const res = await fetch(`${base}/?runId=daily-20261122`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('10');
      expect(await res.json()).toMatchObject({ errorClass: 'storage' });
    } finally {
      failReads = false;
    }
  });
});
