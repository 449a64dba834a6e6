import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket } from '@google-cloud/storage';
import { ObjectExistsError } from '../../errors';
import type { ObjectStore } from '../../ports';
import { gcpError, httpStatus } from './errors';

export interface GcsObjectStoreOptions {
  /**
   * Bytes per resumable-upload request. Each chunk is buffered until Cloud Storage acknowledges it,
   * so memory stays bounded by one chunk per open part, and a failed request resends only that
   * chunk instead of the whole part. Must be a multiple of 256 KiB.
   */
  chunkSize: number;
}

export const GCS_DEFAULTS: GcsObjectStoreOptions = {
  // 8 MiB: a ~20 MiB gzip part is three requests; the extract function (256 MiB) holds one open part's chunk.
  chunkSize: 8 * 1024 * 1024,
};

/**
 * The staging bucket on Cloud Storage. Uploads stream (never buffering a whole part) through a
 * resumable upload with:
 * - `ifGenerationMatch: 0`: the object is created only if no live object has that name, so a
 *   redelivered extract can never overwrite a committed part or manifest (the library only retries
 *   a failed request because this precondition makes retrying safe);
 * - CRC32C validation: the library hashes the bytes it sent and compares them with the hash Cloud
 *   Storage computed; on a mismatch it deletes the object and fails, and the extract is retried.
 * Readers never see a partial object: Cloud Storage publishes an object only when the upload ends.
 * The manifest is written last by the extract use case, so a visible manifest implies its parts.
 */
export class GcsObjectStore implements ObjectStore {
  constructor(
    private readonly bucket: Bucket,
    private readonly options: GcsObjectStoreOptions = GCS_DEFAULTS,
  ) {
    if (options.chunkSize % (256 * 1024) !== 0) throw new Error('chunkSize must be a multiple of 256 KiB');
  }

  get bucketName(): string {
    return this.bucket.name;
  }

  async create(key: string, body: Readable, contentType: string): Promise<{ bytes: number }> {
    checkKey(key);
    const file = this.bucket.file(key);
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(
        body,
        counter,
        file.createWriteStream({
          resumable: true,
          validation: 'crc32c',
          contentType,
          chunkSize: this.options.chunkSize,
          preconditionOpts: { ifGenerationMatch: 0 },
          metadata: { contentType },
        }),
      );
    } catch (err) {
      if (httpStatus(err) === 412) throw new ObjectExistsError(key);
      throw gcpError(err, 'storage', `upload of gs://${this.bucket.name}/${key}`);
    }
    const size = Number((file.metadata as { size?: string | number } | undefined)?.size);
    return { bytes: Number.isFinite(size) ? size : bytes };
  }

  async read(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    try {
      // download() checks the CRC32C Cloud Storage reports for the object against the bytes received.
      const [data] = await this.bucket.file(key).download();
      return data;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw gcpError(err, 'storage', `read of gs://${this.bucket.name}/${key}`);
    }
  }

  readStream(key: string): Readable {
    checkKey(key);
    // The library validates the whole object's CRC32C at the end of the stream (a corrupted download errors).
    return this.bucket.file(key).createReadStream({ validation: 'crc32c' });
  }

  async list(prefix: string): Promise<string[]> {
    try {
      // autoPaginate follows nextPageToken: a run's table prefix can hold thousands of parts.
      const [files] = await this.bucket.getFiles({ prefix, autoPaginate: true });
      return files.map((f) => f.name).sort();
    } catch (err) {
      throw gcpError(err, 'storage', `listing of gs://${this.bucket.name}/${prefix}`);
    }
  }

  loadUri(key: string): string {
    checkKey(key);
    return `gs://${this.bucket.name}/${key}`;
  }
}

/** Same key rules as the local store: the two must accept exactly the same names. */
function checkKey(key: string): void {
  // A leading or trailing '/' is an empty segment.
  if (!/^[A-Za-z0-9._=/-]+$/.test(key) || key.split('/').some((s) => s === '..' || s === '' || s === '.')) throw new Error(`invalid object key: ${JSON.stringify(key)}`);
}
