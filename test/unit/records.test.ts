import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FUNCTIONS } from '../../shared/contracts/functions';
import type { Manifest } from '../../shared/contracts/manifest';
import { ObjectExistsError } from '../../shared/errors';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import type { ObjectStore, RunEvent } from '../../shared/ports';
import { putRecordOnce, readManifest, readRecord, writeManifest } from '../../shared/records/bucket-records';
import { Checkpoint, readCheckpoints, writeCheckpoint } from '../../shared/records/checkpoints';
import { ibgeFromKey, layout, leaseSequenceOf, parseAttemptMarkerKey } from '../../shared/records/layout';
import { AttemptMarker, FailureRecord, LoadRecord, PlanRecord, StoreRunObserver, readFailedAttemptMarker, readLoadRecords, writePlan } from '../../shared/records/run-records';
import { DEFAULT_LEASE, SourceLease } from '../../shared/records/source-lease';

/**
 * The bucket's run records (shared/records) against a real directory (FsObjectStore): every record
 * is written once and read back typed, a redelivery never replaces the first, a record that does not
 * match its contract is refused naming the object, and the object names are the persistent contract
 * other runs, the run status and the bucket's lifecycle rules rely on.
 */
const RUN = 'daily-20261122';
const SP = '3550308';
const CAMPINAS = '3509502';

let dir: string;
let store: FsObjectStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-'));
  store = new FsObjectStore(dir);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const json = async (key: string): Promise<unknown> => JSON.parse((await store.read(key))!.toString('utf8'));
const put = (key: string, value: unknown) => store.create(key, Readable.from([Buffer.from(JSON.stringify(value))]), 'application/json');

/** A store whose writes fail with something other than "already exists" (a network error, a 403). */
function failingStore(err: Error): ObjectStore {
  return {
    create: () => Promise.reject(err),
    read: () => Promise.resolve(undefined),
    list: () => Promise.resolve([]),
    readStream: () => Readable.from([]),
    loadUri: (k) => k,
  };
}

function manifest(ibge: string, attempt = '20261122090000000-abcdef'): Manifest {
  return {
    schemaVersion: 1,
    runId: RUN,
    municipality: ibge,
    attempt,
    extractedAt: '2026-11-22T09:05:00.000Z',
    finishedAt: '2026-11-22T09:06:00.000Z',
    pecVersion: '5.5.12',
    dwProcessedAt: null,
    failedTables: [],
    tables: [],
  };
}

describe('object names (the bucket layout is a persistent contract)', () => {
  it('names every record as documented', () => {
    expect(layout.runPrefix(RUN)).toBe('runs/daily-20261122/');
    expect(layout.plan(RUN)).toBe('runs/daily-20261122/plan.json');
    expect(layout.failure(RUN, SP)).toBe('runs/daily-20261122/failures/3550308.json');
    expect(layout.failuresPrefix(RUN)).toBe('runs/daily-20261122/failures/');
    expect(layout.load(RUN, 'load-1')).toBe('runs/daily-20261122/loads/load-1.json');
    expect(layout.loadsPrefix(RUN)).toBe('runs/daily-20261122/loads/');
    expect(layout.manifest(RUN, SP)).toBe('runs/daily-20261122/manifests/3550308.json');
    expect(layout.manifestsPrefix(RUN)).toBe('runs/daily-20261122/manifests/');
    expect(layout.attemptsPrefix(RUN)).toBe('runs/daily-20261122/attempts/');
    expect(layout.attemptMarker(RUN, SP, 2, 3, 'started')).toBe('runs/daily-20261122/attempts/3550308-s0002-a0003-started.json');
    expect(layout.attemptMarker(RUN, SP, 0, 1, { failed: 'source_unreachable' })).toBe('runs/daily-20261122/attempts/3550308-s0000-a0001-failed-source_unreachable.json');
    expect(layout.checkpoint(RUN, SP, 7)).toBe('runs/daily-20261122/checkpoints/3550308/0007.json');
    expect(layout.checkpointsPrefix(RUN, SP)).toBe('runs/daily-20261122/checkpoints/3550308/');
    expect(layout.allCheckpointsPrefix(RUN)).toBe('runs/daily-20261122/checkpoints/');
    expect(layout.tablePrefix(RUN, 'tb_dim_equipe')).toBe('runs/daily-20261122/tables/tb_dim_equipe/');
    expect(layout.part(RUN, 'tb_dim_equipe', SP, 'a1', 12)).toBe('runs/daily-20261122/tables/tb_dim_equipe/3550308-a1-part-00012.csv.gz');
    expect(layout.leasesPrefix('pr-consorcio')).toBe('leases/pr-consorcio/');
    expect(layout.lease('pr-consorcio', 42)).toBe('leases/pr-consorcio/00000042.json');
    expect(layout.leaseReleased('pr-consorcio', 42)).toBe('leases/pr-consorcio/00000042.released');
  });

  it('numbers sort as numbers: a listing (sorted by name) gives sequences, parts and leases in order', () => {
    const sorted = (keys: string[]) => [...keys].sort();
    const checkpoints = [1, 9, 10, 100, 999].map((n) => layout.checkpoint(RUN, SP, n));
    expect(sorted(checkpoints)).toEqual(checkpoints);
    const parts = [0, 9, 10, 99_999].map((n) => layout.part(RUN, 't', SP, 'a', n));
    expect(sorted(parts)).toEqual(parts);
    const leases = [1, 9, 10, 12_345_678].map((n) => layout.lease('x', n));
    expect(sorted(leases)).toEqual(leases);
    const markers = [layout.attemptMarker(RUN, SP, 0, 9, 'started'), layout.attemptMarker(RUN, SP, 0, 10, 'started'), layout.attemptMarker(RUN, SP, 1, 1, 'started')];
    expect(sorted(markers)).toEqual(markers);
  });

  it('every record of a run is under its prefixes, and its municipality is read back from its name', () => {
    const underRun = [layout.plan(RUN), layout.failure(RUN, SP), layout.load(RUN, 'l'), layout.manifest(RUN, SP), layout.checkpoint(RUN, SP, 1), layout.part(RUN, 't', SP, 'a', 0)];
    for (const k of underRun) expect(k.startsWith(layout.runPrefix(RUN))).toBe(true);
    expect(ibgeFromKey(layout.manifestsPrefix(RUN), layout.manifest(RUN, SP))).toBe(SP);
    expect(ibgeFromKey(layout.failuresPrefix(RUN), layout.failure(RUN, CAMPINAS))).toBe(CAMPINAS);
    expect(ibgeFromKey(layout.allCheckpointsPrefix(RUN), layout.checkpoint(RUN, SP, 3))).toBe(SP);
    expect(parseAttemptMarkerKey(layout.attemptMarker(RUN, SP, 0, 1, 'started'))?.ibge).toBe(SP);
    expect(layout.attemptMarker(RUN, SP, 0, 1, 'started').startsWith(layout.attemptsPrefix(RUN))).toBe(true);
    expect(layout.checkpoint(RUN, SP, 3).startsWith(layout.checkpointsPrefix(RUN, SP))).toBe(true);
    expect(layout.part(RUN, 't', SP, 'a', 0).startsWith(layout.tablePrefix(RUN, 't'))).toBe(true);
  });

  it('a key that is not <ibge>.json or <ibge>/… under the prefix names no municipality', () => {
    const p = layout.manifestsPrefix(RUN);
    for (const rest of ['355030.json', '35503080.json', 'x3550308.json', '3550308.jsonx', '3550308', '3550308.txt', '3550308-x/y', 'abcdefg.json'])
      expect([rest, ibgeFromKey(p, p + rest)]).toEqual([rest, undefined]);
    expect(ibgeFromKey(p, `${p}3550308.json`)).toBe('3550308');
    expect(ibgeFromKey(p, `${p}3550308/0001.json`)).toBe('3550308');
  });

  it('an attempt marker says its sequence, attempt and failed class, and nothing else parses as one', () => {
    expect(parseAttemptMarkerKey(layout.attemptMarker(RUN, SP, 12, 345, 'started'))).toEqual({ ibge: SP, sequence: 12, attempt: 345 });
    expect(parseAttemptMarkerKey(layout.attemptMarker(RUN, SP, 0, 1, { failed: 'source_busy' }))).toEqual({ ibge: SP, sequence: 0, attempt: 1, failedClass: 'source_busy' });
    // Attempts beyond 9999 keep the name's width (Pub/Sub counts deliveries without bound).
    expect(parseAttemptMarkerKey(layout.attemptMarker(RUN, SP, 0, 12_345, 'started'))).toEqual({ ibge: SP, sequence: 0, attempt: 9999 });
    // A class with characters outside [a-z0-9_] still gives a name that parses back.
    const odd = layout.attemptMarker(RUN, SP, 1, 2, { failed: 'Weird Class/x.y' });
    expect(odd).toBe('runs/daily-20261122/attempts/3550308-s0001-a0002-failed-_eird__lass_x_y.json');
    expect(parseAttemptMarkerKey(odd)).toEqual({ ibge: SP, sequence: 1, attempt: 2, failedClass: '_eird__lass_x_y' });
    for (const k of [
      'runs/r/attempts/3550308-s001-a0001-started.json',
      'runs/r/attempts/3550308-s0001-a001-started.json',
      'runs/r/attempts/3550308-s0001-a0001-begun.json',
      'runs/r/attempts/3550308-s0001-a0001-failed-.json',
      'runs/r/attempts/3550308-s0001-a0001-failed-Source.json',
      'runs/r/attempts/3550308-s0001-a0001-started.json.bak',
      'runs/r/attempts/3550308-xs0001-a0001-started.json',
      'runs/r/attempts/3550308/s0001-a0001-started.json',
      'runs/r/attempts/355030-s0001-a0001-started.json',
      'runs/r/attempts/x3550308-s0001-a0001-started.json',
      'runs/r/manifests/3550308.json',
    ])
      expect([k, parseAttemptMarkerKey(k)]).toEqual([k, undefined]);
  });

  it("a lease object's number is read back; a release marker or another key has none", () => {
    expect(leaseSequenceOf(layout.lease('x', 1))).toBe(1);
    expect(leaseSequenceOf(layout.lease('x', 12_345_678))).toBe(12_345_678);
    expect(leaseSequenceOf(layout.leaseReleased('x', 3))).toBeNaN();
    expect(leaseSequenceOf('leases/x/abc.json')).toBeNaN();
    expect(leaseSequenceOf('leases/x/3.json.tmp')).toBeNaN();
  });
});

describe('create-if-absent records', () => {
  it('the first write wins; a second is refused and leaves the first in place', async () => {
    expect(await putRecordOnce(store, 'runs/r/x.json', { n: 1 })).toBe(true);
    expect(await putRecordOnce(store, 'runs/r/x.json', { n: 2 })).toBe(false);
    expect(await json('runs/r/x.json')).toEqual({ n: 1 });
  });

  it('any other write error is not taken for "already there"', async () => {
    const boom = new Error('network down');
    await expect(putRecordOnce(failingStore(boom), 'runs/r/x.json', {})).rejects.toBe(boom);
    await expect(writeManifest(failingStore(boom), manifest(SP))).rejects.toBe(boom);
  });

  it('a manifest is committed once under its name: a concurrent delivery gets false and the first manifest stays', async () => {
    expect(await writeManifest(store, manifest(SP, 'first'))).toBe(true);
    expect(await writeManifest(store, manifest(SP, 'second'))).toBe(false);
    expect(await json(layout.manifest(RUN, SP))).toMatchObject({ attempt: 'first' });
    expect((await readManifest(store, RUN, SP))?.attempt).toBe('first');
    expect(await readManifest(store, RUN, CAMPINAS)).toBeUndefined();
  });

  it('a manifest that breaks its contract is refused on read, not trusted', async () => {
    await put(layout.manifest(RUN, SP), { ...manifest(SP), unexpected: true });
    await expect(readManifest(store, RUN, SP)).rejects.toThrow(/unexpected/);
  });

  it('readRecord: undefined when absent, the typed value when valid, an error naming the object and the field otherwise', async () => {
    expect(await readRecord(store, layout.plan(RUN), PlanRecord)).toBeUndefined();
    const plan = { schemaVersion: 1, runId: RUN, createdAt: '2026-11-22T09:00:00.000Z', trigger: 'daily', window: null, municipalities: [SP] };
    await put(layout.plan(RUN), plan);
    expect(await readRecord(store, layout.plan(RUN), PlanRecord)).toEqual(plan);
    await put(layout.plan('other-run'), { ...plan, runId: 'other-run', municipalities: ['123'] });
    await expect(readRecord(store, layout.plan('other-run'), PlanRecord)).rejects.toThrow(/^runs\/other-run\/plan\.json does not match its record contract: .*municipalities\.0/);
  });
});

describe('checkpoints', () => {
  const checkpoint = (attempt: string): Checkpoint => ({
    extractedAt: '2026-11-22T09:05:00.000Z',
    attempt,
    pecVersion: null,
    dwProcessedAt: null,
    tables: [],
    failedTables: [{ table: 'tb_fat_cidadao', errorClass: 'drift', message: 'column missing' }],
  });

  it("are read back in sequence order (10 after 9), only the municipality's own, and written once each", async () => {
    for (const n of [10, 2, 9]) expect(await writeCheckpoint(store, RUN, SP, n, checkpoint(`s${n}`))).toBe(true);
    expect(await writeCheckpoint(store, RUN, SP, 9, checkpoint('again'))).toBe(false);
    await writeCheckpoint(store, RUN, CAMPINAS, 1, checkpoint('campinas'));
    await writeCheckpoint(store, 'rerun-20261122', SP, 1, checkpoint('other run'));
    expect((await readCheckpoints(store, RUN, SP)).map((c) => c.attempt)).toEqual(['s2', 's9', 's10']);
    expect(await readCheckpoints(store, RUN, '3304557')).toEqual([]);
  });

  it('a checkpoint is a strict record: an unknown or missing field is refused naming the object', async () => {
    await put(layout.checkpoint(RUN, SP, 1), { ...checkpoint('x'), extra: 1 });
    await expect(readCheckpoints(store, RUN, SP)).rejects.toThrow(/checkpoints\/3550308\/0001\.json does not match/);
    expect(Checkpoint.safeParse({ ...checkpoint('x'), pecVersion: undefined }).success).toBe(false);
    expect(Checkpoint.safeParse(checkpoint('x')).success).toBe(true);
  });
});

describe('run records', () => {
  const clock = { now: () => new Date('2026-11-22T09:00:00.000Z') };
  const observer = () => new StoreRunObserver(store, clock);
  const window = { start: '2026-10-18', end: '2026-11-23' };

  it("the plan names the run's municipalities, trigger and window; a redelivered run request keeps the first plan", async () => {
    const extracts = [
      { municipality: SP, trigger: 'daily' as const, window },
      { municipality: CAMPINAS, trigger: 'daily' as const, window },
    ];
    expect(await writePlan(store, { runId: RUN, extracts }, new Date('2026-11-22T08:00:00Z'))).toBe(true);
    expect(await writePlan(store, { runId: RUN, extracts: extracts.slice(1) }, new Date('2026-11-22T08:30:00Z'))).toBe(false);
    expect(await json(layout.plan(RUN))).toEqual({
      schemaVersion: 1,
      runId: RUN,
      createdAt: '2026-11-22T08:00:00.000Z',
      trigger: 'daily',
      window,
      municipalities: [SP, CAMPINAS],
    });
  });

  it('a plan for nobody has no trigger or window; a plan naming an invalid municipality is never written', async () => {
    await writePlan(store, { runId: RUN, extracts: [] }, new Date('2026-11-22T08:00:00Z'));
    expect(await json(layout.plan(RUN))).toMatchObject({ trigger: null, window: null, municipalities: [] });
    await expect(writePlan(store, { runId: 'run-2', extracts: [{ municipality: '123', trigger: 'daily', window }] }, new Date())).rejects.toThrow();
    expect(await store.read(layout.plan('run-2'))).toBeUndefined();
  });

  it('a started delivery leaves a marker named by sequence and attempt (first message, first delivery by default)', async () => {
    await observer().record({ kind: 'extract_started', runId: RUN, municipality: SP, attempt: 3, sequence: 2 });
    await observer().record({ kind: 'extract_started', runId: RUN, municipality: CAMPINAS } as RunEvent);
    expect(await json(layout.attemptMarker(RUN, SP, 2, 3, 'started'))).toEqual({
      schemaVersion: 1,
      runId: RUN,
      municipality: SP,
      sequence: 2,
      attempt: 3,
      at: '2026-11-22T09:00:00.000Z',
    });
    expect(await json(layout.attemptMarker(RUN, CAMPINAS, 0, 1, 'started'))).toMatchObject({ sequence: 0, attempt: 1 });
    expect(await store.list(layout.failuresPrefix(RUN))).toEqual([]);
  });

  it('a failed delivery that will be retried leaves a failed marker (class, message, next attempt) and no failure record', async () => {
    await observer().record({
      kind: 'extract_failed',
      runId: RUN,
      municipality: SP,
      errorClass: 'source_unreachable',
      message: 'x'.repeat(5000),
      willRetry: true,
      attempt: 2,
      sequence: 1,
      nextAttemptAt: '2026-11-22T09:10:00.000Z',
    });
    const marker = await readFailedAttemptMarker(store, RUN, SP, { sequence: 1, attempt: 2, errorClass: 'source_unreachable' });
    expect(marker).toEqual({
      schemaVersion: 1,
      runId: RUN,
      municipality: SP,
      sequence: 1,
      attempt: 2,
      at: '2026-11-22T09:00:00.000Z',
      errorClass: 'source_unreachable',
      message: 'x'.repeat(2000),
      nextAttemptAt: '2026-11-22T09:10:00.000Z',
    });
    expect(await store.list(layout.failuresPrefix(RUN))).toEqual([]);
    // Without a next attempt time, the marker has none.
    await observer().record({ kind: 'extract_failed', runId: RUN, municipality: SP, errorClass: 'source_busy', message: 'busy', willRetry: true, attempt: 3 });
    expect(await json(layout.attemptMarker(RUN, SP, 0, 3, { failed: 'source_busy' }))).not.toHaveProperty('nextAttemptAt');
  });

  it('a terminal failure is recorded once (the first kept); without an attempt number it leaves no marker', async () => {
    const failed = (message: string, errorClass: string): RunEvent => ({ kind: 'extract_failed', runId: RUN, municipality: SP, errorClass, message, willRetry: false });
    await observer().record(failed('y'.repeat(3000), 'config'));
    await observer().record(failed('second', 'data'));
    expect(await json(layout.failure(RUN, SP))).toEqual({
      schemaVersion: 1,
      runId: RUN,
      municipality: SP,
      errorClass: 'config',
      message: 'y'.repeat(2000),
      recordedAt: '2026-11-22T09:00:00.000Z',
    });
    expect(await store.list(layout.attemptsPrefix(RUN))).toEqual([]);
  });

  it('a finished load is recorded under its id and read back with the run’s others, in key order; other events write nothing', async () => {
    const outcomes = [
      { municipality: SP, table: 't', status: 'loaded' as const, rowsDeleted: 1, rowsInserted: 2 },
      { municipality: CAMPINAS, table: 't', status: 'stale' as const, newerExtractedAt: '2026-11-22T10:00:00Z' },
    ];
    await observer().record({ kind: 'load_finished', runId: RUN, loadId: 'load-b', outcomes, missingManifests: ['3304557'] });
    await observer().record({ kind: 'load_finished', runId: RUN, loadId: 'load-a', outcomes: [], missingManifests: [] });
    await observer().record({ kind: 'load_finished', runId: 'rerun-1', loadId: 'load-c', outcomes: [], missingManifests: [] });
    await observer().record({ kind: 'load_failed', runId: RUN, municipalities: [SP], errorClass: 'warehouse', message: 'm', willRetry: false });
    await observer().record({ kind: 'extract_continued', runId: RUN, municipality: SP, tablesDone: 1, tablesLeft: 2 });
    const loads = await readLoadRecords(store, RUN);
    expect(loads.map((l) => l.loadId)).toEqual(['load-a', 'load-b']);
    expect(loads[1]).toEqual({ schemaVersion: 1, runId: RUN, loadId: 'load-b', finishedAt: '2026-11-22T09:00:00.000Z', outcomes, missingManifests: ['3304557'] });
    expect((await store.list(layout.runPrefix(RUN))).sort()).toEqual([layout.load(RUN, 'load-a'), layout.load(RUN, 'load-b')]);
  });

  it('a load record that breaks its contract fails the read naming it; an unreadable failed marker is only absent (it is for people)', async () => {
    await put(layout.load(RUN, 'bad'), { schemaVersion: 1, runId: RUN, loadId: 'bad', finishedAt: 'yesterday', outcomes: [], missingManifests: [] });
    await expect(readLoadRecords(store, RUN)).rejects.toThrow(/loads\/bad\.json does not match its record contract: .*finishedAt/);
    const key = { sequence: 0, attempt: 1, errorClass: 'data' };
    expect(await readFailedAttemptMarker(store, RUN, SP, key)).toBeUndefined();
    await put(layout.attemptMarker(RUN, SP, 0, 1, { failed: 'data' }), { schemaVersion: 2 });
    expect(await readFailedAttemptMarker(store, RUN, SP, key)).toBeUndefined();
  });

  it('the record contracts are strict and bounded', () => {
    const at = '2026-11-22T09:00:00-03:00';
    const marker = { schemaVersion: 1, runId: RUN, municipality: SP, sequence: 0, attempt: 1, at };
    expect(AttemptMarker.safeParse(marker).success).toBe(true);
    expect(AttemptMarker.safeParse({ ...marker, errorClass: 'source_busy', message: 'm', nextAttemptAt: '2026-11-22T09:10:00-03:00' }).success).toBe(true);
    for (const bad of [{ sequence: -1 }, { sequence: 0.5 }, { attempt: 0 }, { attempt: 1.5 }, { schemaVersion: 2 }, { extra: 1 }, { at: '09:00' }, { nextAttemptAt: 'soon' }])
      expect([bad, AttemptMarker.safeParse({ ...marker, ...bad }).success]).toEqual([bad, false]);
    const failure = { schemaVersion: 1, runId: RUN, municipality: SP, errorClass: 'data', message: 'm', recordedAt: at };
    expect(FailureRecord.safeParse(failure).success).toBe(true);
    for (const bad of [{ extra: 1 }, { recordedAt: 'now' }, { municipality: '3550300' }, { schemaVersion: 2 }])
      expect([bad, FailureRecord.safeParse({ ...failure, ...bad }).success]).toEqual([bad, false]);
    const load = { schemaVersion: 1, runId: RUN, loadId: 'a'.repeat(120), finishedAt: at, outcomes: [], missingManifests: [] };
    expect(LoadRecord.safeParse(load).success).toBe(true);
    for (const loadId of ['a'.repeat(121), '', 'Load-1', 'load_1', 'x/load']) expect([loadId, LoadRecord.safeParse({ ...load, loadId }).success]).toEqual([loadId, false]);
    const outcome = (o: object) => LoadRecord.safeParse({ ...load, outcomes: [{ municipality: SP, table: 't', ...o }] }).success;
    expect(outcome({ status: 'loaded', rowsDeleted: 0, rowsInserted: 3 })).toBe(true);
    expect(outcome({ status: 'already_loaded' })).toBe(true);
    expect(outcome({ status: 'stale', newerExtractedAt: at })).toBe(true);
    expect(outcome({ status: 'failed', errorClass: 'data', message: 'm' })).toBe(true);
    for (const bad of [
      { status: 'loaded', rowsDeleted: 0.5, rowsInserted: 3 },
      { status: 'loaded', rowsDeleted: 0, rowsInserted: 1.5 },
      { status: 'loaded', rowsDeleted: 0 },
      { status: 'already_loaded', extra: 1 },
      { status: 'stale' },
      { status: 'failed', errorClass: 'data' },
      { status: 'skipped' },
    ])
      expect([bad, outcome(bad)]).toEqual([bad, false]);
    const plan = { schemaVersion: 1, runId: RUN, createdAt: at, trigger: null, window: null, municipalities: [] };
    expect(PlanRecord.safeParse(plan).success).toBe(true);
    for (const bad of [{ extra: 1 }, { createdAt: 'today' }, { trigger: 'weekly' }, { window: { start: '2026-11-23', end: '2026-11-22' } }, { runId: 'X' }])
      expect([bad, PlanRecord.safeParse({ ...plan, ...bad }).success]).toEqual([bad, false]);
  });
});

describe('records listed but gone when read (the lifecycle rule deleting old objects)', () => {
  it('are skipped, not returned as empty records', async () => {
    await new StoreRunObserver(store, { now: () => new Date('2026-11-22T09:00:00.000Z') }).record({
      kind: 'load_finished',
      runId: RUN,
      loadId: 'kept',
      outcomes: [],
      missingManifests: [],
    });
    await writeCheckpoint(store, RUN, SP, 1, { extractedAt: '2026-11-22T09:05:00.000Z', attempt: 'a', pecVersion: null, dwProcessedAt: null, tables: [], failedTables: [] });
    const gone = [layout.load(RUN, 'gone'), layout.checkpoint(RUN, SP, 0)];
    const vanishing: ObjectStore = {
      create: (k, b, c) => store.create(k, b, c),
      read: (k) => (gone.includes(k) ? Promise.resolve(undefined) : store.read(k)),
      list: async (p) => [...gone.filter((k) => k.startsWith(p)), ...(await store.list(p))].sort(),
      readStream: (k) => store.readStream(k),
      loadUri: (k) => k,
    };
    expect((await readLoadRecords(vanishing, RUN)).map((l) => l.loadId)).toEqual(['kept']);
    expect((await readCheckpoints(vanishing, RUN, SP)).map((c) => c.attempt)).toEqual(['a']);
  });
});

describe('source lease (beyond test/integration/source-lease.test.ts)', () => {
  const fixed = (iso: string) => ({ now: () => new Date(iso) });
  const quick = { ttlMs: 60_000, waitMs: 0, pollMs: 1 };

  it('outlives any extract invocation, and a wait for a busy source leaves the invocation time to work', () => {
    expect(DEFAULT_LEASE.ttlMs).toBeGreaterThan(FUNCTIONS.extract.timeoutSeconds * 1000);
    expect(DEFAULT_LEASE.waitMs).toBeLessThan(FUNCTIONS.extract.timeoutSeconds * 1000);
    expect(DEFAULT_LEASE.pollMs).toBeLessThan(DEFAULT_LEASE.waitMs);
  });

  it('the lease object says who holds it until when, and the numbers go on past 9', async () => {
    const clock = fixed('2026-11-22T06:00:00.000Z');
    for (let i = 1; i <= 11; i++) await (await SourceLease.acquire(store, 'inst', `h${i}`, clock, quick)).release();
    expect(await json(layout.lease('inst', 11))).toEqual({ holder: 'h11', acquiredAt: '2026-11-22T06:00:00.000Z', expiresAt: '2026-11-22T06:01:00.000Z' });
    await SourceLease.acquire(store, 'inst', 'h12', clock, quick);
    expect(await json(layout.lease('inst', 12))).toMatchObject({ holder: 'h12' });
    await expect(SourceLease.acquire(store, 'inst', 'h13', clock, quick)).rejects.toMatchObject({ errorClass: 'source_busy', transient: true });
  });

  it('expires exactly at its expiry time, not before', async () => {
    await SourceLease.acquire(store, 'inst', 'a', fixed('2026-11-22T06:00:00.000Z'), quick);
    await expect(SourceLease.acquire(store, 'inst', 'b', fixed('2026-11-22T06:00:59.999Z'), quick)).rejects.toThrow(/source busy: installation inst/);
    await expect(SourceLease.acquire(store, 'inst', 'b', fixed('2026-11-22T06:01:00.000Z'), quick)).resolves.toBeInstanceOf(SourceLease);
  });

  it('a lease without an expiry frees it; release markers and other objects are not lease numbers', async () => {
    const clock = fixed('2026-11-22T06:00:00.000Z');
    await store.create(layout.leaseReleased('gone', 2), Readable.from(['{}']), 'application/json');
    await put(layout.lease('gone', 3), {});
    await put('leases/gone/notes.json', { holder: 'x' });
    await SourceLease.acquire(store, 'gone', 'a', clock, quick);
    expect(await json(layout.lease('gone', 4))).toMatchObject({ holder: 'a' });
  });

  it('waits until its deadline, then gives up; a write error other than "taken" is not swallowed', async () => {
    let t = Date.parse('2026-11-22T06:00:00.000Z');
    const moving = { now: () => new Date(t) };
    await SourceLease.acquire(store, 'inst', 'a', moving, quick);
    let polls = 0;
    const counting: ObjectStore = {
      create: (k, b, c) => store.create(k, b, c),
      read: (k) => store.read(k),
      list: (p) => {
        polls++;
        t += 100;
        return store.list(p);
      },
      readStream: (k) => store.readStream(k),
      loadUri: (k) => k,
    };
    await expect(SourceLease.acquire(counting, 'inst', 'b', moving, { ttlMs: 60_000, waitMs: 1_000, pollMs: 1 })).rejects.toThrow(/source busy/);
    expect(polls).toBe(10);
    const boom = new Error('403 forbidden');
    await expect(SourceLease.acquire(failingStore(boom), 'inst', 'c', moving, quick)).rejects.toBe(boom);
  });

  it('release is idempotent, and a release that cannot be written is not swallowed', async () => {
    const clock = fixed('2026-11-22T06:00:00.000Z');
    const lease = await SourceLease.acquire(store, 'inst', 'a', clock, quick);
    await lease.release();
    await expect(lease.release()).resolves.toBeUndefined();
    expect(await store.list(layout.leasesPrefix('inst'))).toEqual([layout.lease('inst', 1), layout.leaseReleased('inst', 1)]);
    const boom = new Error('503');
    let failNext = false;
    const flaky: ObjectStore = {
      create: (k, b, c) => (failNext ? Promise.reject(boom) : store.create(k, b, c)),
      read: (k) => store.read(k),
      list: (p) => store.list(p),
      readStream: (k) => store.readStream(k),
      loadUri: (k) => k,
    };
    const second = await SourceLease.acquire(flaky, 'inst', 'b', clock, quick);
    failNext = true;
    await expect(second.release()).rejects.toBe(boom);
  });

  it('contenders that lose the race wait like anyone and end "source busy", never with the store\'s "already exists"', async () => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => SourceLease.acquire(store, 'race', `c${i}`, fixed('2026-11-22T06:00:00.000Z'), quick)));
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(losers).toHaveLength(5);
    for (const l of losers) expect(l.reason).toMatchObject({ errorClass: 'source_busy', transient: true });
  });

  it('a lease object listed but gone when read (the lifecycle rule deleted it) frees the lease', async () => {
    await put(layout.lease('gone', 1), { holder: 'x', expiresAt: '2999-01-01T00:00:00.000Z' });
    const vanished: ObjectStore = {
      create: (k, b, c) => store.create(k, b, c),
      read: (k) => (k === layout.lease('gone', 1) ? Promise.resolve(undefined) : store.read(k)),
      list: (p) => store.list(p),
      readStream: (k) => store.readStream(k),
      loadUri: (k) => k,
    };
    await SourceLease.acquire(vanished, 'gone', 'a', fixed('2026-11-22T06:00:00.000Z'), quick);
    expect(await json(layout.lease('gone', 2))).toMatchObject({ holder: 'a' });
  });

  it('records and leases are stored as JSON objects (content type application/json)', async () => {
    const types = new Map<string, string>();
    const recording: ObjectStore = {
      create: (k, b, c) => {
        types.set(k, c);
        return store.create(k, b, c);
      },
      read: (k) => store.read(k),
      list: (p) => store.list(p),
      readStream: (k) => store.readStream(k),
      loadUri: (k) => k,
    };
    await putRecordOnce(recording, 'runs/r/x.json', {});
    await (await SourceLease.acquire(recording, 'inst', 'a', fixed('2026-11-22T06:00:00.000Z'), quick)).release();
    expect(Object.fromEntries(types)).toEqual({
      'runs/r/x.json': 'application/json',
      [layout.lease('inst', 1)]: 'application/json',
      [layout.leaseReleased('inst', 1)]: 'application/json',
    });
  });

  it('ObjectExistsError is what a taken name raises (the records rely on it)', async () => {
    await put('runs/r/a.json', {});
    await expect(put('runs/r/a.json', {})).rejects.toBeInstanceOf(ObjectExistsError);
  });
});
