import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { COMPRESS_BATCH_BYTES, PartWriter, SMALL_PART_MAX_BYTES } from '../../shared/extract/part-writer';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import { StagedPart } from '../../shared/contracts/manifest';
import type { ObjectStore } from '../../shared/ports';

/**
 * What the manifest says of a part is what the load checks (issue 16): its SHA-256 over the stored
 * bytes, its row count, its stored size; and the part holds exactly the header and the rows written.
 * Checked against the stored object, computed here independently of the writer.
 */
const KEY = 'runs/r-1/tb_x/3509502/a1/part-00000.csv.gz';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tick = () => new Promise((r) => setImmediate(r));

/** A store that holds `create` open (nothing read from the body) until told to, like an upload that has not started. */
function stalledStore(): ObjectStore & { body?: Readable; contentType?: string; fail: (e: Error) => void } {
  let reject: (e: Error) => void = () => {};
  const s = {
    body: undefined as Readable | undefined,
    contentType: undefined as string | undefined,
    fail: (e: Error) => reject(e),
    create: (_key: string, body: Readable, contentType: string) => {
      s.body = body;
      s.contentType = contentType;
      return new Promise<{ bytes: number }>((_res, rej) => (reject = rej));
    },
    read: async () => undefined,
    list: async () => [],
    readStream: () => {
      throw new Error('not used');
    },
    loadUri: (k: string) => k,
  };
  return s;
}

describe('PartWriter: the part and its manifest entry', () => {
  let dir: string;
  let store: FsObjectStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'part-writer-'));
    store = new FsObjectStore(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores the header and every byte written, and declares the stored bytes SHA-256, size and rows', async () => {
    const header = 'nu_cns,nome_ção,co_seq\n';
    const w = new PartWriter(store, KEY, header, 6);
    const chunks = [Buffer.from('a,"b\nc",1\n'), Buffer.from('é,,2\n3,4,5\n'), Buffer.alloc(0)];
    await w.write(chunks[0]!, 1);
    await w.write(chunks[1]!, 2);
    await w.write(chunks[2]!, 0);
    const part = await w.finish();

    const stored = fs.readFileSync(path.join(dir, KEY));
    expect(gunzipSync(stored).toString('utf8')).toBe(header + Buffer.concat(chunks).toString('utf8'));
    expect(part).toEqual({ key: KEY, rows: 3, bytes: stored.length, sha256: sha256(stored) });
    expect(StagedPart.parse(part)).toEqual(part);
    // Uncompressed CSV bytes, counted in bytes (not characters), header included.
    expect(w.csvBytes).toBe(Buffer.byteLength(header) + chunks.reduce((n, c) => n + c.length, 0));
    expect(w.rows).toBe(3);
    expect(w.key).toBe(KEY);
  });

  it('an empty table still gives a part: the header only, zero rows, its own SHA-256', async () => {
    const w = new PartWriter(store, KEY, 'a,b\n', 6);
    const part = await w.finish();
    const stored = fs.readFileSync(path.join(dir, KEY));
    expect(gunzipSync(stored).toString()).toBe('a,b\n');
    expect(part).toEqual({ key: KEY, rows: 0, bytes: stored.length, sha256: sha256(stored) });
    expect(w.csvBytes).toBe(4);
  });

  it('a multi-megabyte part (many gzip chunks) is hashed over all of its stored bytes', async () => {
    const w = new PartWriter(store, KEY, 'x\n', 1);
    const data: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = Buffer.from(randomBytes(48 * 1024).toString('hex') + '\n');
      data.push(b);
      await w.write(b, 1);
    }
    const part = await w.finish();
    const stored = fs.readFileSync(path.join(dir, KEY));
    expect(part.sha256).toBe(sha256(stored));
    expect(part.bytes).toBe(stored.length);
    expect(part.rows).toBe(40);
    expect(gunzipSync(stored).equals(Buffer.concat([Buffer.from('x\n'), ...data]))).toBe(true);
  });

  it('compresses at the configured level', async () => {
    // gzip's header records the level class in its XFL byte (offset 8): 2 = best (9), 4 = fastest (1).
    const xfl = async (level: number, key: string) => {
      const w = new PartWriter(store, key, 'h\n', level);
      await w.write(Buffer.from('1,2,3\n'.repeat(1000)), 1000);
      await w.finish();
      return fs.readFileSync(path.join(dir, key))[8];
    };
    expect(await xfl(9, 'p/nine.csv.gz')).toBe(2);
    expect(await xfl(1, 'p/one.csv.gz')).toBe(4);
  });

  it('never overwrites a committed part: a second writer of the same key fails', async () => {
    await new PartWriter(store, KEY, 'a\n', 6).finish();
    await expect(new PartWriter(store, KEY, 'b\n', 6).finish()).rejects.toThrow(/exists/);
    expect(gunzipSync(fs.readFileSync(path.join(dir, KEY))).toString()).toBe('a\n');
  });

  it('abort leaves no object behind and no uncaught error, even before the store reads the body', async () => {
    const w = new PartWriter(store, KEY, 'a\n', 6);
    await w.write(Buffer.from('1\n'), 1);
    w.abort(new Error('the COPY failed'));
    await tick();
    await tick();
    expect(await store.list('runs/')).toEqual([]);

    // A streaming part (past the small-part bound) whose store is still setting up when the abort
    // comes: the body's error must not be left unhandled.
    const stalled = stalledStore();
    const s = new PartWriter(stalled, KEY, 'a\n', 6);
    void s.write(Buffer.alloc(SMALL_PART_MAX_BYTES + 1, 0x31), 1).catch(() => {});
    expect(stalled.body).toBeDefined();
    s.abort(new Error('the COPY failed'));
    await tick();
    expect(stalled.body!.destroyed).toBe(true);
    stalled.fail(new Error('upload cancelled'));
    await tick();
  });

  it('applies backpressure: a write waits while the store is not reading', async () => {
    const stalled = stalledStore();
    const w = new PartWriter(stalled, KEY, 'h\n', 0);
    // The first batches go to zlib at once (the first one's output fills the upload's buffer); then a
    // batch waits for the one before it, which cannot finish while its output has nowhere to go — so
    // a writer holds a bounded number of batches, whatever it writes.
    await w.write(randomBytes(COMPRESS_BATCH_BYTES), 1);
    await w.write(randomBytes(COMPRESS_BATCH_BYTES), 1);
    let settled = false;
    const pending = w.write(randomBytes(COMPRESS_BATCH_BYTES), 1).finally(() => (settled = true));
    for (let i = 0; i < 20; i++) await tick();
    expect(settled).toBe(false);
    // A store failure wakes the waiting writer with that failure, and later writes fail with it.
    const failure = new Error('bucket unavailable');
    stalled.fail(failure);
    await expect(pending).rejects.toBe(failure);
    await expect(w.write(Buffer.from('x\n'), 1)).rejects.toBe(failure);
  });

  it.each([
    ['a store that reads at once', 0],
    ['a slow store (a batch buffer is refilled only once zlib is done with it)', 2],
  ])('a part of several compression batches stores exactly the bytes written, in order: %s', async (_name, delayMs) => {
    const slow: ObjectStore = {
      read: (k) => store.read(k),
      list: (p) => store.list(p),
      readStream: (k) => store.readStream(k),
      loadUri: (k) => store.loadUri(k),
      create: async (key, body, type) => {
        const chunks: Buffer[] = [];
        for await (const c of body) {
          chunks.push(c as Buffer);
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        }
        return store.create(key, Readable.from(chunks), type);
      },
    };
    const w = new PartWriter(slow, KEY, 'h\n', 1);
    const written: Buffer[] = [Buffer.from('h\n')];
    // Uneven writes, so batches end mid-write and the last batch is a partial one.
    for (let size = 1; written.length < 60; size = (size * 7919) % 200_000) {
      const b = randomBytes(size + 1);
      written.push(b);
      await w.write(b, 1);
    }
    const total = written.reduce((n, b) => n + b.length, 0);
    expect(total).toBeGreaterThan(3 * COMPRESS_BATCH_BYTES);
    const p = await w.finish();
    const stored = fs.readFileSync(path.join(dir, KEY));
    expect(p).toEqual({ key: KEY, rows: 59, bytes: stored.length, sha256: sha256(stored) });
    expect(gunzipSync(stored).equals(Buffer.concat(written))).toBe(true);
  });

  it('a write that does not fill the buffers returns without waiting for the store', async () => {
    const stalled = stalledStore();
    const w = new PartWriter(stalled, KEY, 'h\n', 6);
    await expect(w.write(Buffer.from('1,2\n'), 1)).resolves.toBeUndefined();
    await expect(w.write(Buffer.alloc(SMALL_PART_MAX_BYTES, 0x31), 1)).resolves.toBeUndefined();
    // The object says what it is: a gzip file (Cloud Storage keeps the type; the load reads it as compressed CSV).
    expect(stalled.contentType).toBe('application/gzip');
    w.abort(new Error('done'));
    stalled.fail(new Error('done'));
  });

  it('a small part is written in one piece at finish; a part past the bound streams from the write that crosses it', async () => {
    const created: { key: string; chunks: Buffer[] }[] = [];
    const recording: ObjectStore = {
      create: async (key, body) => {
        const entry = { key, chunks: [] as Buffer[] };
        created.push(entry);
        for await (const c of body) entry.chunks.push(c as Buffer);
        return store.create(key, (await import('node:stream')).Readable.from(entry.chunks), 'application/gzip');
      },
      read: (k) => store.read(k),
      list: (p) => store.list(p),
      readStream: (k) => store.readStream(k),
      loadUri: (k) => store.loadUri(k),
    };
    const small = new PartWriter(recording, 'p/small.csv.gz', 'h\n', 1);
    await small.write(Buffer.from('1,2\n'), 1);
    await small.write(Buffer.alloc(SMALL_PART_MAX_BYTES - 10, 0x31), 1);
    expect(created).toEqual([]); // nothing sent before finish
    const sp = await small.finish();
    expect(created.map((c) => [c.key, c.chunks.length])).toEqual([['p/small.csv.gz', 1]]);
    const smallStored = fs.readFileSync(path.join(dir, 'p/small.csv.gz'));
    expect(sp).toEqual({ key: 'p/small.csv.gz', rows: 2, bytes: smallStored.length, sha256: sha256(smallStored) });
    expect(gunzipSync(smallStored).toString()).toBe('h\n1,2\n' + '1'.repeat(SMALL_PART_MAX_BYTES - 10));

    const big = new PartWriter(recording, 'p/big.csv.gz', 'h\n', 1);
    const first = Buffer.alloc(SMALL_PART_MAX_BYTES - 2, 0x32); // with the 2-byte header: exactly at the bound
    await big.write(first, 1);
    expect(created).toHaveLength(1);
    await big.write(Buffer.from('3,4\n'), 1); // crosses the bound: the upload starts now
    expect(created).toHaveLength(2);
    const bp = await big.finish();
    const bigStored = fs.readFileSync(path.join(dir, 'p/big.csv.gz'));
    expect(bp).toEqual({ key: 'p/big.csv.gz', rows: 2, bytes: bigStored.length, sha256: sha256(bigStored) });
    expect(gunzipSync(bigStored).equals(Buffer.concat([Buffer.from('h\n'), first, Buffer.from('3,4\n')]))).toBe(true);
  });
});
