import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

/**
 * A local HTTP server speaking the part of Cloud Storage's JSON API that the staging bucket
 * adapter uses (at `url`, or at `url`/storage/v1 for STORAGE_EMULATOR_HOST): resumable uploads
 * (session POST, chunked PUTs with Content-Range, 308 until the last chunk), `ifGenerationMatch`
 * preconditions (checked when the session starts and again when the object is finalized, as Cloud
 * Storage does), media downloads with `x-goog-hash`, paginated listings and deletes. It is a test
 * double for contract tests, not an emulator: it stores objects in memory, records every request
 * so tests can check what the real client library sent, and has fault knobs. Point
 * @google-cloud/storage at it with `apiEndpoint: server.url`.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  json?: unknown;
}

export interface StoredObject {
  name: string;
  data: Buffer;
  generation: number;
  contentType: string;
  crc32c: string;
  md5Hash: string;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  ifGenerationMatch?: string;
  received: Buffer[];
  size: number;
}

export interface FakeGcsServer {
  url: string;
  requests: RecordedRequest[];
  objects(bucket: string): Map<string, StoredObject>;
  put(bucket: string, name: string, data: Buffer, contentType?: string): void;
  /** The next finalized upload reports a wrong CRC32C (data corrupted in flight). */
  corruptNextUpload(): void;
  /** Every finalized upload of a matching object reports a wrong CRC32C (a fault that persists across retries). */
  corruptUploadsOf?: (bucket: string, name: string) => boolean;
  /** Answer the next `times` requests matching `match` with `status`. */
  failNext(match: (r: RecordedRequest) => boolean, status: number, times?: number): void;
  /** Drop the faults not yet used up (a test that ran out of retries leaves some behind). */
  clearFaults(): void;
  /** Objects per listing page, to exercise pagination. */
  pageSize: number;
  close(): Promise<void>;
}

function crc32cOf(data: Buffer): string {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
}

function errorBody(code: number, message: string, reason: string) {
  return JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } });
}

/** The error reason Cloud Storage's JSON API gives with each status (a 403 is not a backend error). */
const REASON_OF_STATUS: Record<number, string> = { 403: 'forbidden', 404: 'notFound', 429: 'rateLimitExceeded' };

export async function startFakeGcsServer(): Promise<FakeGcsServer> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const sessions = new Map<string, Session>();
  const requests: RecordedRequest[] = [];
  const faults: { match: (r: RecordedRequest) => boolean; status: number; times: number }[] = [];
  let corrupt = false;
  let generation = 1_700_000_000_000_000;
  let sessionSeq = 0;
  const bucketOf = (b: string) => {
    if (!buckets.has(b)) buckets.set(b, new Map());
    return buckets.get(b)!;
  };
  const resource = (bucket: string, o: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.data.length),
    crc32c: o.crc32c,
    md5Hash: o.md5Hash,
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://localhost');
      // With STORAGE_EMULATOR_HOST=<url>/storage/v1 the client prefixes uploads with it as well.
      url.pathname = url.pathname.replace(/^\/storage\/v1(?=\/upload\/)/, '');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        bodyBytes: body.length,
      };
      if ((req.headers['content-type'] ?? '').includes('json') && body.length > 0) {
        try {
          rec.json = JSON.parse(body.toString('utf8'));
        } catch {
          /* not JSON after all */
        }
      }
      requests.push(rec);
      const send = (status: number, payload?: string | Buffer, headers: Record<string, string> = {}) => {
        res.writeHead(status, { ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}), ...headers });
        res.end(payload);
      };
      const fault = faults.find((f) => f.times > 0 && f.match(rec));
      if (fault) {
        fault.times--;
        return send(fault.status, errorBody(fault.status, `injected ${fault.status}`, REASON_OF_STATUS[fault.status] ?? 'backendError'));
      }

      // Resumable upload: start a session.
      let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (m && req.method === 'POST') {
        if (url.searchParams.get('uploadType') !== 'resumable') return send(400, errorBody(400, 'this fake only accepts resumable uploads', 'invalid'));
        const bucket = decodeURIComponent(m[1]!);
        const meta = (rec.json ?? {}) as { name?: string; contentType?: string };
        const name = url.searchParams.get('name') ?? meta.name;
        if (!name) return send(400, errorBody(400, 'object name missing', 'required'));
        const ifGen = url.searchParams.get('ifGenerationMatch') ?? undefined;
        if (ifGen === '0' && bucketOf(bucket).has(name)) return send(412, errorBody(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet'));
        const id = `s${++sessionSeq}`;
        sessions.set(id, {
          bucket,
          name,
          contentType: meta.contentType ?? String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'),
          ifGenerationMatch: ifGen,
          received: [],
          size: 0,
        });
        const location = `http://${req.headers.host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        return send(200, '', { location });
      }
      // Resumable upload: a chunk (or the whole rest).
      if (m && req.method === 'PUT') {
        const s = sessions.get(url.searchParams.get('upload_id') ?? '');
        if (!s) return send(404, errorBody(404, 'no such upload session', 'notFound'));
        const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
        if (!range) return send(400, errorBody(400, `bad Content-Range ${req.headers['content-range']}`, 'invalid'));
        if (range[1] !== undefined) {
          if (Number(range[1]) !== s.size) return send(400, errorBody(400, `chunk starts at ${range[1]}, expected ${s.size}`, 'invalid'));
          s.received.push(body);
          s.size += body.length;
        }
        const total = range[3] === '*' ? undefined : Number(range[3]);
        if (total === undefined || s.size < total) return send(308, '', s.size > 0 ? { range: `bytes=0-${s.size - 1}` } : {});
        const objects = bucketOf(s.bucket);
        if (s.ifGenerationMatch === '0' && objects.has(s.name))
          return send(412, errorBody(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet'));
        const data = Buffer.concat(s.received);
        const o: StoredObject = {
          name: s.name,
          data,
          generation: ++generation,
          contentType: s.contentType,
          crc32c: corrupt || fake.corruptUploadsOf?.(s.bucket, s.name) ? crc32cOf(Buffer.concat([data, Buffer.from('x')])) : crc32cOf(data),
          md5Hash: createHash('md5').update(data).digest('base64'),
        };
        corrupt = false;
        objects.set(s.name, o);
        sessions.delete(url.searchParams.get('upload_id')!);
        return send(200, JSON.stringify(resource(s.bucket, o)));
      }
      // Object: media download, metadata, delete.
      m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      if (m) {
        const bucket = decodeURIComponent(m[1]!);
        const name = decodeURIComponent(m[2]!);
        const o = bucketOf(bucket).get(name);
        if (!o) return send(404, errorBody(404, `No such object: ${bucket}/${name}`, 'notFound'));
        if (req.method === 'DELETE') {
          bucketOf(bucket).delete(name);
          return send(204);
        }
        if (url.searchParams.get('alt') === 'media')
          return send(200, o.data, { 'content-type': o.contentType, 'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`, 'x-goog-generation': String(o.generation) });
        return send(200, JSON.stringify(resource(bucket, o)));
      }
      // Listing, with pagination.
      m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (m && req.method === 'GET') {
        const bucket = decodeURIComponent(m[1]!);
        const prefix = url.searchParams.get('prefix') ?? '';
        const names = [...bucketOf(bucket).keys()].filter((n) => n.startsWith(prefix)).sort();
        const start = Number(url.searchParams.get('pageToken') ?? 0);
        const size = Math.min(Number(url.searchParams.get('maxResults') ?? fake.pageSize), fake.pageSize);
        const page = names.slice(start, start + size);
        return send(
          200,
          JSON.stringify({
            kind: 'storage#objects',
            items: page.map((n) => resource(bucket, bucketOf(bucket).get(n)!)),
            ...(start + size < names.length ? { nextPageToken: String(start + size) } : {}),
          }),
        );
      }
      return send(404, errorBody(404, `fake-gcs-server: no route for ${req.method} ${url.pathname}`, 'notFound'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeGcsServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    pageSize: 1000,
    objects: bucketOf,
    put(bucket, name, data, contentType = 'application/octet-stream') {
      bucketOf(bucket).set(name, { name, data, generation: ++generation, contentType, crc32c: crc32cOf(data), md5Hash: createHash('md5').update(data).digest('base64') });
    },
    corruptNextUpload() {
      corrupt = true;
    },
    failNext(match, status, times = 1) {
      faults.push({ match, status, times });
    },
    clearFaults() {
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
