import { Readable } from 'node:stream';
import { z } from 'zod';
import { ObjectExistsError, TransientError } from '../errors';
import type { Clock, ObjectStore } from '../ports';
import { layout, leaseSequenceOf } from './layout';

/**
 * One extraction at a time per PostgreSQL server (installation), across every function instance:
 * a municipal server also serves clinics, and an installation can hold several municipalities.
 *
 * The lease is a numbered sequence of objects, `leases/<installation>/<n>.json`, using only
 * create-if-absent: taking the lease is creating n+1 after seeing n released (`<n>.released`) or
 * expired, so two contenders can never both win (the store refuses the second create). A holder
 * that dies leaves its lease to expire after `ttlMs`. Old lease objects go with the bucket's
 * lifecycle rule.
 */
export interface LeaseSettings {
  /** How long a lease is valid without release: longer than one invocation can live. */
  ttlMs: number;
  /** How long to wait for a busy source before giving the message back to Pub/Sub. */
  waitMs: number;
  pollMs: number;
}

export const DEFAULT_LEASE: LeaseSettings = { ttlMs: 600_000, waitMs: 60_000, pollMs: 1_000 };

const LeaseBody = z.object({
  holder: z.string(),
  acquiredAt: z.string(),
  expiresAt: z.string(),
});
type LeaseBody = z.infer<typeof LeaseBody>;

const json = (v: unknown) => Readable.from([Buffer.from(JSON.stringify(v))]);

export class SourceLease {
  private constructor(
    private readonly store: ObjectStore,
    private readonly installation: string,
    private readonly sequence: number,
  ) {}

  /** Take the installation's lease, waiting up to `waitMs`; a TransientError when it stays busy. */
  static async acquire(store: ObjectStore, installation: string, holder: string, clock: Clock, s: LeaseSettings = DEFAULT_LEASE): Promise<SourceLease> {
    const prefix = layout.leasesPrefix(installation);
    const deadline = clock.now().getTime() + s.waitMs;
    for (;;) {
      const keys = await store.list(prefix);
      const seqs = keys.map(leaseSequenceOf).filter((n) => Number.isInteger(n));
      const last = seqs.length ? Math.max(...seqs) : 0;
      // No lease yet (last 0) needs no case of its own: lease 0 is never written, so it reads as gone.
      let free = keys.includes(layout.leaseReleased(installation, last));
      if (!free) {
        // A lease object gone (the lifecycle rule) or without an expiry frees the lease like an expired one.
        const body = LeaseBody.partial().parse(JSON.parse((await store.read(layout.lease(installation, last)))?.toString('utf8') ?? '{}'));
        free = !body.expiresAt || Date.parse(body.expiresAt) <= clock.now().getTime();
      }
      if (free) {
        const key = layout.lease(installation, last + 1);
        const now = clock.now();
        try {
          await store.create(
            key,
            json({ holder, acquiredAt: now.toISOString(), expiresAt: new Date(now.getTime() + s.ttlMs).toISOString() } satisfies LeaseBody),
            'application/json',
          );
          return new SourceLease(store, installation, last + 1);
        } catch (err) {
          if (!(err instanceof ObjectExistsError)) throw err; // someone else took it first: wait like anyone
        }
      }
      if (clock.now().getTime() >= deadline) throw new TransientError(`source busy: installation ${installation} is being read by another extraction`, 'source_busy');
      await new Promise((r) => setTimeout(r, s.pollMs));
    }
  }

  async release(): Promise<void> {
    try {
      await this.store.create(layout.leaseReleased(this.installation, this.sequence), json({ releasedAt: new Date().toISOString() }), 'application/json');
    } catch (err) {
      if (!(err instanceof ObjectExistsError)) throw err;
    }
  }
}
