import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Manifest } from '../../shared/contracts/manifest';
import { layout } from '../../shared/records/layout';
import { buildRunReport } from '../../shared/ledger/report';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { waitingLine } from '../../scripts/lib/heartbeat';
import { finalState, runStatus, type RunStatus } from '../../shared/run/run-status';
import { StoreRunObserver, writePlan } from '../../shared/records/run-records';

/**
 * The run status's phases (queued / extracting / retrying) and final states, from the attempt
 * markers the extract handler leaves in a real (local) bucket; its bounded summary view; the
 * interrupted report; and the heartbeat line built from it.
 */
const RUN = 'daily-20261122';
const [Q, X, R, D, F, S, L] = ['3509502', '3548500', '3552205', '4106902', '3304557', '3550308', '4115200'];
const window = { start: '2026-10-18', end: '2026-11-23' };

/** A manifest of one full-refresh table (the contract the report reads). */
function manifest(ibge: string): Manifest {
  const part = { key: `runs/${RUN}/tables/tb_dim_equipe/${ibge}/a/part-00000.csv.gz`, rows: 5, bytes: 100, sha256: 'a'.repeat(64) };
  return {
    schemaVersion: 1,
    runId: RUN,
    municipality: ibge,
    attempt: '20261122090000000-abcdef',
    extractedAt: '2026-11-22T09:05:00.000Z',
    finishedAt: '2026-11-22T09:06:00.000Z',
    pecVersion: '5.5.12',
    dwProcessedAt: '2026-11-22T03:00:00',
    failedTables: [],
    tables: [
      {
        table: 'tb_dim_equipe',
        window: null,
        columns: [{ name: 'co_seq_dim_equipe', type: 'bigint' }],
        parts: [part],
        rows: 5,
        sourceRows: 5,
        csvBytes: 200,
        seconds: 1,
        extractedAt: '2026-11-22T09:05:00.000Z',
        warnings: [],
      },
    ],
  };
}
const manifestBody = (ibge: string) => Readable.from([Buffer.from(JSON.stringify(manifest(ibge)))]);

describe('run status from attempt markers', () => {
  let dir: string;
  let store: FsObjectStore;
  const t0 = new Date('2026-11-22T09:00:00Z');
  const clock = { now: () => t0 };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-status-'));
    store = new FsObjectStore(dir);
    await writePlan(
      store,
      { runId: RUN, extracts: [Q, X, R, D, F, S, L].map((municipality) => ({ runId: RUN, municipality, window, trigger: 'daily', loadWhenDone: false })) },
      t0,
    );
    const o = new StoreRunObserver(store, clock);
    const started = (m: string, attempt: number, sequence = 0) => o.record({ kind: 'extract_started', runId: RUN, municipality: m, attempt, sequence });
    const failed = (m: string, attempt: number, errorClass: string, willRetry = true, sequence = 0) =>
      o.record({ kind: 'extract_failed', runId: RUN, municipality: m, errorClass, message: `attempt ${attempt}: ${errorClass}`, willRetry, attempt, sequence });
    // Q: never delivered. X: extracting, first attempt. R: retrying after two failures.
    await started(X, 1);
    await started(R, 1);
    await failed(R, 1, 'source_timeout');
    await started(R, 2);
    await failed(R, 2, 'source_unreachable');
    // D: failed twice, then extracted (manifest), then loaded; keeps the classes it met.
    await started(D, 1);
    await failed(D, 1, 'source_unreachable');
    await started(D, 2);
    await store.create(layout.manifest(RUN, D), manifestBody(D), 'application/json');
    // F: terminal (wrong password).
    await started(F, 1);
    await failed(F, 1, 'source_auth', false);
    // S: staged, not loaded yet. L: failed once, now on a new attempt that is still running (a dead VPN path).
    await started(S, 1);
    await store.create(layout.manifest(RUN, S), manifestBody(S), 'application/json');
    await started(L, 1);
    await failed(L, 1, 'source_unreachable');
    await started(L, 2);
    await o.record({
      kind: 'load_finished',
      runId: RUN,
      loadId: 'load-daily-20261122-abc',
      missingManifests: [],
      outcomes: [{ municipality: D, table: 'tb_dim_equipe', status: 'loaded', rowsDeleted: 0, rowsInserted: 5 }],
    });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const full = async () => (await runStatus(store, { runId: RUN }, { now: t0 }))!;
  const by = (s: RunStatus, ibge: string) => s.municipalities.find((m) => m.ibge === ibge)!;

  it('tells queued, extracting and retrying apart, and counts each class met', async () => {
    const s = await full();
    expect([Q, X, R, L].map((m) => by(s, m).phase)).toEqual(['queued', 'extracting', 'retrying', 'extracting']);
    expect(by(s, R)).toMatchObject({
      state: 'pending',
      attempts: 2,
      errorClasses: { source_timeout: 1, source_unreachable: 1 },
      lastFailure: { errorClass: 'source_unreachable', attempt: 2 },
    });
    expect(by(s, D)).toMatchObject({ state: 'done', attempts: 2, errorClasses: { source_unreachable: 1 }, loaded: true });
    expect(by(s, F)).toMatchObject({ state: 'failed', failure: { errorClass: 'source_auth' } });
    expect(s.counts).toMatchObject({ planned: 7, done: 2, failed: 1, pending: 4, queued: 1, extracting: 2, retrying: 1, loaded: 1, loadable: 1 });
    expect(s.retryingByClass).toEqual({ source_unreachable: 1 });
  });

  it('settles every municipality at the deadline: late only for one making progress, failed with its class for a source still failing, skipped for one never started', async () => {
    const s = await full();
    const at = (past: boolean) => Object.fromEntries(s.municipalities.map((m) => [m.ibge, finalState(m, past)]));
    expect(at(false)).toEqual({ [Q]: 'pending', [X]: 'pending', [R]: 'pending', [D]: 'loaded', [F]: 'failed', [S]: 'staged', [L]: 'pending' });
    expect(at(true)).toEqual({ [Q]: 'skipped', [X]: 'late', [R]: 'failed', [D]: 'loaded', [F]: 'failed', [S]: 'staged', [L]: 'failed' });

    const report = await buildRunReport(store, { runId: RUN, deadlineAt: '2026-11-22T09:30:00Z' }, new Date('2026-11-22T10:00:00Z'));
    const row = (m: string) => report.municipalities.find((r) => r.municipality === m)!;
    expect(row(R)).toMatchObject({ status: 'failed', error_class: 'source_unreachable', error_classes: 'source_timeout:1, source_unreachable:1', attempts: 2 });
    expect(row(R).error_message).toMatch(/still failing at the deadline after 2 attempt\(s\): attempt 2: source_unreachable/);
    expect(row(L).error_message).toMatch(/attempt 2 was still running/);
    expect(row(D)).toMatchObject({ status: 'loaded', error_class: null, error_classes: 'source_unreachable:1' });
    expect(row(Q)).toMatchObject({ status: 'skipped', attempts: null });
    expect(report.run).toMatchObject({ status: 'partial', municipalities_late: 1, municipalities_skipped: 1, municipalities_failed: 3, municipalities_loaded: 1 });
  });

  it('an interrupted run is recorded as such, its municipalities in their live state', async () => {
    const report = await buildRunReport(store, { runId: RUN, interrupted: true }, t0);
    expect(report.run.status).toBe('interrupted');
    const statuses = Object.fromEntries(report.municipalities.map((r) => [r.municipality, r.status]));
    expect(statuses).toEqual({ [Q]: 'pending', [X]: 'extracting', [R]: 'retrying', [D]: 'loaded', [F]: 'failed', [S]: 'staged', [L]: 'extracting' });
  });

  it('the summary view holds counts, one page of the plan and a bounded loadable list', async () => {
    const s = (await runStatus(store, { runId: RUN, view: 'summary', dispatchFrom: 2, dispatchLimit: 3, loadableLimit: 1 }, { now: t0 }))!;
    expect(s).not.toHaveProperty('municipalities');
    expect(s.dispatch).toEqual({ municipalities: [R, F], next: 5 }); // D (done) is not released again
    expect(s.loadable).toEqual([S]);
    const last = (await runStatus(store, { runId: RUN, view: 'summary', dispatchFrom: 5, dispatchLimit: 3 }, { now: t0 }))!;
    expect(last.dispatch).toEqual({ municipalities: [L], next: null });
  });

  it('the heartbeat says who is waiting for what, the next attempt and the deadline', async () => {
    const s = (await runStatus(store, { runId: RUN, view: 'summary' }, { now: t0 }))!;
    const line = waitingLine(s, {
      step: 'await_extractions',
      now: t0,
      deadlineAt: '2026-11-22T10:30:00Z',
      nextAttemptAt: new Date(t0.getTime() + 40_000),
      timeZone: 'America/Sao_Paulo',
    });
    expect(line).toBe('waiting for 4 municipalities: 2 extracting, 1 retrying (source_unreachable), 1 queued, next attempt in 40 s, deadline 07:30');
  });
  it('as the cloud leaves them (the handler never knows the last delivery): a source down for good ends failed with its class; one that failed, then made progress, ends late WITH the class it met', async () => {
    // The extract function is not told Pub/Sub's policy (100 attempts, 10 → 600 s apart, about 23 by a
    // 180-minute deadline): every failed push writes its failed marker, willRetry, and no failure record.
    const run = 'daily-20261123';
    const [down, dying, slow] = ['3509502', '3548500', '3552205'];
    await writePlan(store, { runId: run, extracts: [down, dying, slow].map((municipality) => ({ runId: run, municipality, window, trigger: 'daily', loadWhenDone: false })) }, t0);
    const o = new StoreRunObserver(store, clock);
    const started = (m: string, attempt: number, sequence = 0) => o.record({ kind: 'extract_started', runId: run, municipality: m, attempt, sequence });
    const failed = (m: string, attempt: number, errorClass: string, sequence = 0) =>
      o.record({ kind: 'extract_failed', runId: run, municipality: m, errorClass, message: `attempt ${attempt}: ${errorClass}`, willRetry: true, attempt, sequence });
    for (let a = 1; a <= 23; a++) {
      await started(down, a);
      await failed(down, a, 'source_unreachable');
    }
    // The deadline catches the 4th attempt connecting (a dead VPN path takes the whole connect timeout).
    for (let a = 1; a <= 3; a++) {
      await started(dying, a);
      await failed(dying, a, 'source_unreachable');
    }
    await started(dying, 4);
    // Failed once, then extracted past its time budget (a checkpoint) and is still copying.
    await started(slow, 1);
    await failed(slow, 1, 'source_timeout');
    await started(slow, 2);
    await store.create(layout.checkpoint(run, slow, 1), Readable.from([Buffer.from('{}')]), 'application/json');
    await started(slow, 1, 2);

    const report = await buildRunReport(store, { runId: run, deadlineAt: '2026-11-22T12:00:00Z' }, new Date('2026-11-22T12:05:00Z'));
    const row = (m: string) => report.municipalities.find((r) => r.municipality === m)!;
    expect(row(down)).toMatchObject({ status: 'failed', error_class: 'source_unreachable', error_classes: 'source_unreachable:23', attempts: 23 });
    expect(row(down).error_message).toMatch(/^still failing at the deadline after 23 attempt\(s\): attempt 23: source_unreachable/);
    expect(row(dying)).toMatchObject({ status: 'failed', error_class: 'source_unreachable', attempts: 4 });
    expect(row(dying).error_message).toMatch(/attempt 4 was still running/);
    expect(row(slow)).toMatchObject({ status: 'late', error_class: 'source_timeout', error_classes: 'source_timeout:1' });
    expect(report.run).toMatchObject({ municipalities_failed: 2, municipalities_late: 1 });
  });

  // (Last: it adds a load record.) SliceOutcome `failed`: one municipality's data error, terminal for its slice only.
  it('a slice the warehouse refused fails its municipality with class data, and only it', async () => {
    await new StoreRunObserver(store, clock).record({
      kind: 'load_finished',
      runId: RUN,
      loadId: 'load-daily-20261122-def',
      missingManifests: [],
      outcomes: [
        { municipality: S, table: 'tb_dim_equipe', status: 'failed', errorClass: 'data', message: 'line 2, column nu_pressao_sistolica: "NaN" is not a DECIMAL' },
      ] as never,
    });
    const s = await full();
    expect(by(s, S)).toMatchObject({ state: 'done', loaded: true, loadFailure: { errorClass: 'data', tables: ['tb_dim_equipe'] } });
    expect(finalState(by(s, S), true)).toBe('failed');
    expect(finalState(by(s, D), true)).toBe('loaded');
    const report = await buildRunReport(store, { runId: RUN, deadlineAt: '2026-11-22T09:30:00Z' }, new Date('2026-11-22T10:00:00Z'));
    expect(report.municipalities.find((r) => r.municipality === S)).toMatchObject({ status: 'failed', error_class: 'data' });
    expect(report.reconciliation.filter((r) => r.municipality === S).map((r) => r.status)).toEqual(['load_failed']);
    expect(report.reconciliation.filter((r) => r.municipality === D).map((r) => r.status)).toEqual(['match']);
  });
});
