import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { CRC32C } from '@google-cloud/storage';
import type { PasswordSource } from '../../contracts/municipalities';
import { TerminalError, TransientError } from '../../errors';
import type { Clock, Secrets } from '../../ports';
import { systemClock } from '../../ports';
import { gcpError } from './errors';

/** The one call this adapter makes; SecretManagerServiceClient satisfies it. */
export interface SecretAccessor {
  accessSecretVersion(
    request: { name: string },
    options?: { timeout?: number; maxRetries?: number },
  ): Promise<[{ payload?: { data?: Uint8Array | string | null; dataCrc32c?: number | string | { toString(): string } | null } | null }, ...unknown[]]>;
}

export interface SecretManagerSecretsOptions {
  projectId: string;
  /** Secret id of the pseudonymisation key (base64 of ≥ 32 random bytes). */
  pseudonymKeySecret: string;
  /**
   * How long a value is reused. Per instance and short: a rotated password reaches running
   * instances within this time without a redeploy, while a burst of extracts costs one access.
   */
  ttlMs?: number;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
}

const DEFAULT_TTL_MS = 10 * 60_000;
// The client's own retry policy for this call allows up to 10 minutes, longer than an extract may
// run (540 s): a few quick retries, then the message is redelivered with Pub/Sub's backoff.
const CALL_OPTIONS = { timeout: 20_000, maxRetries: 3 };

/**
 * Secrets from Secret Manager: `{secret: id}` reads projects/<p>/secrets/<id>/versions/latest, the
 * pseudonymisation key comes from PSEUDONYM_KEY_SECRET, `{env: NAME}` reads the function's
 * environment (e.g. a secret mounted as a variable). `{file}` sources are for local runs only.
 * Values are cached per instance (the in-flight promise too, so concurrent extracts make one call),
 * checked against the CRC32C Secret Manager sends, and never logged or put in error messages.
 */
export class SecretManagerSecrets implements Secrets {
  private readonly cache = new Map<string, { value: Promise<Buffer>; expires: number }>();
  private readonly ttlMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly clock: Clock;

  constructor(
    private readonly client: SecretAccessor,
    private readonly options: SecretManagerSecretsOptions,
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.env = options.env ?? process.env;
    this.clock = options.clock ?? systemClock;
  }

  async resolve(source: PasswordSource): Promise<string> {
    if ('env' in source) {
      const v = this.env[source.env];
      if (v === undefined || v === '') throw new TerminalError(`password environment variable ${source.env} is not set on this function`, 'config');
      return v;
    }
    if ('file' in source) throw new TerminalError('password sources of kind "file" are for local runs; use {secret: <id>} in the cloud registry', 'config');
    return (await this.access(source.secret)).toString('utf8');
  }

  async pseudonymKey(): Promise<Buffer> {
    const raw = (await this.access(this.options.pseudonymKeySecret)).toString('utf8').trim();
    const key = Buffer.from(raw, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw) || key.length < 32)
      throw new TerminalError(`secret ${this.options.pseudonymKeySecret} must hold at least 32 bytes, base64-encoded`, 'config');
    return key;
  }

  private access(secretId: string): Promise<Buffer> {
    const now = this.clock.now().getTime();
    const hit = this.cache.get(secretId);
    if (hit && hit.expires > now) return hit.value;
    const value = this.fetch(secretId);
    this.cache.set(secretId, { value, expires: now + this.ttlMs });
    // A failed access must not be served from the cache to the next message.
    value.catch(() => {
      if (this.cache.get(secretId)?.value === value) this.cache.delete(secretId);
    });
    return value;
  }

  private async fetch(secretId: string): Promise<Buffer> {
    const name = `projects/${this.options.projectId}/secrets/${secretId}/versions/latest`;
    let response;
    try {
      [response] = await this.client.accessSecretVersion({ name }, CALL_OPTIONS);
    } catch (err) {
      // Names the secret, never its value. NOT_FOUND / PERMISSION_DENIED are deployment problems.
      throw gcpError(err, 'config', `access to secret ${secretId}`);
    }
    const data = response.payload?.data;
    if (data === undefined || data === null) throw new TerminalError(`secret ${secretId} has no payload`, 'config');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    const expected = response.payload?.dataCrc32c;
    if (expected !== undefined && expected !== null) {
      const crc = new CRC32C();
      crc.update(bytes);
      if (BigInt(crc.valueOf() >>> 0) !== BigInt(expected.toString())) throw new TransientError(`secret ${secretId} arrived corrupted (CRC32C mismatch)`, 'config');
    }
    return bytes;
  }
}

/**
 * Options for SecretManagerServiceClient: none in the cloud; for a local gRPC endpoint (host:port
 * from SECRET_MANAGER_EMULATOR_HOST, see ENDPOINT_ENV) a plaintext channel to it, as the Pub/Sub
 * client does for PUBSUB_EMULATOR_HOST. With explicit channel credentials the client asks for no
 * Google credentials, so nothing reaches Google or the metadata server.
 */
export function secretManagerClientOptions(hostPort: string | undefined): { apiEndpoint?: string; port?: number; sslCreds?: ChannelCredentials } {
  if (!hostPort) return {};
  const colon = hostPort.lastIndexOf(':');
  return { apiEndpoint: hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(hostPort.slice(colon + 1)), sslCreds: credentials.createInsecure() };
}
