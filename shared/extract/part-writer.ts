import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { createGzip, gzipSync, type Gzip } from 'node:zlib';
import type { ObjectStore } from '../ports';
import type { StagedPart } from '../contracts/manifest';

/**
 * Uncompressed bytes a part collects in memory before it starts streaming. Most tables of a
 * municipality are small (a local run of 650 municipalities stages 16,250 parts of ~3 KB
 * compressed): for those a gzip stream, a pass-through and a streamed upload cost more than the
 * rows (per part a zlib handle, a thread-pool round trip per write and per flush, a stream
 * pipeline) — one `gzipSync` and one write of the whole object cost less. Past this bound the
 * part switches to the stream, so memory stays bounded by this constant, not by the table's size.
 */
export const SMALL_PART_MAX_BYTES = 256 * 1024;

/**
 * Uncompressed bytes a streaming part hands zlib in one piece. zlib compresses in the thread pool,
 * but each of its jobs ends on the main thread, which starts the next one: with Node's defaults (a
 * 16 KiB output buffer per job, a 64 KiB write at a time, then wait for 'drain') zlib stood idle
 * while the main thread split and hashed rows, and the main thread stood idle while zlib caught up —
 * the extractor used one core (docs/benchmarks.md). One job over a whole batch compresses while the
 * main thread builds the next batch; memory holds about three batches (building, compressing, output).
 */
export const COMPRESS_BATCH_BYTES = 1 << 20;

/**
 * One compressed CSV part being written into the object store. A small part is collected and
 * stored in one write when it finishes; once it crosses SMALL_PART_MAX_BYTES it becomes a stream:
 * backpressure flows from the store through gzip to the caller's `await write()`, so memory stays
 * flat whatever the table size. Either way the object is created only once (create-if-absent) and
 * the SHA-256 is computed over exactly the stored bytes.
 */
export class PartWriter {
  private gzip: Gzip | undefined;
  private stored: Promise<{ bytes: number }> | undefined;
  private readonly sha = createHash('sha256');
  private failure: Error | undefined;
  /** The collected CSV while the part is small (the header first); undefined once streaming. */
  private pending: Buffer[] | undefined;
  /**
   * Once streaming: two batch buffers, one being filled while zlib compresses the other. Fixed
   * buffers, not a new one per batch: with a megabyte allocated per batch the extractor's peak RSS
   * grew with the table (hashed columns: 134–135 MiB at 2 M rows, 151–154 MiB at 8 M); with these
   * two, 141 MiB at both (docs/benchmarks.md).
   */
  private batches: [Buffer, Buffer] | undefined;
  private filling = 0;
  private batchBytes = 0;
  private aborted = false;
  rows = 0;
  csvBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    readonly key: string,
    header: string,
    private readonly gzipLevel: number,
  ) {
    const h = Buffer.from(header);
    this.pending = [h];
    this.csvBytes += h.length;
  }

  /** Start the streamed upload; returns what was collected so far, to be written first. */
  private startStream(): Buffer[] {
    // The output buffer holds a whole batch's output even when it does not compress (deflate adds a
    // few bytes per 16 KiB stored), so one thread-pool job compresses a batch without waiting for the
    // main thread; it is reused from an offset, so a job that starts near its end takes two.
    const gzip = createGzip({ level: this.gzipLevel, chunkSize: COMPRESS_BATCH_BYTES + 64 * 1024 });
    this.gzip = gzip;
    const body = new PassThrough();
    // The store may still be setting up (a directory, an upload session) when an abort destroys the
    // body: without a listener of its own that error would be uncaught and kill the process. The
    // failure still reaches the caller through `stored` and the source stream.
    body.on('error', () => {});
    gzip.on('data', (d: Buffer) => this.sha.update(d));
    gzip.on('error', (e) => body.destroy(e));
    gzip.pipe(body);
    this.stored = this.store.create(this.key, body, 'application/gzip');
    // Remember a store failure so a writer waiting on 'drain' wakes up with it.
    this.stored.catch((e: Error) => {
      this.failure = e;
      gzip.emit('drain');
    });
    this.batches = [Buffer.allocUnsafeSlow(COMPRESS_BATCH_BYTES), Buffer.allocUnsafeSlow(COMPRESS_BATCH_BYTES)];
    const collected = this.pending!;
    this.pending = undefined;
    return collected;
  }

  /** Copies `data` into the batch being filled, handing each full batch to zlib. */
  private async append(data: Buffer): Promise<void> {
    for (let from = 0; from < data.length;) {
      const n = data.copy(this.batches![this.filling]!, this.batchBytes, from);
      this.batchBytes += n;
      from += n;
      if (this.batchBytes === COMPRESS_BATCH_BYTES) await this.compressBatch();
    }
  }

  /**
   * Hands the filled batch to zlib once the previous one is compressed — zlib is then done with the
   * other buffer, which is filled next. A full batch is far above zlib's writable high-water mark, so
   * after handing one over `writableNeedDrain` stays true until zlib has consumed all of it (only the
   * last, partial batch may be smaller, and no buffer is refilled after it). Backpressure reaches the
   * caller here.
   */
  private async compressBatch(): Promise<void> {
    const gzip = this.gzip!;
    if (gzip.writableNeedDrain) await once(gzip, 'drain');
    if (this.failure) throw this.failure;
    gzip.write(this.batches![this.filling]!.subarray(0, this.batchBytes));
    this.filling ^= 1;
    this.batchBytes = 0;
  }

  async write(data: Buffer, rows: number): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.aborted) throw new Error(`${this.key}: write after abort`);
    this.rows += rows;
    this.csvBytes += data.length;
    if (this.pending) {
      this.pending.push(data);
      if (this.csvBytes <= SMALL_PART_MAX_BYTES) return;
      // Crossed the bound: from here on the part streams (what was collected is written first).
      for (const collected of this.startStream()) await this.append(collected);
    } else await this.append(data);
  }

  async finish(): Promise<StagedPart> {
    if (this.pending) {
      const gz = gzipSync(this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending), { level: this.gzipLevel });
      this.pending = undefined;
      this.sha.update(gz);
      const { bytes } = await this.store.create(this.key, Readable.from([gz]), 'application/gzip');
      return { key: this.key, rows: this.rows, bytes, sha256: this.sha.digest('hex') };
    }
    if (this.batchBytes > 0) await this.compressBatch();
    this.gzip!.end();
    const { bytes } = await this.stored!;
    return { key: this.key, rows: this.rows, bytes, sha256: this.sha.digest('hex') };
  }

  /** Stop writing after a failure elsewhere; the store discards the incomplete object (a small part was never sent). */
  abort(err: Error): void {
    this.aborted = true;
    this.pending = undefined;
    this.gzip?.destroy(err);
    this.stored?.catch(() => {});
  }
}
