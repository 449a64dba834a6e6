import { z } from 'zod';
import { ConfigError, DEFAULT_LOOKBACK_DAYS, ENV, ExtractSettingsSchema, parseConfig, type EnvKey } from '../../contracts/config';
import { FUNCTIONS, type FunctionKey } from '../../contracts/functions';
import { ALERT_DEFAULTS } from '../../ledger/alerts';

/**
 * One configuration schema per cloud function. Each schema's keys are exactly FUNCTIONS[x].env
 * (a unit test holds them together), so infra-cdktf, which sets each function's environment from
 * FUNCTIONS and ENV, can never set a variable a function ignores or miss one it needs.
 *
 * Variables without a default are required: infra always sets them, and a function that starts
 * without one fails at cold start with every missing name in one error (see parseConfig).
 */

const projectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id (6–30 characters: a-z, 0-9, "-")');
/** Names the deployment in logs and metrics (e.g. "prod", "staging", "dev-maria"). */
const environment = z.string().regex(/^[a-z][a-z0-9-]{0,29}$/, 'must be 1–30 characters: a-z, 0-9, "-", starting with a letter');
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
const bucket = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, 'must be a Cloud Storage bucket name (no gs:// prefix)');
/** Relative paths are resolved against the function's working directory: the bundle root in Cloud Run functions. */
const registryFile = z.string().min(1).default('municipalities.yaml');
// Topic ids may hold letters, digits and -_.~+%; the base names start with a letter, so any prefix is safe.
const topicPrefix = z
  .string()
  .regex(/^[A-Za-z0-9._~+%-]{0,100}$/, 'may only contain letters, digits and - _ . ~ + %')
  .default('');
const dataset = z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, 'must be a BigQuery dataset id (letters, digits, "_")');
/** Every resource stays in São Paulo (LGPD): see README "Regions". */
const bqLocation = z.string().min(2).default('southamerica-east1');
const secretId = z.string().regex(/^[a-zA-Z0-9_-]{1,255}$/, 'must be a Secret Manager secret id');

const common = { projectId, environment, logLevel };

export const FanOutConfig = z.strictObject({
  ...common,
  stagingBucket: bucket,
  registryFile,
  topicPrefix,
  lookbackDays: z.coerce.number().int().min(1).max(3660).default(DEFAULT_LOOKBACK_DAYS),
});
export type FanOutConfig = z.infer<typeof FanOutConfig>;

const extractSettings = ExtractSettingsSchema.shape;
export const ExtractConfig = z.strictObject({
  ...common,
  stagingBucket: bucket,
  registryFile,
  topicPrefix,
  pseudonymKeySecret: secretId,
  statementTimeoutMs: extractSettings.statementTimeoutMs,
  lockTimeoutMs: extractSettings.lockTimeoutMs,
  connectTimeoutMs: extractSettings.connectTimeoutMs,
  idleInTransactionTimeoutMs: extractSettings.idleInTransactionTimeoutMs,
  partMaxBytes: extractSettings.partMaxBytes,
  gzipLevel: extractSettings.gzipLevel,
  timeBudgetMs: extractSettings.timeBudgetMs,
});
export type ExtractConfig = z.infer<typeof ExtractConfig>;

export const LoadConfig = z.strictObject({
  ...common,
  stagingBucket: bucket,
  topicPrefix,
  bqLocation,
  rawDataset: dataset.default('raw'),
  opsDataset: dataset.default('ops'),
});
export type LoadConfig = z.infer<typeof LoadConfig>;

export const RunStatusConfig = z.strictObject({
  ...common,
  stagingBucket: bucket,
  registryFile,
});
export type RunStatusConfig = z.infer<typeof RunStatusConfig>;

export const RunReportConfig = z.strictObject({
  ...common,
  stagingBucket: bucket,
  bqLocation,
  opsDataset: dataset.default('ops'),
  /** The `stale_source` alert threshold (shared/ledger/alerts.ts); the same default as the local run. */
  staleSourceHours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(ALERT_DEFAULTS.staleSourceHours),
});
export type RunReportConfig = z.infer<typeof RunReportConfig>;

export const FUNCTION_CONFIGS = {
  fanOut: FanOutConfig,
  extract: ExtractConfig,
  load: LoadConfig,
  runStatus: RunStatusConfig,
  runReport: RunReportConfig,
} as const satisfies Record<FunctionKey, z.ZodObject>;

export type FunctionConfig<K extends FunctionKey> = z.infer<(typeof FUNCTION_CONFIGS)[K]>;

/**
 * Parse function `key`'s configuration from `env` (process.env at cold start; a plain object in
 * tests). Throws ConfigError naming every missing or invalid variable by its environment name.
 */
export function loadFunctionConfig<K extends FunctionKey>(key: K, env: Record<string, string | undefined>): FunctionConfig<K> {
  return parseConfig(FUNCTION_CONFIGS[key], FUNCTIONS[key].env as readonly EnvKey[], env) as FunctionConfig<K>;
}

/** The environment variable names a function reads, e.g. for a deployment checklist or infra. */
export function envNamesOf(key: FunctionKey): string[] {
  return FUNCTIONS[key].env.map((k) => ENV[k]);
}

/**
 * Local endpoints for Google's clients: emulators and API doubles (test/emulator, test/contract).
 * infra-cdktf never sets these, so in the cloud every client talks to Google. The Pub/Sub, Cloud
 * Storage and BigQuery clients read their variable themselves (these are their own names); Secret
 * Manager's client has none, so SecretManagerSecrets' client is built from ours
 * (secretManagerClientOptions). Checked at cold start so a typo fails loudly instead of silently
 * reaching Google.
 */
export const ENDPOINT_ENV = {
  /** host:port of a Pub/Sub emulator (plaintext gRPC), e.g. 127.0.0.1:8681. */
  pubsub: 'PUBSUB_EMULATOR_HOST',
  /** http://host:port[/storage/v1] of a Cloud Storage JSON API endpoint. */
  storage: 'STORAGE_EMULATOR_HOST',
  /** http://host:port/bigquery/v2 of a BigQuery REST endpoint (the client uses it as its base URL). */
  bigquery: 'BIGQUERY_EMULATOR_HOST',
  /** host:port of a Secret Manager gRPC endpoint (plaintext). */
  secretManager: 'SECRET_MANAGER_EMULATOR_HOST',
} as const;
export type EndpointKey = keyof typeof ENDPOINT_ENV;

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port (no scheme)');
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an http(s):// URL');
const LocalEndpoints = z.strictObject({
  pubsub: hostPort.optional(),
  storage: httpUrl.optional(),
  bigquery: httpUrl.regex(/\/bigquery\/v2\/?$/, 'must end with /bigquery/v2 (the client uses it as its base URL)').optional(),
  secretManager: hostPort.optional(),
});
export type LocalEndpoints = z.infer<typeof LocalEndpoints>;

/** The local endpoints set in `env` (none in the cloud); ConfigError names each malformed variable. */
export function localEndpoints(env: Record<string, string | undefined>): LocalEndpoints {
  const input: Record<string, string> = {};
  for (const [k, name] of Object.entries(ENDPOINT_ENV)) if (env[name]) input[k] = env[name]!;
  const r = LocalEndpoints.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(r.error.issues.map((i) => `${ENDPOINT_ENV[String(i.path[0]) as EndpointKey] ?? String(i.path[0])}: ${i.message}`));
}

/**
 * Options for the BigQuery client. With BIGQUERY_EMULATOR_HOST set, the client sends its requests
 * there but would still ask google-auth-library for Google credentials (its base class skips auth
 * only for clients that declare a custom endpoint, which BigQuery's does not): without credentials
 * that fails, with them a real token would go to a local server. A local endpoint gets requests
 * without credentials instead.
 */
export function bigQueryClientOptions(endpoints: LocalEndpoints, projectId: string): { apiEndpoint?: string; authClient?: never } {
  if (!endpoints.bigquery) return {};
  const noCredentials = { getRequestHeaders: async () => new Headers(), getProjectId: async () => projectId };
  return { apiEndpoint: new URL(endpoints.bigquery).origin, authClient: noCredentials as never };
}
