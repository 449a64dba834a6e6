import { z } from 'zod';

/**
 * Environment variable names and per-function configuration schemas. The functions parse their
 * configuration once at cold start with `parseConfig`; infra-cdktf imports the same names to set
 * each function's environment, and a test checks that the two agree.
 */
export const ENV = {
  projectId: 'GOOGLE_CLOUD_PROJECT',
  region: 'PIPELINE_REGION',
  environment: 'PIPELINE_ENV',
  stagingBucket: 'STAGING_BUCKET',
  /** Path of the municipality registry file shipped inside the function bundle. */
  registryFile: 'MUNICIPALITY_REGISTRY_FILE',
  /** Secret Manager secret id holding the pseudonymisation key (base64, ≥ 32 bytes). */
  pseudonymKeySecret: 'PSEUDONYM_KEY_SECRET',
  topicPrefix: 'TOPIC_PREFIX',
  bqLocation: 'BQ_LOCATION',
  rawDataset: 'BQ_RAW_DATASET',
  opsDataset: 'BQ_OPS_DATASET',
  martsDataset: 'BQ_MARTS_DATASET',
  statementTimeoutMs: 'EXTRACT_STATEMENT_TIMEOUT_MS',
  lockTimeoutMs: 'EXTRACT_LOCK_TIMEOUT_MS',
  connectTimeoutMs: 'EXTRACT_CONNECT_TIMEOUT_MS',
  idleInTransactionTimeoutMs: 'EXTRACT_IDLE_IN_TRANSACTION_TIMEOUT_MS',
  partMaxBytes: 'EXTRACT_PART_MAX_BYTES',
  gzipLevel: 'EXTRACT_GZIP_LEVEL',
  timeBudgetMs: 'EXTRACT_TIME_BUDGET_MS',
  lookbackDays: 'RUN_LOOKBACK_DAYS',
  /** Hours after which a source's PEC data warehouse counts as stale (alert `stale_source`). */
  staleSourceHours: 'STALE_SOURCE_HOURS',
  logLevel: 'LOG_LEVEL',
} as const;
export type EnvKey = keyof typeof ENV;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Extraction limits; the defaults are the production values, each with its reason. */
export const EXTRACT_DEFAULTS = {
  // A COPY of one month of a mid-size municipality's largest table takes well under a minute; ten
  // minutes only stops a runaway query on a struggling server. Each statement is also capped at what
  // its delivery has left before the function timeout (DELIVERY_STATEMENT_DEADLINE_MS).
  statementTimeoutMs: 600_000,
  // Never queue behind the PEC's own nightly DW job or a migration: give up fast and retry later.
  lockTimeoutMs: 5_000,
  // VPN paths to municipal servers can be slow to answer, but a dead path should fail the attempt.
  connectTimeoutMs: 15_000,
  // If this process dies mid-transaction the server frees the snapshot by itself.
  idleInTransactionTimeoutMs: 60_000,
  // ~128 MiB of CSV per part: ~15–25 MiB gzipped, well inside one BigQuery worker per file.
  partMaxBytes: 128 * 1024 * 1024,
  // Level 1 is ~3× faster than 6 for ~20 % more bytes: the network and CPU, not storage, are scarce.
  gzipLevel: 1,
  // Cloud Functions stop event handlers at 540 s: leave room to write the checkpoint and publish.
  timeBudgetMs: 420_000,
} as const;

export const ExtractSettingsSchema = z.strictObject({
  statementTimeoutMs: int(1_000, 3_600_000).default(EXTRACT_DEFAULTS.statementTimeoutMs),
  lockTimeoutMs: int(100, 600_000).default(EXTRACT_DEFAULTS.lockTimeoutMs),
  connectTimeoutMs: int(500, 120_000).default(EXTRACT_DEFAULTS.connectTimeoutMs),
  idleInTransactionTimeoutMs: int(1_000, 3_600_000).default(EXTRACT_DEFAULTS.idleInTransactionTimeoutMs),
  partMaxBytes: int(1024, 4 * 1024 ** 3).default(EXTRACT_DEFAULTS.partMaxBytes),
  gzipLevel: int(1, 9).default(EXTRACT_DEFAULTS.gzipLevel),
  timeBudgetMs: int(1, 3_600_000).default(EXTRACT_DEFAULTS.timeBudgetMs),
});

/** Daily window: re-extract this many days back, because a PEC administrator can reprocess old data. */
export const DEFAULT_LOOKBACK_DAYS = 35;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads `keys` from `env` (by their ENV names) into `schema`. One error names every missing or
 * invalid variable at once. Pure: tests pass a plain object.
 */
export function parseConfig<S extends z.ZodType>(schema: S, keys: readonly EnvKey[], env: Record<string, string | undefined>): z.infer<S> {
  const input: Record<string, string> = {};
  for (const k of keys) {
    const v = env[ENV[k]];
    if (v) input[k] = v; // unset and empty alike: not set
  }
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(
    r.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const name = key in ENV ? ENV[key as EnvKey] : key;
      return `${name}: ${input[key] === undefined ? 'is required but not set' : i.message}`;
    }),
  );
}

/**
 * What each variable means, for a person: the generated tables in docs/configuration.md and the
 * functions' READMEs (`npm run docs:generate`) read this, so the meaning is written once.
 */
export const ENV_HELP: Record<EnvKey, string> = {
  projectId: 'project of every resource; the trace project of log lines',
  region: 'region of the deployment (infra only; the functions do not read it)',
  environment: "deployment name (`prod`, `dev`) in logs, metrics and the source session's `application_name`",
  stagingBucket: 'the staging bucket, without `gs://`: plans, parts, manifests, failure and load records',
  registryFile: "municipality registry shipped in the bundle (infra copies the environment's in), read once at cold start",
  pseudonymKeySecret: 'Secret Manager secret id of the HMAC pseudonymisation key (base64, ≥ 32 bytes)',
  topicPrefix: 'prefix of every topic id (continuations, load requests, dead letters)',
  bqLocation: 'location of the datasets and of every job',
  rawDataset: 'dataset of the raw tables (one per registry table)',
  opsDataset: 'dataset of the slice ledger and staging tables (load) and of the run ledger (run-report)',
  martsDataset: 'dataset of the Power BI marts (read by the workflow)',
  statementTimeoutMs: 'stops a runaway query on a struggling municipal server',
  lockTimeoutMs: "never queue behind the PEC's nightly DW job or a migration",
  connectTimeoutMs: 'a dead network path fails the attempt instead of hanging',
  idleInTransactionTimeoutMs: 'the server frees the snapshot if the extractor dies mid-transaction',
  partMaxBytes: 'CSV bytes per staged part (~15–25 MiB gzipped: one BigQuery worker each)',
  gzipLevel: 'gzip level of the parts: 1 is ~3× faster than 6 for ~20 % more bytes',
  timeBudgetMs: 'after this no new table is started: checkpoint and continue in a new message (functions stop at 540 s)',
  lookbackDays: 'the daily window re-reads this many days: PEC administrators can reprocess old data',
  staleSourceHours: 'a PEC whose own DW was processed longer ago than this before the run raises `stale_source`',
  logLevel: 'pino log level',
};
