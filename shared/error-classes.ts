import type { ErrorClass } from './errors';

/**
 * THE error classification: every signal a dependency gives us (a PostgreSQL SQLSTATE, a Node.js
 * socket code, a Google API reason, a gRPC status, an HTTP status, a DuckDB error type) → error
 * class and retry decision. It is data, not code, so that the classifiers (classifySourceError in
 * shared/errors.ts, classifyGcp/gcpError in shared/adapters/gcp/errors.ts, classifyDuckDbError),
 * the failure table in docs/failures.md (rendered from these rows, test/unit/errors-doc.test.ts)
 * and the row-by-row test (test/unit/errors-table.test.ts) all read the same rows. Changing a
 * decision here changes the code, the docs and the expectations together — which is the point:
 * the row-by-row test compares the classifiers with the table, and the fault tests
 * (test/faults/real-errors.test.ts) raise the real errors and pin the decisions users rely on.
 *
 * `transient` = redelivery may succeed (the handler rethrows, Pub/Sub redelivers with backoff);
 * terminal = no retry can succeed without a human (dead-lettered at once).
 */
export interface Rule {
  errorClass: ErrorClass;
  transient: boolean;
  /** Why this decision, for the docs table. */
  why: string;
}

/** The class the calling adapter names (`storage`, `warehouse`, `config`): the service that refused. */
export const CALLER = 'caller' as const;
export interface GcpRule {
  errorClass: ErrorClass | typeof CALLER;
  transient: boolean;
  why: string;
}

/**
 * Node.js socket and stream codes: the other end is not there (now). Transient everywhere; the
 * class is `source_unreachable` for the PostgreSQL source and the calling adapter's for Google APIs.
 */
export const NODE_SOCKET_CODES: readonly { code: string; why: string }[] = [
  { code: 'ECONNREFUSED', why: 'nothing listens (server down, VPN down)' },
  { code: 'ECONNRESET', why: 'the peer or a middlebox dropped the connection' },
  { code: 'ETIMEDOUT', why: 'no answer in time' },
  { code: 'EPIPE', why: 'wrote to a connection the peer closed' },
  { code: 'EHOSTUNREACH', why: 'no route to the host (tunnel down)' },
  { code: 'ENETUNREACH', why: 'no route to the network' },
  { code: 'EAI_AGAIN', why: 'DNS temporarily failed' },
  { code: 'ENOTFOUND', why: 'DNS has no answer now (private zone or VPN DNS down)' },
  { code: 'ESOCKETTIMEDOUT', why: 'socket idle too long' },
  { code: 'ECONNABORTED', why: 'the connection was aborted' },
  { code: 'ERR_STREAM_PREMATURE_CLOSE', why: 'a response stream ended early' },
];

/**
 * Errors the `pg` client raises itself, without a SQLSTATE: its message is all there is. Matched
 * by exact phrases of pg 8 (connectionTimeoutMillis; socket closed under a query).
 */
export const PG_CLIENT_MESSAGES: readonly (Rule & { pattern: RegExp; example: string })[] = [
  { pattern: /timeout expired/i, example: 'timeout expired', errorClass: 'source_unreachable', transient: true, why: 'no connection within EXTRACT_CONNECT_TIMEOUT_MS' },
  {
    pattern: /Connection terminated/i,
    example: 'Connection terminated unexpectedly',
    errorClass: 'source_unreachable',
    transient: true,
    why: 'the socket closed under a query (network cut)',
  },
];

/**
 * PostgreSQL SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html): a full
 * 5-character code, a 3-character prefix (57P) or a 2-character class. The most specific match
 * wins; a rule with `phase: 'connect'` applies only to errors of the connection attempt.
 */
export const SQLSTATE_RULES: readonly (Rule & { sqlstate: string; name: string; phase?: 'connect' })[] = [
  { sqlstate: '08', name: 'connection exception', errorClass: 'source_unreachable', transient: true, why: 'the connection failed or broke' },
  { sqlstate: '28', name: 'invalid authorization (e.g. 28P01 wrong password)', errorClass: 'source_auth', transient: false, why: 'the credentials are refused: fix the secret' },
  { sqlstate: '3D000', name: 'invalid catalog name (database missing)', errorClass: 'source_auth', transient: false, why: 'the registry entry names a database that is not there' },
  { sqlstate: '40001', name: 'serialization failure', errorClass: 'source_unreachable', transient: true, why: 'a new snapshot will do' },
  { sqlstate: '40P01', name: 'deadlock detected', errorClass: 'source_unreachable', transient: true, why: 'a new attempt will do' },
  {
    sqlstate: '42',
    name: 'syntax error or access rule violation',
    errorClass: 'source_schema',
    transient: false,
    why: 'the PEC schema differs from the registry (undefined table/column) or a table is not granted',
  },
  {
    sqlstate: '42501',
    phase: 'connect',
    name: 'insufficient privilege, at connection',
    errorClass: 'source_auth',
    transient: false,
    why: 'this role may not CONNECT to this database: credentials, not schema drift',
  },
  {
    sqlstate: '53',
    name: 'insufficient resources (53300 too many connections, 53200 out of memory)',
    errorClass: 'source_unreachable',
    transient: true,
    why: 'the server is full now, not tomorrow',
  },
  { sqlstate: '55P03', name: 'lock not available (lock_timeout)', errorClass: 'source_timeout', transient: true, why: 'a PEC migration or the nightly DW job holds a lock' },
  { sqlstate: '57014', name: 'query canceled (statement_timeout)', errorClass: 'source_timeout', transient: true, why: 'the server may be less busy later' },
  {
    sqlstate: '57P',
    name: 'operator intervention (57P01 terminated, 57P02 crash, 57P03 starting up)',
    errorClass: 'source_unreachable',
    transient: true,
    why: 'the server restarts or a DBA ended the backend',
  },
];

/** Any other source error (a SQLSTATE not above, or none). */
export const SOURCE_FALLBACK: Rule = { errorClass: 'source_error', transient: true, why: 'unknown: retried; repeated failures reach the dead letters after maxDeliveryAttempts' };

/**
 * BigQuery `errors[].reason` (https://cloud.google.com/bigquery/docs/error-messages). The reason
 * decides before the HTTP status: BigQuery answers 403 both for `rateLimitExceeded` (retry) and
 * `accessDenied` (do not).
 */
export const BIGQUERY_REASONS: readonly (GcpRule & { reason: string })[] = [
  { reason: 'backendError', errorClass: CALLER, transient: true, why: 'BigQuery had a transient server error' },
  { reason: 'internalError', errorClass: CALLER, transient: true, why: 'BigQuery had a transient server error' },
  { reason: 'jobBackendError', errorClass: CALLER, transient: true, why: 'the job failed on a transient server error' },
  { reason: 'jobInternalError', errorClass: CALLER, transient: true, why: 'the job failed on a transient server error' },
  { reason: 'rateLimitExceeded', errorClass: 'rate_limited', transient: true, why: 'a short-term rate limit (e.g. table updates per 10 s)' },
  { reason: 'jobRateLimitExceeded', errorClass: 'rate_limited', transient: true, why: 'too many concurrent jobs on a table' },
  {
    reason: 'quotaExceeded',
    errorClass: 'rate_limited',
    transient: true,
    why: 'usually a short-lived limit (concurrent queries); the daily table-modification quota is kept far away by design',
  },
  { reason: 'tableUnavailable', errorClass: CALLER, transient: true, why: 'the table is temporarily unavailable' },
  { reason: 'resourceInUse', errorClass: CALLER, transient: true, why: 'another operation holds the resource' },
  { reason: 'timeout', errorClass: CALLER, transient: true, why: 'the request timed out' },
  { reason: 'invalid', errorClass: CALLER, transient: false, why: 'the request or a loaded value is invalid' },
  { reason: 'invalidQuery', errorClass: CALLER, transient: false, why: 'the SQL is invalid' },
  { reason: 'notFound', errorClass: CALLER, transient: false, why: 'a dataset, table or job is missing' },
  { reason: 'accessDenied', errorClass: CALLER, transient: false, why: 'the service account lacks a role' },
  { reason: 'duplicate', errorClass: CALLER, transient: false, why: 'the resource exists (a job id is handled before classification)' },
  { reason: 'billingNotEnabled', errorClass: CALLER, transient: false, why: 'the project has no billing' },
  { reason: 'billingTierLimitExceeded', errorClass: CALLER, transient: false, why: 'the query needs a higher billing tier' },
  { reason: 'blocked', errorClass: CALLER, transient: false, why: 'the request is blocked by policy' },
  { reason: 'responseTooLarge', errorClass: CALLER, transient: false, why: 'the result is too large: the query must change' },
  { reason: 'resourcesExceeded', errorClass: CALLER, transient: false, why: 'the query uses too many resources: the query must change' },
  { reason: 'stopped', errorClass: CALLER, transient: false, why: 'the job was cancelled' },
  { reason: 'notImplemented', errorClass: CALLER, transient: false, why: 'not supported' },
];

/** gRPC status codes (Pub/Sub, Secret Manager): https://grpc.io/docs/guides/status-codes/ */
export const GRPC_CODES: readonly (GcpRule & { code: number; name: string })[] = [
  { code: 1, name: 'CANCELLED', errorClass: CALLER, transient: true, why: 'the call was cancelled on the way' },
  { code: 2, name: 'UNKNOWN', errorClass: CALLER, transient: true, why: 'unknown server error' },
  { code: 3, name: 'INVALID_ARGUMENT', errorClass: CALLER, transient: false, why: 'the request is invalid' },
  { code: 4, name: 'DEADLINE_EXCEEDED', errorClass: CALLER, transient: true, why: 'no answer within the deadline' },
  { code: 5, name: 'NOT_FOUND', errorClass: CALLER, transient: false, why: 'topic or secret missing' },
  { code: 6, name: 'ALREADY_EXISTS', errorClass: CALLER, transient: false, why: 'the resource exists' },
  { code: 7, name: 'PERMISSION_DENIED', errorClass: CALLER, transient: false, why: 'the service account lacks a role' },
  { code: 8, name: 'RESOURCE_EXHAUSTED', errorClass: 'rate_limited', transient: true, why: 'quota or rate limit' },
  { code: 9, name: 'FAILED_PRECONDITION', errorClass: CALLER, transient: false, why: 'the system is not in a state for this call (e.g. a disabled secret version)' },
  { code: 10, name: 'ABORTED', errorClass: CALLER, transient: true, why: 'concurrency conflict' },
  { code: 11, name: 'OUT_OF_RANGE', errorClass: CALLER, transient: false, why: 'out of range' },
  { code: 12, name: 'UNIMPLEMENTED', errorClass: CALLER, transient: false, why: 'not supported' },
  { code: 13, name: 'INTERNAL', errorClass: CALLER, transient: true, why: 'server error' },
  { code: 14, name: 'UNAVAILABLE', errorClass: CALLER, transient: true, why: 'the service is unavailable now' },
  { code: 15, name: 'DATA_LOSS', errorClass: CALLER, transient: true, why: 'unrecoverable on the server side, but a new call may reach a healthy replica' },
  { code: 16, name: 'UNAUTHENTICATED', errorClass: CALLER, transient: false, why: 'no valid credentials' },
];

/** HTTP statuses of REST APIs (BigQuery, Cloud Storage) when no BigQuery reason decided: exact codes, then `4xx` / `5xx`. */
export const HTTP_STATUSES: readonly (GcpRule & { status: string })[] = [
  { status: '408', errorClass: CALLER, transient: true, why: 'request timeout' },
  { status: '429', errorClass: 'rate_limited', transient: true, why: 'too many requests' },
  { status: '4xx', errorClass: CALLER, transient: false, why: 'the request is refused (400 bad request, 401/403 denied, 404 missing, 409/412 conflict)' },
  { status: '5xx', errorClass: CALLER, transient: true, why: 'server error' },
];

/** A Google client error none of the rows above decides. */
export const GCP_FALLBACK: GcpRule = { errorClass: CALLER, transient: true, why: 'unclassified: retried; repeated failures reach the dead letters' };

/**
 * DuckDB (the local warehouse) error types. @duckdb/node-api throws a plain Error whose message
 * starts with "<Type> Error: "; that type (from DuckDB's ExceptionType) is the only structured
 * signal it gives, so it is what we match, never the rest of the text.
 */
export const DUCKDB_ERROR_TYPES: readonly (Rule & { type: string })[] = [
  { type: 'Conversion', errorClass: 'data', transient: false, why: 'a value the column type cannot hold: the same file fails every time' },
  { type: 'Out of Range', errorClass: 'data', transient: false, why: 'a value outside the column type' },
  { type: 'Invalid Input', errorClass: 'data', transient: false, why: 'a staged file DuckDB cannot parse' },
  { type: 'Constraint', errorClass: 'data', transient: false, why: 'the data breaks a constraint: the same rows fail every time' },
  { type: 'Catalog', errorClass: 'warehouse', transient: false, why: 'a table or schema is missing or differs: a deploy or migration problem' },
  { type: 'Binder', errorClass: 'warehouse', transient: false, why: 'the SQL does not fit the tables: a code or schema problem' },
  { type: 'Parser', errorClass: 'warehouse', transient: false, why: 'invalid SQL: a code problem' },
  { type: 'IO', errorClass: 'warehouse', transient: true, why: 'a file could not be read or written now' },
  { type: 'Transaction', errorClass: 'warehouse', transient: true, why: 'a write conflict with another transaction' },
  { type: 'TransactionContext', errorClass: 'warehouse', transient: true, why: 'a write conflict with another transaction' },
];

/** Any other DuckDB failure (out of memory, an interrupt, …). */
export const DUCKDB_FALLBACK: Rule = { errorClass: 'warehouse', transient: true, why: 'unknown: retried (the load is one transaction, rolled back)' };

/** An error no layer classified, as the handler wrapper sees it (describeError). */
export const UNCLASSIFIED: Rule = { errorClass: 'internal', transient: true, why: 'a bug or an unexpected failure: retried, then dead-lettered after maxDeliveryAttempts' };

// ---- Lookups: the classifiers call these; they hold no decisions of their own. ----

const NODE_CODES = new Set<unknown>(NODE_SOCKET_CODES.map((r) => r.code));
export function isNodeSocketCode(code: unknown): boolean {
  return NODE_CODES.has(code);
}

/** What a Node socket code means for the PostgreSQL source. */
export const SOURCE_SOCKET: Rule = { errorClass: 'source_unreachable', transient: true, why: 'the source did not answer (see the socket codes)' };

/** The most specific SQLSTATE rule for `code`: the code itself, its 3-character prefix, its class (phase-specific rules only in their phase). */
export function sqlStateRule(code: string, phase?: 'connect'): (typeof SQLSTATE_RULES)[number] | undefined {
  for (const key of [code, code.slice(0, 3), code.slice(0, 2)]) {
    const rule = SQLSTATE_RULES.find((r) => r.sqlstate === key && (!r.phase || r.phase === phase));
    if (rule) return rule;
  }
  return undefined;
}

export function pgClientMessageRule(message: string): (typeof PG_CLIENT_MESSAGES)[number] | undefined {
  return PG_CLIENT_MESSAGES.find((r) => r.pattern.test(message));
}

export function bigQueryReasonRule(reason: string | undefined): (typeof BIGQUERY_REASONS)[number] | undefined {
  return BIGQUERY_REASONS.find((r) => r.reason === reason);
}

export function grpcRule(code: number | undefined): (typeof GRPC_CODES)[number] | undefined {
  return GRPC_CODES.find((r) => r.code === code);
}

export function httpRule(status: number | undefined): (typeof HTTP_STATUSES)[number] | undefined {
  const range = `${Math.floor((status ?? 0) / 100)}xx`;
  return HTTP_STATUSES.find((r) => r.status === String(status)) ?? HTTP_STATUSES.find((r) => r.status === range);
}

/** The DuckDB error type a message starts with ("Conversion Error: …" → "Conversion"), if any. */
export function duckDbErrorType(message: string): string | undefined {
  return /^([A-Za-z][A-Za-z ]*?) Error: /.exec(message)?.[1];
}

export function duckDbRule(message: string): Rule {
  const type = duckDbErrorType(message);
  return DUCKDB_ERROR_TYPES.find((r) => r.type === type) ?? DUCKDB_FALLBACK;
}

// ---- The docs table (docs/failures.md, between the GENERATED markers). ----

export const GENERATED_BEGIN = '<!-- BEGIN GENERATED: error classification (shared/error-classes.ts; regenerate with `npm run docs:failures`) -->';
export const GENERATED_END = '<!-- END GENERATED: error classification -->';

const decision = (transient: boolean) => (transient ? 'transient' : '**terminal**');
const cls = (c: string) => (c === CALLER ? "adapter's" : `\`${c}\``);

/** The generated Markdown section, markers included. */
export function renderClassificationMarkdown(): string {
  const out: string[] = [GENERATED_BEGIN, ''];
  const table = (title: string, intro: string, head: string, rows: string[][]) => {
    out.push(`#### ${title}`, '', intro, '', `| ${head} | class | decision | why |`, '|---|---|---|---|');
    // No cell holds a `|` or a line break (errors-doc.test.ts checks the rows), so cells go in as they are.
    for (const r of rows) out.push(`| ${r.join(' | ')} |`);
    out.push('');
  };
  table(
    'PostgreSQL source (`classifySourceError`)',
    'By SQLSTATE, the most specific match winning (a full code over its class); `pg` client errors without a SQLSTATE by their exact phrase.',
    'signal',
    [
      ...NODE_SOCKET_CODES.map((r) => [`socket \`${r.code}\``, cls(SOURCE_SOCKET.errorClass), decision(SOURCE_SOCKET.transient), r.why]),
      ...PG_CLIENT_MESSAGES.map((r) => [`pg client: "${r.example}"`, cls(r.errorClass), decision(r.transient), r.why]),
      // SQLSTATE_RULES is kept in code order (errors-doc.test.ts checks it).
      ...SQLSTATE_RULES.map((r) => [
        `SQLSTATE \`${`${r.sqlstate}xxx`.slice(0, 5)}\`${r.phase ? ' at connection' : ''} — ${r.name}`,
        cls(r.errorClass),
        decision(r.transient),
        r.why,
      ]),
      ['any other SQLSTATE, or none', cls(SOURCE_FALLBACK.errorClass), decision(SOURCE_FALLBACK.transient), SOURCE_FALLBACK.why],
    ],
  );
  table(
    'Google Cloud APIs (`classifyGcp` / `gcpError`)',
    'First the BigQuery reason, then the gRPC status, then the HTTP status, then the socket code. "adapter\'s": the class the calling adapter names (`storage`, `warehouse`, `config`), so the dead letter says which service refused.',
    'signal',
    [
      ...BIGQUERY_REASONS.map((r) => [`BigQuery reason \`${r.reason}\``, cls(r.errorClass), decision(r.transient), r.why]),
      ...GRPC_CODES.map((r) => [`gRPC ${r.code} \`${r.name}\``, cls(r.errorClass), decision(r.transient), r.why]),
      ...HTTP_STATUSES.map((r) => [`HTTP ${r.status}`, cls(r.errorClass), decision(r.transient), r.why]),
      [`socket ${NODE_SOCKET_CODES.map((r) => `\`${r.code}\``).join(', ')}`, cls(CALLER), decision(true), 'the service did not answer'],
      ['anything else', cls(GCP_FALLBACK.errorClass), decision(GCP_FALLBACK.transient), GCP_FALLBACK.why],
    ],
  );
  table('DuckDB, the local warehouse (`classifyDuckDbError`)', 'By the error type DuckDB puts before "Error:".', 'signal', [
    ...DUCKDB_ERROR_TYPES.map((r) => [`\`${r.type} Error\``, cls(r.errorClass), decision(r.transient), r.why]),
    ['any other', cls(DUCKDB_FALLBACK.errorClass), decision(DUCKDB_FALLBACK.transient), DUCKDB_FALLBACK.why],
  ]);
  table('Anything else (`describeError`)', 'An error that reaches the handler wrapper unclassified.', 'signal', [
    ['not a PipelineError', cls(UNCLASSIFIED.errorClass), decision(UNCLASSIFIED.transient), UNCLASSIFIED.why],
  ]);
  out.push(GENERATED_END);
  return out.join('\n');
}

/** `doc` with its generated section replaced (or appended when it has none yet). */
export function withGeneratedSection(doc: string): string {
  const begin = doc.indexOf(GENERATED_BEGIN);
  const end = doc.indexOf(GENERATED_END);
  const section = renderClassificationMarkdown();
  if (begin < 0 || end < begin) return `${doc.replace(/\n*$/, '\n\n')}${section}\n`;
  return doc.slice(0, begin) + section + doc.slice(end + GENERATED_END.length);
}
