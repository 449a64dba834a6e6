import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ObjectExistsError } from '../../shared/errors';
import { FsObjectStore } from '../../shared/local/fs-object-store';

/** The local bucket's write path: create-only, atomic, byte counts, nothing left behind. */
describe('FsObjectStore', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-store-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const leftovers = () => (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.includes('.tmp-'));

  it('writes an object once, counts its bytes and leaves no temporary file', async () => {
    const store = new FsObjectStore(root);
    const chunks = [Buffer.from('a'.repeat(70_000)), Buffer.from('b'.repeat(5)), 'text'];
    const r = await store.create('runs/r1/tables/t/3550308/a1/part-00000.csv.gz', Readable.from(chunks), 'application/gzip');
    expect(r.bytes).toBe(70_000 + 5 + 4);
    expect(fs.statSync(path.join(root, 'runs/r1/tables/t/3550308/a1/part-00000.csv.gz')).size).toBe(r.bytes);
    expect((await store.read('runs/r1/tables/t/3550308/a1/part-00000.csv.gz'))!.toString()).toBe(`${'a'.repeat(70_000)}bbbbbtext`);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a second create of the same name and keeps the first body', async () => {
    const store = new FsObjectStore(root);
    await store.create('runs/r1/manifests/3550308.json', Readable.from([Buffer.from('first')]), 'application/json');
    await expect(store.create('runs/r1/manifests/3550308.json', Readable.from([Buffer.from('second')]), 'application/json')).rejects.toBeInstanceOf(ObjectExistsError);
    // Another store on the same directory (another process): the link refuses it, not a cache.
    const other = new FsObjectStore(root, () => fs.writeFileSync(path.join(root, 'runs/r1/manifests/3550309.json'), 'raced'));
    await expect(other.create('runs/r1/manifests/3550309.json', Readable.from([Buffer.from('late')]), 'application/json')).rejects.toBeInstanceOf(ObjectExistsError);
    expect((await store.read('runs/r1/manifests/3550308.json'))!.toString()).toBe('first');
    expect((await store.read('runs/r1/manifests/3550309.json'))!.toString()).toBe('raced');
    expect(leftovers()).toEqual([]);
  });

  it('commits nothing when the body fails or the commit hook throws', async () => {
    const store = new FsObjectStore(root, (key) => {
      if (key.endsWith('hook.json')) throw new Error('injected: 503');
    });
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('source lost'));
      },
    });
    await expect(store.create('runs/r1/tables/t/3550308/a1/part-00000.csv.gz', failing, 'application/gzip')).rejects.toThrow('source lost');
    await expect(store.create('runs/r1/hook.json', Readable.from([Buffer.from('x')]), 'application/json')).rejects.toThrow('injected: 503');
    expect(await store.read('runs/r1/tables/t/3550308/a1/part-00000.csv.gz')).toBeUndefined();
    expect(await store.read('runs/r1/hook.json')).toBeUndefined();
    expect(await store.list('runs/')).toEqual([]);
    expect(leftovers()).toEqual([]);
  });

  it('re-creates a directory removed after the store first wrote there', async () => {
    const store = new FsObjectStore(root);
    await store.create('leases/inst-1/00000001.json', Readable.from([Buffer.from('{}')]), 'application/json');
    fs.rmSync(path.join(root, 'leases'), { recursive: true });
    await store.create('leases/inst-1/00000002.json', Readable.from([Buffer.from('{}')]), 'application/json');
    expect(await store.list('leases/')).toEqual(['leases/inst-1/00000002.json']);
  });
});
