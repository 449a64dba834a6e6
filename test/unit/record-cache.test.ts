import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { readRecordCached } from '../../shared/records/bucket-records';
import { FsObjectStore } from '../../shared/local/fs-object-store';

/** The run status's cached record reads: never say anything the bucket does not. */
describe('readRecordCached', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'record-cache-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const Rec = z.strictObject({ n: z.number() });
  const put = (store: FsObjectStore, key: string, v: unknown) => store.create(key, Readable.from([Buffer.from(JSON.stringify(v))]), 'application/json');

  it('parses once while the bytes stay the same, again when they change, and not at all when absent', async () => {
    const store = new FsObjectStore(root);
    let parses = 0;
    const Counted = z.preprocess((v) => (parses++, v), Rec);
    await put(store, 'runs/r/loads/a.json', { n: 1 });
    const first = await readRecordCached(store, 'runs/r/loads/a.json', Counted);
    expect(await readRecordCached(store, 'runs/r/loads/a.json', Counted)).toBe(first);
    expect(parses).toBe(1);
    // Rewritten behind the store's back (another process, a restore): the new bytes are parsed.
    fs.writeFileSync(path.join(root, 'runs/r/loads/a.json'), JSON.stringify({ n: 2 }));
    expect(await readRecordCached(store, 'runs/r/loads/a.json', Counted)).toEqual({ n: 2 });
    expect(parses).toBe(2);
    fs.rmSync(path.join(root, 'runs/r/loads/a.json'));
    expect(await readRecordCached(store, 'runs/r/loads/a.json', Counted)).toBeUndefined();
  });

  it('still names the key and the field when a record does not match its contract', async () => {
    const store = new FsObjectStore(root);
    await put(store, 'runs/r/loads/bad.json', { n: 'one' });
    await expect(readRecordCached(store, 'runs/r/loads/bad.json', Rec)).rejects.toThrow(/runs\/r\/loads\/bad\.json does not match its record contract: .*n/);
  });
});
