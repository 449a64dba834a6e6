import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ObjectExistsError } from '../errors';
import type { ObjectStore } from '../ports';

/**
 * The staging bucket as a local directory with the same object names. Writes are atomic and
 * create-only, like a Cloud Storage upload with `ifGenerationMatch: 0`: data goes to a temporary
 * file that is hard-linked into place (link fails if the name exists) and then removed.
 */
export class FsObjectStore implements ObjectStore {
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

  async create(key: string, body: Readable, _contentType: string): Promise<{ bytes: number }> {
    const target = this.pathOf(key);
    if (fs.existsSync(target)) {
      body.destroy();
      throw new ObjectExistsError(key);
    }
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await pipeline(body, fs.createWriteStream(tmp, { flags: 'wx' }));
      await this.beforeCommit?.(key);
      try {
        await fs.promises.link(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(key);
        throw err;
      }
      return { bytes: (await fs.promises.stat(target)).size };
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.pathOf(key));
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
