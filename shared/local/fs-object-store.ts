import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ObjectExistsError } from '../errors';
import type { ObjectStore } from '../ports';

/**
 * The staging bucket as a local directory with the same object names. Writes are atomic and
 * create-only, like a Cloud Storage upload with `ifGenerationMatch: 0`: data goes to a temporary
 * file that is hard-linked into place (link fails if the name exists) and then removed.
 *
 * A local run writes ~25 small objects per municipality (16,250 parts for 650), so each write does
 * only what those guarantees need: no fsync (neither does a GCS upload from the caller's side, and a
 * crash leaves either no object or a whole one: the link happens after the data is written, and a
 * torn temporary file is never listed or linked — a redelivery writes a new attempt), no stat after
 * the link (the bytes are counted as they are written), one unlink of the temporary file, and a
 * directory is created once per store (re-created if someone removed it meanwhile).
 */
export class FsObjectStore implements ObjectStore {
  /** Directories this store has created or seen: most objects of a run share a few of them. */
  private readonly dirs = new Set<string>();

  constructor(
    readonly root: string,
    /** Fault injection for tests: called before an object is committed. */
    private readonly beforeCommit?: (key: string) => void | Promise<void>,
  ) {
    fs.mkdirSync(root, { recursive: true });
  }

  private pathOf(key: string): string {
    if (!/^[A-Za-z0-9._=/-]+$/.test(key) || key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '' || s === '.'))
      throw new Error(`invalid object key: ${JSON.stringify(key)}`);
    return path.join(this.root, key);
  }

  private openNew(file: string): number {
    const dir = path.dirname(file);
    if (!this.dirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.dirs.add(dir);
    }
    try {
      return fs.openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The directory went away after this store created it (a test or an operator cleaned up).
      fs.mkdirSync(dir, { recursive: true });
      return fs.openSync(file, 'wx');
    }
  }

  async create(key: string, body: Readable, _contentType: string): Promise<{ bytes: number }> {
    const target = this.pathOf(key);
    if (fs.existsSync(target)) {
      body.destroy();
      throw new ObjectExistsError(key);
    }
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    let bytes = 0;
    let fd: number | undefined;
    // Synchronous file calls: each object is a few small writes on a local disk, and a run writes
    // ~30 per municipality; sending each call through the thread pool cost more (a wake-up and a
    // promise per call, 5–6 per object) than the call itself. The body is still consumed as a
    // stream, chunk by chunk, so backpressure reaches the writer and memory stays flat.
    try {
      fd = this.openNew(tmp);
      for await (const chunk of body) {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        // writeSync may write less than asked: loop until the chunk is on disk.
        for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off, data.length - off);
        bytes += data.length;
      }
      fs.closeSync(fd);
      fd = undefined;
      await this.beforeCommit?.(key);
      try {
        fs.linkSync(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(key);
        throw err;
      }
      return { bytes };
    } catch (err) {
      body.destroy();
      throw err;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      try {
        fs.unlinkSync(tmp);
      } catch {
        // never created, or already gone
      }
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    // Synchronous, like create: what is read whole is a record or a small part (a few KB), for
    // which the thread pool's four round trips (open, stat, read, close) cost more than the read.
    try {
      return fs.readFileSync(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  readStream(key: string): Readable {
    return fs.createReadStream(this.pathOf(key));
  }

  async list(prefix: string): Promise<string[]> {
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const base = path.join(this.root, dirPart);
    if (!fs.existsSync(base)) return [];
    const entries = await fs.promises.readdir(base, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.includes('.tmp-'))
      .map((e) => path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  loadUri(key: string): string {
    return this.pathOf(key);
  }
}
