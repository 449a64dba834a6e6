import { DuckDBInstance } from '@duckdb/node-api';
import { DatabaseError } from 'pg';
import { classifyGcp, gcpError, httpStatus } from '../../shared/adapters/gcp/errors';
import {
  BIGQUERY_REASONS,
  CALLER,
  DUCKDB_ERROR_TYPES,
  DUCKDB_FALLBACK,
  GCP_FALLBACK,
  GRPC_CODES,
  HTTP_STATUSES,
  NODE_SOCKET_CODES,
  PG_CLIENT_MESSAGES,
  SOURCE_FALLBACK,
  SQLSTATE_RULES,
  UNCLASSIFIED,
} from '../../shared/error-classes';
import { classifyDuckDbError, classifySourceError, describeError, ObjectExistsError, PipelineError, TerminalError, TransientError, type ErrorClass } from '../../shared/errors';

/**
 * The classification table (shared/error-classes.ts), row by row, against the real classifiers:
 * each row's signal is put on an error shaped like the one the real library raises (a pg
 * DatabaseError with its SQLSTATE, a BigQuery ApiError with `errors[].reason` and the HTTP code, a
 * google-gax error with `code` + `details`, a Node socket error, a DuckDB error) and the classifier
 * must give the row's class and decision.
 *
 * The table could be wrong and still agree with itself, so "the guarantees" below are written by
 * hand, independently of the table: the decisions users depend on (a full server is retried, a
 * refused password is not, a rate limit is retried as `rate_limited`, …). Flipping one of those
 * rows in the table fails them.
 */

const pgError = (code: string, message = `pg says ${code}`) => Object.assign(new DatabaseError(message, message.length, 'error'), { code, severity: 'FATAL' });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -1, syscall: 'connect' });
/** What @google-cloud/common's ApiError carries for a REST error body. */
const apiError = (status: number, reason?: string) =>
  Object.assign(new Error(`HTTP ${status}${reason ? ` ${reason}` : ''}`), {
    code: status,
    errors: reason ? [{ reason, message: 'm', domain: 'global' }] : [],
    response: { statusCode: status },
  });
/** What google-gax raises for a gRPC status. */
const grpcError = (code: number) => Object.assign(new Error(`${code} STATUS: details`), { code, details: 'details', metadata: {} });

/** A SQLSTATE that the row matches: the code itself, or its class/prefix padded with zeros. */
const sqlstateExample = (s: string) => (s + '000').slice(0, 5);

function expectClassified(e: PipelineError, errorClass: string, transient: boolean) {
  expect(e).toBeInstanceOf(transient ? TransientError : TerminalError);
  expect({ errorClass: e.errorClass, transient: e.transient }).toEqual({ errorClass, transient });
}

describe('the error classification table, row by row against the real classifiers', () => {
  describe('PostgreSQL source: classifySourceError', () => {
    it.each(SQLSTATE_RULES.map((r) => [r.sqlstate, r.phase ?? 'any phase', r] as const))('SQLSTATE %s (%s)', (sqlstate, _phase, r) => {
      const err = pgError(sqlstateExample(sqlstate));
      const e = classifySourceError(err, r.phase);
      expectClassified(e, r.errorClass, r.transient);
      expect(e.cause).toBe(err);
      expect(e.message).toContain(`source error ${sqlstateExample(sqlstate)}`);
    });

    it.each(NODE_SOCKET_CODES.map((r) => [r.code]))('socket %s → source_unreachable, transient', (code) => {
      expectClassified(classifySourceError(socketError(code)), 'source_unreachable', true);
    });

    it.each(PG_CLIENT_MESSAGES.map((r) => [r.example, r] as const))('pg client error without SQLSTATE: "%s"', (example, r) => {
      expectClassified(classifySourceError(new Error(example)), r.errorClass, r.transient);
    });

    it('anything else (an unknown SQLSTATE, no code at all, not even an Error) → the fallback', () => {
      for (const err of [pgError('22012'), new Error('something odd'), 'a string', undefined, null, { code: 42 }])
        expectClassified(classifySourceError(err), SOURCE_FALLBACK.errorClass, SOURCE_FALLBACK.transient);
    });

    it('the message carries the SQLSTATE when there is one, and the original text', () => {
      expect(classifySourceError(pgError('22012', 'division by zero')).message).toBe('source error 22012: division by zero');
      expect(classifySourceError(new Error('timeout expired')).message).toBe('source error: timeout expired');
      expect(classifySourceError('a string').message).toBe('source error: a string');
      expect(classifySourceError({ code: 42, message: 'odd' }).message).toBe('source error: odd');
    });

    it('the most specific SQLSTATE wins: 42501 only at connection is source_auth; elsewhere its class 42 decides', () => {
      expectClassified(classifySourceError(pgError('42501'), 'connect'), 'source_auth', false);
      expectClassified(classifySourceError(pgError('42501')), 'source_schema', false);
      expectClassified(classifySourceError(pgError('42P01'), 'connect'), 'source_schema', false);
    });

    it('an error already classified passes through unchanged', () => {
      const done = new TerminalError('x', 'source_schema');
      expect(classifySourceError(done)).toBe(done);
    });
  });

  describe('Google Cloud: classifyGcp / gcpError', () => {
    const callerClass = (c: ErrorClass | typeof CALLER, adapter: ErrorClass) => (c === CALLER ? adapter : c);

    it.each(BIGQUERY_REASONS.map((r) => [r.reason, r] as const))('BigQuery reason %s', (reason, r) => {
      // The status BigQuery pairs with a reason varies (403 for both rateLimitExceeded and accessDenied):
      // the reason must decide whatever the status says.
      for (const status of [400, 403, 500]) {
        expect(classifyGcp(apiError(status, reason))).toEqual({ transient: r.transient, errorClass: r.errorClass, basis: `reason ${reason}` });
        expectClassified(gcpError(apiError(status, reason), 'warehouse', 'BigQuery job j'), callerClass(r.errorClass, 'warehouse'), r.transient);
      }
      // A finished job's errorResult (no HTTP status at all).
      expectClassified(gcpError({ reason, message: 'job failed' }, 'storage', 'load'), callerClass(r.errorClass, 'storage'), r.transient);
    });

    it.each(GRPC_CODES.map((r) => [r.code, r.name, r] as const))('gRPC %d %s', (code, _name, r) => {
      expect(classifyGcp(grpcError(code))).toEqual({ transient: r.transient, errorClass: r.errorClass, basis: `gRPC status ${code}` });
      expectClassified(gcpError(grpcError(code), 'config', 'publish'), callerClass(r.errorClass, 'config'), r.transient);
    });

    it.each(HTTP_STATUSES.map((r) => [r.status, r] as const))('HTTP %s', (status, r) => {
      const examples = status === '4xx' ? [400, 401, 403, 404, 409, 412, 499] : status === '5xx' ? [500, 502, 503, 504, 599] : [Number(status)];
      for (const n of examples) {
        expect(classifyGcp(apiError(n))).toEqual({ transient: r.transient, errorClass: r.errorClass, basis: `HTTP ${n}` });
        // Gaxios (Cloud Storage) puts the status on `status` / `response.status`, not `code`.
        expect(classifyGcp({ status: n, message: 'gaxios' }).transient).toBe(r.transient);
        expect(classifyGcp({ response: { status: n }, code: 'ERR_BAD_RESPONSE' }).transient).toBe(r.transient);
        expectClassified(gcpError(apiError(n), 'storage', 'upload'), callerClass(r.errorClass, 'storage'), r.transient);
      }
    });

    it.each(NODE_SOCKET_CODES.map((r) => [r.code]))('socket %s → the adapter class, transient', (code) => {
      expect(classifyGcp(socketError(code))).toEqual({ transient: true, errorClass: CALLER, basis: code });
      expectClassified(gcpError(socketError(code), 'storage', 'upload'), 'storage', true);
    });

    it('anything else → the fallback, with the adapter class', () => {
      // Includes a small numeric code without gRPC `details` (not a gRPC status) and statuses just outside 4xx/5xx.
      for (const err of [
        new Error('odd'),
        { code: 'EWHATEVER' },
        { reason: 'aBrandNewReason' },
        apiError(302),
        apiError(399),
        apiError(600),
        { code: 5 },
        { code: 0, details: 'OK?' },
        undefined,
      ]) {
        expect(classifyGcp(err)).toEqual({ transient: GCP_FALLBACK.transient, errorClass: GCP_FALLBACK.errorClass, basis: 'unclassified' });
        expectClassified(gcpError(err, 'warehouse', 'x'), 'warehouse', GCP_FALLBACK.transient);
      }
    });

    it('httpStatus reads the status where each client puts it, and only a status (>= 100)', () => {
      expect(httpStatus(apiError(404))).toBe(404); // @google-cloud/common ApiError: `code`
      expect(httpStatus({ code: 100 })).toBe(100);
      expect(httpStatus({ status: 412 })).toBe(412); // Gaxios
      expect(httpStatus({ response: { status: 409 }, code: 'ERR_BAD_RESPONSE' })).toBe(409);
      for (const e of [{ code: 99 }, { code: 5 }, { code: 'ECONNRESET' }, { code: '404' }, {}, undefined, null]) expect(httpStatus(e)).toBeUndefined();
    });

    it('the classified error keeps the original as its cause', () => {
      const refused = apiError(403, 'accessDenied');
      const limited = apiError(403, 'rateLimitExceeded');
      expect(gcpError(refused, 'warehouse', 'op').cause).toBe(refused);
      expect(gcpError(limited, 'warehouse', 'op').cause).toBe(limited);
    });

    it('an unknown BigQuery reason falls through to the HTTP status', () => {
      expect(classifyGcp(apiError(403, 'aBrandNewReason'))).toEqual({ transient: false, errorClass: CALLER, basis: 'HTTP 403' });
      expect(classifyGcp(apiError(503, 'aBrandNewReason'))).toEqual({ transient: true, errorClass: CALLER, basis: 'HTTP 503' });
    });

    it('the message names the operation and the basis; an error already classified passes through', () => {
      expect(gcpError('boom', 'storage', 'op').message).toBe('op failed (unclassified): boom');
      const e = gcpError(apiError(403, 'accessDenied'), 'warehouse', 'BigQuery job load-1');
      expect(e.message).toBe('BigQuery job load-1 failed (reason accessDenied): HTTP 403 accessDenied');
      const done = new TransientError('x', 'storage');
      expect(gcpError(done, 'warehouse', 'y')).toBe(done);
    });
  });

  describe('DuckDB: classifyDuckDbError', () => {
    it.each(DUCKDB_ERROR_TYPES.map((r) => [r.type, r] as const))('%s Error', (type, r) => {
      const err = new Error(`${type} Error: something about it`);
      const e = classifyDuckDbError(err, 'warehouse load L failed');
      expectClassified(e, r.errorClass, r.transient);
      expect(e.message).toBe('warehouse load L failed');
      expect(e.cause).toBe(err);
    });

    it('any other error → the fallback; a PipelineError keeps its class and decision', () => {
      // The type must lead the message: a wrapped text that mentions a type further on is not DuckDB's.
      for (const err of [new Error('Out of Memory Error: x'), new Error('no type here'), new Error('wrapped: Conversion Error: x'), 'string', null, undefined])
        expectClassified(classifyDuckDbError(err, 'm'), DUCKDB_FALLBACK.errorClass, DUCKDB_FALLBACK.transient);
      expectClassified(classifyDuckDbError('Conversion Error: thrown as a string', 'm'), 'data', false);
      const limited = new TransientError('x', 'rate_limited');
      const refused = new TerminalError('x', 'warehouse');
      expectClassified(classifyDuckDbError(limited, 'm1'), 'rate_limited', true);
      expectClassified(classifyDuckDbError(refused, 'm2'), 'warehouse', false);
      expect([classifyDuckDbError(limited, 'm1').message, classifyDuckDbError(limited, 'm1').cause]).toEqual(['m1', limited]);
      expect([classifyDuckDbError(refused, 'm2').message, classifyDuckDbError(refused, 'm2').cause]).toEqual(['m2', refused]);
    });

    it('real DuckDB errors: a value the type cannot hold is `data`, terminal; a missing table is terminal; both name the type DuckDB gave', async () => {
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      const raised = async (sql: string) =>
        c.run(sql).then(
          () => undefined,
          (e: unknown) => e,
        );
      try {
        expectClassified(classifyDuckDbError(await raised("SELECT 'não é número'::INTEGER"), 'm'), 'data', false);
        expectClassified(classifyDuckDbError(await raised('SELECT 300::TINYINT'), 'm'), 'data', false);
        expectClassified(classifyDuckDbError(await raised('SELECT * FROM raw.missing_table'), 'm'), 'warehouse', false);
        expectClassified(classifyDuckDbError(await raised('SELEC 1'), 'm'), 'warehouse', false);
      } finally {
        c.closeSync();
      }
    });
  });

  it('ObjectExistsError names the key', () => {
    const e = new ObjectExistsError('runs/r/manifests/1.json');
    expect([e.name, e.message, e.key]).toEqual(['ObjectExistsError', 'object already exists: runs/r/manifests/1.json', 'runs/r/manifests/1.json']);
  });

  it('describeError: a PipelineError says its own class; anything else is the unclassified row', () => {
    expect(describeError(new TerminalError('bad', 'source_auth'))).toEqual({ errorClass: 'source_auth', transient: false, message: 'bad' });
    expect(describeError(new Error('boom'))).toEqual({ errorClass: UNCLASSIFIED.errorClass, transient: UNCLASSIFIED.transient, message: 'boom' });
    expect(describeError('text')).toEqual({ errorClass: UNCLASSIFIED.errorClass, transient: UNCLASSIFIED.transient, message: 'text' });
  });
});

/**
 * Written by hand from what operators and the pipeline's promises depend on (README "What can go
 * wrong", docs/failures.md), NOT from the table: a wrong row fails here even though it agrees with
 * itself above.
 */
describe('the guarantees users depend on (independent of the table)', () => {
  const source: [code: string, errorClass: ErrorClass, transient: boolean][] = [
    ['53300', 'source_unreachable', true], // too many connections: the server is full now, not tomorrow
    ['53200', 'source_unreachable', true], // out of memory
    ['53100', 'source_unreachable', true], // disk full
    ['57P01', 'source_unreachable', true], // a DBA terminated the backend
    ['57P03', 'source_unreachable', true], // the server is starting up
    ['08006', 'source_unreachable', true],
    ['40001', 'source_unreachable', true],
    ['57014', 'source_timeout', true],
    ['55P03', 'source_timeout', true],
    ['28P01', 'source_auth', false], // wrong password: one delivery, dead-lettered
    ['28000', 'source_auth', false],
    ['3D000', 'source_auth', false],
    ['42P01', 'source_schema', false], // undefined table: drift
    ['42703', 'source_schema', false], // undefined column: drift
  ];
  it.each(source)('PostgreSQL %s → %s, transient=%s', (code, errorClass, transient) => {
    expectClassified(classifySourceError(pgError(code)), errorClass, transient);
  });
  it("42501 when connecting (another municipality's database) is source_auth, terminal", () => {
    expectClassified(classifySourceError(pgError('42501'), 'connect'), 'source_auth', false);
  });

  const google: [err: unknown, errorClass: ErrorClass, transient: boolean][] = [
    [apiError(403, 'rateLimitExceeded'), 'rate_limited', true],
    [apiError(403, 'quotaExceeded'), 'rate_limited', true],
    [apiError(400, 'jobRateLimitExceeded'), 'rate_limited', true],
    [apiError(429), 'rate_limited', true],
    [grpcError(8), 'rate_limited', true],
    [apiError(500, 'backendError'), 'warehouse', true],
    [apiError(503), 'warehouse', true],
    [grpcError(14), 'warehouse', true],
    [apiError(403, 'accessDenied'), 'warehouse', false], // same 403 as a rate limit: the reason decides
    [apiError(404, 'notFound'), 'warehouse', false],
    [apiError(400, 'invalid'), 'warehouse', false],
    [grpcError(7), 'warehouse', false],
    [grpcError(5), 'warehouse', false],
    [socketError('ECONNRESET'), 'warehouse', true],
  ];
  it.each(google.map(([e, c, t]) => [(e as Error).message, c, t, e] as const))('Google API "%s" → %s, transient=%s', (_m, errorClass, transient, err) => {
    expectClassified(gcpError(err, 'warehouse', 'op'), errorClass, transient);
  });

  it('DuckDB: a conversion error is data, terminal; an unknown failure is retried', () => {
    expectClassified(classifyDuckDbError(new Error('Conversion Error: Could not convert string'), 'm'), 'data', false);
    expectClassified(classifyDuckDbError(new Error('IO Error: disk'), 'm'), 'warehouse', true);
    expectClassified(classifyDuckDbError(new Error('weird'), 'm'), 'warehouse', true);
  });
});
