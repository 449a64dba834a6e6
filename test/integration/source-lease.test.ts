import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SourceLease } from '../../shared/records/source-lease';
import { FsObjectStore } from '../../shared/local/fs-object-store';
import type { Clock } from '../../shared/ports';

/** The per-server lease: one extraction per installation at a time, across instances. */
describe('source lease', () => {
  let dir: string;
  let store: FsObjectStore;
  let now = Date.parse('2026-11-22T06:00:00Z');
  const clock: Clock = { now: () => new Date(now) };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lease-'));
    store = new FsObjectStore(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lets one holder in at a time and the next in after release', async () => {
    const a = await SourceLease.acquire(store, 'pr-consorcio', 'a', clock, { ttlMs: 60_000, waitMs: 0, pollMs: 1 });
    await expect(SourceLease.acquire(store, 'pr-consorcio', 'b', clock, { ttlMs: 60_000, waitMs: 0, pollMs: 1 })).rejects.toMatchObject({
      errorClass: 'source_busy',
      transient: true,
    });
    // Another installation is independent.
    await SourceLease.acquire(store, 'pec-3509502', 'c', clock, { ttlMs: 60_000, waitMs: 0, pollMs: 1 });
    await a.release();
    await expect(SourceLease.acquire(store, 'pr-consorcio', 'b', clock, { ttlMs: 60_000, waitMs: 0, pollMs: 1 })).resolves.toBeInstanceOf(SourceLease);
  });

  it('takes over a lease whose holder died once it expires', async () => {
    await SourceLease.acquire(store, 'pr-consorcio', 'crashed', clock, { ttlMs: 1_000, waitMs: 0, pollMs: 1 });
    await expect(SourceLease.acquire(store, 'pr-consorcio', 'b', clock, { ttlMs: 1_000, waitMs: 0, pollMs: 1 })).rejects.toThrow(/source busy/);
    now += 1_001;
    await expect(SourceLease.acquire(store, 'pr-consorcio', 'b', clock, { ttlMs: 1_000, waitMs: 0, pollMs: 1 })).resolves.toBeInstanceOf(SourceLease);
  });

  it('never lets two concurrent contenders both win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => SourceLease.acquire(store, 'pr-consorcio', `c${i}`, clock, { ttlMs: 60_000, waitMs: 0, pollMs: 1 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('waits for a busy source up to its limit', async () => {
    const realClock: Clock = { now: () => new Date() };
    const a = await SourceLease.acquire(store, 'x', 'a', realClock, { ttlMs: 60_000, waitMs: 0, pollMs: 1 });
    setTimeout(() => void a.release(), 50);
    await expect(SourceLease.acquire(store, 'x', 'b', realClock, { ttlMs: 60_000, waitMs: 5_000, pollMs: 10 })).resolves.toBeInstanceOf(SourceLease);
  });
});
