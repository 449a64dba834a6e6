import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createGzip, type Gzip } from 'node:zlib';
import type { ObjectStore } from '../ports';
import type { StagedPart } from '../contracts/manifest';

/**
 * One compressed CSV part being streamed into the object store. Backpressure flows from the store
 * through gzip to the caller's `await write()`, so memory stays flat whatever the table size.
 */
export class PartWriter {
  private readonly gzip: Gzip;
  private readonly stored: Promise<{ bytes: number }>;
  private readonly sha = createHash('sha256');
  private failure: Error | undefined;
  rows = 0;
  csvBytes = 0;

  constructor(
    store: ObjectStore,
    readonly key: string,
    header: string,
    gzipLevel: number,
  ) {
    this.gzip = createGzip({ level: gzipLevel });
    const body = new PassThrough();
    // The store may still be setting up (a directory, an upload session) when an abort destroys the
    // body: without a listener of its own that error would be uncaught and kill the process. The
    // failure still reaches the caller through `stored` and the source stream.
    body.on('error', () => {});
    this.gzip.on('data', (d: Buffer) => this.sha.update(d));
    this.gzip.on('error', (e) => body.destroy(e));
    this.gzip.pipe(body);
    this.stored = store.create(key, body, 'application/gzip');
    // Remember a store failure so a writer waiting on 'drain' wakes up with it.
    this.stored.catch((e: Error) => {
      this.failure = e;
      this.gzip.emit('drain');
    });
    this.gzip.write(header);
    this.csvBytes += Buffer.byteLength(header);
  }

  async write(data: Buffer, rows: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.rows += rows;
    this.csvBytes += data.length;
    if (!this.gzip.write(data)) await once(this.gzip, 'drain');
    if (this.failure) throw this.failure;
  }

  async finish(): Promise<StagedPart> {
    this.gzip.end();
    const { bytes } = await this.stored;
    return { key: this.key, rows: this.rows, bytes, sha256: this.sha.digest('hex') };
  }

  /** Stop writing after a failure elsewhere; the store discards the incomplete object. */
  abort(err: Error): void {
    this.gzip.destroy(err);
    this.stored.catch(() => {});
  }
}
