import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QueryParameter } from '../../shared/adapters/gcp/bigquery-sql';

/**
 * A local HTTP server speaking the part of BigQuery's REST API (v2) that the warehouse adapter
 * and the ledger's query runner use: jobs.insert (409 "Already Exists" for a known job id),
 * jobs.get, jobs.getQueryResults (long-poll: `jobComplete: false` while a job runs, the job's error
 * as an HTTP error once it failed), tables.get / insert / delete. It does not run SQL or read
 * files: a test decides each job's outcome through `onJob` (e.g. the rows a load job staged, a
 * script's result rows, an error reason). It records every request so contract tests can check
 * what the real @google-cloud/bigquery client sent. Point the client at it with
 * `apiEndpoint: server.url`.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  json?: unknown;
}

export interface JobResource {
  jobReference: { projectId: string; jobId: string; location?: string };
  configuration: {
    load?: Record<string, unknown> & { sourceUris: string[]; destinationTable: { projectId: string; datasetId: string; tableId: string } };
    query?: {
      query: string;
      useLegacySql?: boolean;
      /** Named parameters as the REST API takes them (scalars, arrays, arrays of structs). */
      parameterMode?: string;
      queryParameters?: QueryParameter[];
    };
    labels?: Record<string, string>;
  };
  status: { state: 'PENDING' | 'RUNNING' | 'DONE'; errorResult?: { reason: string; message: string }; errors?: { reason: string; message: string; location?: string }[] };
  statistics?: Record<string, unknown>;
}

/** What a test decides for a new job. */
export interface JobOutcome {
  /** Poll answers to give as RUNNING before DONE. */
  runningPolls?: number;
  error?: { reason: string; message: string };
  /** The job's errors[] (defaults to [error]); a load job's data errors name the file in `location`. */
  errors?: { reason: string; message: string; location?: string }[];
  /** load: rows staged. */
  outputRows?: number;
  /** query: result rows (the script's last statement), with their schema. */
  rows?: Record<string, string | number | null>[];
  schema?: { name: string; type: string }[];
  /** query: result rows per getQueryResults page (BigQuery pages large results; default: one page). */
  pageSize?: number;
}

export interface FakeBigQueryServer {
  url: string;
  requests: RecordedRequest[];
  jobs: Map<string, JobResource & { outcome: JobOutcome; polls: number }>;
  tables: Map<string, Record<string, unknown>>;
  onJob: (job: JobResource) => JobOutcome;
  /**
   * Called for every request before it is answered (after it is recorded): return an error to
   * answer with instead (an HTTP error with BigQuery's error body), or change `tables` / `jobs` to
   * play what another process did in between (e.g. create the table this request is about to).
   */
  beforeAnswer: (req: RecordedRequest) => { code: number; reason: string; message: string } | undefined;
  close(): Promise<void>;
}

/** The HTTP status BigQuery answers with for a failed job's reason (what getQueryResults sees). */
function statusOfReason(reason: string): number {
  if (reason === 'backendError' || reason === 'internalError') return 500;
  if (reason === 'rateLimitExceeded' || reason === 'quotaExceeded' || reason === 'accessDenied') return 403;
  if (reason === 'notFound') return 404;
  return 400;
}

function errorBody(code: number, message: string, reason: string) {
  return JSON.stringify({
    error: { code, message, errors: [{ message, domain: 'global', reason }], status: code === 409 ? 'ALREADY_EXISTS' : code === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT' },
  });
}

export async function startFakeBigQueryServer(): Promise<FakeBigQueryServer> {
  const fake: FakeBigQueryServer = {
    url: '',
    requests: [],
    jobs: new Map(),
    tables: new Map(),
    onJob: (job) => (job.configuration.load ? { outputRows: 0 } : { rows: [] }),
    beforeAnswer: () => undefined,
    close: async () => {},
  };
  const view = (j: JobResource & { outcome: JobOutcome; polls: number }): JobResource => {
    const done = j.polls >= (j.outcome.runningPolls ?? 0);
    const status: JobResource['status'] = done
      ? { state: 'DONE', ...(j.outcome.error ? { errorResult: j.outcome.error, errors: j.outcome.errors ?? [j.outcome.error] } : {}) }
      : { state: 'RUNNING' };
    const statistics =
      j.configuration.load && done && !j.outcome.error
        ? { load: { outputRows: String(j.outcome.outputRows ?? 0), inputFiles: String(j.configuration.load.sourceUris.length) } }
        : {};
    return { jobReference: j.jobReference, configuration: j.configuration, status, statistics };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers };
      if (body) rec.json = JSON.parse(body);
      fake.requests.push(rec);
      const send = (status: number, payload?: unknown) => {
        res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json' });
        res.end(payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload));
      };

      const fault = fake.beforeAnswer(rec);
      if (fault) return send(fault.code, errorBody(fault.code, fault.message, fault.reason));

      let m = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(url.pathname);
      if (m && req.method === 'POST') {
        const job = rec.json as JobResource;
        const id = job.jobReference?.jobId;
        if (!id) return send(400, errorBody(400, 'jobReference.jobId missing', 'invalid'));
        if (fake.jobs.has(id)) return send(409, errorBody(409, `Already Exists: Job ${m[1]}:${job.jobReference.location}.${id}`, 'duplicate'));
        const stored = { ...job, status: { state: 'PENDING' as const }, outcome: fake.onJob(job), polls: 0 };
        fake.jobs.set(id, stored);
        return send(200, view(stored));
      }
      m = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname);
      if (m && req.method === 'GET') {
        const j = fake.jobs.get(decodeURIComponent(m[2]!));
        if (!j) return send(404, errorBody(404, `Not found: Job ${m[1]}:${m[2]}`, 'notFound'));
        const v = view(j);
        j.polls++;
        return send(200, v);
      }
      m = /^\/bigquery\/v2\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(url.pathname);
      if (m && req.method === 'GET') {
        const j = fake.jobs.get(decodeURIComponent(m[2]!));
        if (!j) return send(404, errorBody(404, `Not found: Job ${m[1]}:${m[2]}`, 'notFound'));
        if (j.polls < (j.outcome.runningPolls ?? 0)) {
          j.polls++;
          return send(200, { kind: 'bigquery#getQueryResultsResponse', jobReference: j.jobReference, jobComplete: false });
        }
        if (j.outcome.error) {
          const code = statusOfReason(j.outcome.error.reason);
          return send(code, errorBody(code, j.outcome.error.message, j.outcome.error.reason));
        }
        const all = j.outcome.rows ?? [];
        // The page token is the index of the page's first row (opaque to the client).
        const start = Number(url.searchParams.get('pageToken') ?? 0);
        const end = start + (j.outcome.pageSize ?? all.length);
        const rows = all.slice(start, end);
        const schema = j.outcome.schema ?? Object.keys(all[0] ?? {}).map((name) => ({ name, type: typeof all[0]![name] === 'number' ? 'INTEGER' : 'STRING' }));
        return send(200, {
          kind: 'bigquery#getQueryResultsResponse',
          jobReference: j.jobReference,
          jobComplete: true,
          schema: { fields: schema.map((f) => ({ ...f, mode: 'NULLABLE' })) },
          totalRows: String(all.length),
          ...(end < all.length ? { pageToken: String(end) } : {}),
          rows: rows.map((r) => ({ f: schema.map((f) => ({ v: r[f.name] === null || r[f.name] === undefined ? null : String(r[f.name]) })) })),
        });
      }
      m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables$/.exec(url.pathname);
      if (m && req.method === 'POST') {
        const t = rec.json as { tableReference: { tableId: string } };
        const key = `${m[2]}.${t.tableReference.tableId}`;
        if (fake.tables.has(key)) return send(409, errorBody(409, `Already Exists: Table ${m[1]}:${key}`, 'duplicate'));
        fake.tables.set(key, t as unknown as Record<string, unknown>);
        return send(200, t);
      }
      m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(url.pathname);
      if (m) {
        const key = `${m[2]}.${decodeURIComponent(m[3]!)}`;
        const t = fake.tables.get(key);
        if (!t) return send(404, errorBody(404, `Not found: Table ${m[1]}:${key}`, 'notFound'));
        if (req.method === 'DELETE') {
          fake.tables.delete(key);
          return send(204);
        }
        return send(200, t);
      }
      return send(404, errorBody(404, `fake-bigquery-server: no route for ${req.method} ${url.pathname}`, 'notFound'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
