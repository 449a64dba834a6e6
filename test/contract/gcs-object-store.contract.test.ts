import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Storage } from '@google-cloud/storage';
import { GcsObjectStore } from '../../shared/adapters/gcp/gcs-object-store';
import { ObjectExistsError, PipelineError } from '../../shared/errors';
import { startFakeGcsServer, type FakeGcsServer } from '../support/fake-gcs-server';

/**
 * Contract: what the staging-bucket adapter makes the real @google-cloud/storage client send.
 * The client talks HTTP to test/support/fake-gcs-server.ts, which records each request and
 * answers the way Cloud Storage's JSON API does (it is not Cloud Storage: behaviour beyond the
 * requests checked here is not proven).
 */
const BUCKET = 'pec-staging-test';
const CHUNK = 256 * 1024;

describe('GcsObjectStore against the Cloud Storage JSON API (contract)', () => {
  let fake: FakeGcsServer;
  let store: GcsObjectStore;
  beforeAll(async () => {
    fake = await startFakeGcsServer();
    const storage = new Storage({
      projectId: 'test-project',
      apiEndpoint: fake.url,
      // Fast retries: the tests inject 503s and check that a precondition makes retrying safe.
      retryOptions: { autoRetry: true, maxRetries: 2, retryDelayMultiplier: 1, maxRetryDelay: 1, totalTimeout: 30 },
    });
    store = new GcsObjectStore(storage.bucket(BUCKET), { chunkSize: CHUNK });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.clearFaults();
  });

  const uploads = () => fake.requests.filter((r) => r.path.startsWith('/upload/'));

  it('streams a resumable upload in chunks, with ifGenerationMatch=0, and stores the exact bytes', async () => {
    const data = randomBytes(3 * CHUNK + 1234);
    const { bytes } = await store.create('runs/r1/tables/t/3550308/a/part-00000.csv.gz', Readable.from([data.subarray(0, 1000), data.subarray(1000)]), 'application/gzip');
    expect(bytes).toBe(data.length);
    expect(fake.objects(BUCKET).get('runs/r1/tables/t/3550308/a/part-00000.csv.gz')!.data.equals(data)).toBe(true);

    const [start, ...puts] = uploads();
    expect(start).toMatchObject({ method: 'POST', path: `/upload/storage/v1/b/${BUCKET}/o` });
    expect(start!.query).toMatchObject({ uploadType: 'resumable', name: 'runs/r1/tables/t/3550308/a/part-00000.csv.gz', ifGenerationMatch: '0' });
    expect(start!.headers['x-upload-content-type']).toBe('application/gzip');
    // Never one request with the whole body: each PUT carries at most one chunk.
    expect(puts.length).toBe(4);
    for (const p of puts) {
      expect(p.method).toBe('PUT');
      expect(p.bodyBytes).toBeLessThanOrEqual(CHUNK);
      expect(String(p.headers['content-range'])).toMatch(/^bytes \d+-\d+\/(\d+|\*)$/);
    }
    expect(String(puts.at(-1)!.headers['content-range'])).toBe(`bytes ${3 * CHUNK}-${data.length - 1}/${data.length}`);
  });

  it('refuses to overwrite: an existing object fails the session with 412 → ObjectExistsError, object untouched', async () => {
    fake.put(BUCKET, 'runs/r1/manifests/3550308.json', Buffer.from('{"committed":true}'), 'application/json');
    const before = fake.objects(BUCKET).get('runs/r1/manifests/3550308.json')!.generation;
    await expect(store.create('runs/r1/manifests/3550308.json', Readable.from([Buffer.from('{"committed":false}')]), 'application/json')).rejects.toBeInstanceOf(ObjectExistsError);
    expect(fake.objects(BUCKET).get('runs/r1/manifests/3550308.json')!.generation).toBe(before);
    expect(uploads().every((r) => r.query.ifGenerationMatch === '0')).toBe(true);
  });

  it('two deliveries racing: the second to finalize gets 412 at finalization → ObjectExistsError; the first object stays', async () => {
    const a = new PassThrough();
    const b = new PassThrough();
    const key = 'runs/r2/manifests/3304557.json';
    const pa = store.create(key, a, 'application/json');
    const pb = store.create(key, b, 'application/json');
    a.write('{"from":"a"'); // both sessions are open before either object exists
    b.write('{"from":"b"');
    await new Promise((r) => setTimeout(r, 100));
    a.end('}');
    await expect(pa).resolves.toEqual({ bytes: 11 + 1 });
    b.end('}');
    await expect(pb).rejects.toBeInstanceOf(ObjectExistsError);
    expect(fake.objects(BUCKET).get(key)!.data.toString()).toBe('{"from":"a"}');
  });

  it('checks CRC32C end to end: a corrupted upload is deleted by the client and fails as transient', async () => {
    fake.corruptNextUpload();
    const err = await store.create('runs/r3/part.csv.gz', Readable.from([randomBytes(5000)]), 'application/gzip').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ transient: true, errorClass: 'storage' });
    expect(fake.requests.some((r) => r.method === 'DELETE' && r.path === `/storage/v1/b/${BUCKET}/o/${encodeURIComponent('runs/r3/part.csv.gz')}`)).toBe(true);
    expect(fake.objects(BUCKET).has('runs/r3/part.csv.gz')).toBe(false);
  });

  it('retries a 503 on a chunk (safe because of the precondition) and completes the upload', async () => {
    fake.failNext((r) => r.method === 'PUT', 503, 1);
    const data = randomBytes(CHUNK + 10);
    await store.create('runs/r4/part.csv.gz', Readable.from([data]), 'application/gzip');
    expect(fake.objects(BUCKET).get('runs/r4/part.csv.gz')!.data.equals(data)).toBe(true);
  });

  it('maps refusals to terminal errors and exhausted retries to transient ones', async () => {
    fake.failNext((r) => r.method === 'POST', 403, 1);
    await expect(store.create('runs/r5/a.json', Readable.from([Buffer.from('{}')]), 'application/json')).rejects.toMatchObject({ transient: false, errorClass: 'storage' });
    fake.failNext((r) => r.method === 'POST', 503, 10);
    await expect(store.create('runs/r5/b.json', Readable.from([Buffer.from('{}')]), 'application/json')).rejects.toMatchObject({ transient: true, errorClass: 'storage' });
    fake.clearFaults(); // the 503s the client's retries did not use up
  });

  it('reads whole objects (CRC32C checked by the client), undefined when absent', async () => {
    fake.put(BUCKET, 'runs/r6/plan.json', Buffer.from('{"x":1}'), 'application/json');
    expect((await store.read('runs/r6/plan.json'))!.toString()).toBe('{"x":1}');
    expect(await store.read('runs/r6/absent.json')).toBeUndefined();
    const get = fake.requests.find((r) => r.path.endsWith(encodeURIComponent('runs/r6/plan.json')))!;
    expect(get.query.alt).toBe('media');
  });

  it('streams an object back (the SHA-256 check at load), and a missing object errors with 404', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    fake.put(BUCKET, 'runs/r7/tables/t/3550308/a/part-00000.csv.gz', data, 'application/gzip');
    const chunks: Buffer[] = [];
    for await (const c of store.readStream('runs/r7/tables/t/3550308/a/part-00000.csv.gz')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    const err = await (async () => {
      for await (const _ of store.readStream('runs/r7/absent.csv.gz')) void _;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 404 });
    expect(() => store.readStream('../etc/passwd')).toThrow(/invalid object key/);
  });

  it('lists a prefix across pages, sorted', async () => {
    fake.pageSize = 2;
    try {
      for (const ibge of ['4106902', '3509502', '3550308', '3304557', '4119905']) fake.put(BUCKET, `runs/r7/manifests/${ibge}.json`, Buffer.from('{}'));
      fake.put(BUCKET, 'runs/r70/manifests/9999999.json', Buffer.from('{}'));
      const keys = await store.list('runs/r7/manifests/');
      expect(keys).toEqual(['3304557', '3509502', '3550308', '4106902', '4119905'].map((i) => `runs/r7/manifests/${i}.json`));
      const pages = fake.requests.filter((r) => r.method === 'GET' && r.path === `/storage/v1/b/${BUCKET}/o`);
      expect(pages.length).toBe(3);
      expect(pages.every((p) => p.query.prefix === 'runs/r7/manifests/')).toBe(true);
    } finally {
      fake.pageSize = 1000;
    }
  });

  it('gives BigQuery gs:// URIs and rejects keys the local store would reject', () => {
    expect(store.loadUri('runs/r1/tables/t/3550308/a/part-00000.csv.gz')).toBe(`gs://${BUCKET}/runs/r1/tables/t/3550308/a/part-00000.csv.gz`);
    expect(() => store.loadUri('../escape')).toThrow(/invalid object key/);
  });

  it('the same key rules as the local store, on every call that takes a key', async () => {
    const bad = ['/runs/a', 'runs//a', 'runs/./a', 'runs/../a', '..', 'runs/a/', 'runs/a b', 'runs/a\\b', 'runs/é', ''];
    for (const key of bad) {
      expect(() => store.loadUri(key)).toThrow(`invalid object key: ${JSON.stringify(key)}`);
      expect(() => store.readStream(key)).toThrow(/invalid object key/);
      await expect(store.read(key)).rejects.toThrow(/invalid object key/);
      await expect(store.create(key, Readable.from([Buffer.from('{}')]), 'application/json')).rejects.toThrow(/invalid object key/);
    }
    expect(fake.requests).toEqual([]); // refused before any request
    expect(store.loadUri('runs/r-1_x.y=z/P9.csv.gz')).toBe(`gs://${BUCKET}/runs/r-1_x.y=z/P9.csv.gz`);
  });

  it('a failed read or listing is a classified storage error naming the object or prefix (403: terminal)', async () => {
    fake.failNext((r) => r.method === 'GET', 403, 1);
    const read = await store.read('runs/r8/plan.json').catch((e: unknown) => e);
    expect(read).toMatchObject({ transient: false, errorClass: 'storage' });
    expect((read as Error).message).toMatch(new RegExp(`^read of gs://${BUCKET}/runs/r8/plan\\.json failed \\(HTTP 403\\)`));
    fake.failNext((r) => r.method === 'GET', 403, 1);
    const list = await store.list('runs/r8/').catch((e: unknown) => e);
    expect(list).toMatchObject({ transient: false, errorClass: 'storage' });
    expect((list as Error).message).toMatch(new RegExp(`^listing of gs://${BUCKET}/runs/r8/ failed \\(HTTP 403\\)`));
  });

  it('chunks are whole multiples of 256 KiB (Cloud Storage refuses others); the default (8 MiB) is one', async () => {
    const bucket = new Storage({ projectId: 'test-project', apiEndpoint: fake.url }).bucket(BUCKET);
    for (const chunkSize of [1000, CHUNK + 1, CHUNK / 2]) expect(() => new GcsObjectStore(bucket, { chunkSize })).toThrow('chunkSize must be a multiple of 256 KiB');
    expect(() => new GcsObjectStore(bucket, { chunkSize: 2 * CHUNK })).not.toThrow();
    const byDefault = new GcsObjectStore(bucket);
    const data = randomBytes(CHUNK + 1);
    await expect(byDefault.create('runs/r9/part.csv.gz', Readable.from([data]), 'application/gzip')).resolves.toEqual({ bytes: data.length });
    // One PUT: the whole part fits in one default chunk.
    expect(uploads().filter((r) => r.method === 'PUT')).toHaveLength(1);
    expect(byDefault.bucketName).toBe(BUCKET);
  });
});
