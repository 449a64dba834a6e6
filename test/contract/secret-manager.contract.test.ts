import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { CRC32C } from '@google-cloud/storage';
import { SecretManagerSecrets, secretManagerClientOptions } from '../../shared/adapters/gcp/secret-manager-secrets';
import { PipelineError, TerminalError } from '../../shared/errors';

/**
 * Contract: what the Secret Manager adapter asks through the real @google-cloud/secret-manager
 * client (gRPC), and how it treats the answers. The server below implements AccessSecretVersion
 * from Google's published service definition (the .proto files shipped with the client) over a
 * local insecure channel; it records each request and answers from a table of secrets.
 */
const PROJECT = 'test-project';
const PROTOS = path.dirname(require.resolve('@google-cloud/secret-manager/build/protos/protos.json'));
// The common Google protos (google/api, google/iam, …) come with the client's own google-gax.
const GAX_PROTOS = path.join(path.dirname(require.resolve('google-gax', { paths: [PROTOS] })), '..', 'protos');

interface Stored {
  data: Buffer;
  crc?: string;
  code?: grpc.status;
  /** Answer without a payload at all. */
  noPayload?: boolean;
}

describe('SecretManagerSecrets against the Secret Manager gRPC API (contract)', () => {
  let server: grpc.Server;
  let client: SecretManagerServiceClient;
  let port: number;
  const requests: string[] = [];
  const secrets = new Map<string, Stored>();
  const crcOf = (b: Buffer) => {
    const c = new CRC32C();
    c.update(b);
    return String(c.valueOf() >>> 0);
  };
  const put = (id: string, value: string | Buffer, extra: Partial<Stored> = {}) => {
    const data = Buffer.from(value);
    secrets.set(`projects/${PROJECT}/secrets/${id}/versions/latest`, { data, crc: crcOf(data), ...extra });
  };

  beforeAll(async () => {
    const def = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', { includeDirs: [PROTOS, GAX_PROTOS], keepCase: false, longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } } };
    server = new grpc.Server();
    server.addService(pkg.google.cloud.secretmanager.v1.SecretManagerService.service, {
      accessSecretVersion: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        requests.push(call.request.name);
        const s = secrets.get(call.request.name);
        if (!s) return cb({ code: grpc.status.NOT_FOUND, details: `Secret [${call.request.name}] not found or has no versions.` });
        if (s.code !== undefined) return cb({ code: s.code, details: 'injected' });
        if (s.noPayload) return cb(null, { name: call.request.name.replace('latest', '3') });
        cb(null, { name: call.request.name.replace('latest', '3'), payload: { data: s.data, ...(s.crc ? { dataCrc32c: s.crc } : {}) } });
      },
    });
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    client = new SecretManagerServiceClient({
      apiEndpoint: '127.0.0.1',
      port,
      sslCreds: grpc.credentials.createInsecure(),
      // The production policy retries UNAVAILABLE with backoff for minutes; here each failure surfaces at once.
      clientConfig: {
        interfaces: { 'google.cloud.secretmanager.v1.SecretManagerService': { retry_codes: { none: [] }, methods: { AccessSecretVersion: { retry_codes_name: 'none' } } } },
      },
    });
  });
  afterAll(async () => {
    await client.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  });
  beforeEach(() => {
    requests.length = 0;
    secrets.clear();
  });

  const adapter = (clock = { now: () => new Date('2026-11-22T09:00:00Z') }) =>
    new SecretManagerSecrets(client, { projectId: PROJECT, pseudonymKeySecret: 'pec-pseudonym-key', clock, env: { PEC_PASSWORD_3550308: 'from-env' } });

  it('reads versions/latest of the named secret, once per instance even for concurrent callers', async () => {
    put('pec-db-3550308', 's3cr3t-ç');
    const s = adapter();
    const values = await Promise.all([s.resolve({ secret: 'pec-db-3550308' }), s.resolve({ secret: 'pec-db-3550308' })]);
    expect(values).toEqual(['s3cr3t-ç', 's3cr3t-ç']);
    expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('s3cr3t-ç');
    expect(requests).toEqual([`projects/${PROJECT}/secrets/pec-db-3550308/versions/latest`]);
  });

  it('re-reads after the cache lifetime, so a rotated password arrives without a redeploy', async () => {
    put('pec-db-3550308', 'old');
    const clock = { t: new Date('2026-11-22T09:00:00Z'), now: () => clock.t };
    const s = adapter(clock);
    expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('old');
    put('pec-db-3550308', 'new');
    clock.t = new Date(clock.t.getTime() + 11 * 60_000);
    expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('new');
    expect(requests).toHaveLength(2);
  });

  it('decodes the pseudonymisation key (base64, ≥ 32 bytes) and refuses a short one', async () => {
    const key = Buffer.alloc(32, 7);
    put('pec-pseudonym-key', key.toString('base64'));
    expect((await adapter().pseudonymKey()).equals(key)).toBe(true);
    put('pec-pseudonym-key', Buffer.alloc(16, 7).toString('base64'));
    await expect(adapter().pseudonymKey()).rejects.toThrow(/must hold at least 32 bytes/);
  });

  it('checks the payload CRC32C: a corrupted payload is transient and not cached', async () => {
    put('pec-db-3550308', 'value', { crc: '12345' });
    const s = adapter();
    await expect(s.resolve({ secret: 'pec-db-3550308' })).rejects.toMatchObject({ transient: true, errorClass: 'config', message: expect.stringContaining('CRC32C') });
    put('pec-db-3550308', 'value');
    expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('value');
  });

  it('classifies gRPC failures: NOT_FOUND / PERMISSION_DENIED terminal (config), UNAVAILABLE transient; never with the value', async () => {
    const missing = await adapter()
      .resolve({ secret: 'pec-db-0000000' })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TerminalError);
    expect(missing).toMatchObject({ errorClass: 'config', message: expect.stringContaining('access to secret pec-db-0000000 failed (gRPC status 5)') });
    put('pec-db-3550308', 'v', { code: grpc.status.PERMISSION_DENIED });
    await expect(adapter().resolve({ secret: 'pec-db-3550308' })).rejects.toMatchObject({ transient: false, errorClass: 'config' });
    put('pec-db-3550308', 'the-value', { code: grpc.status.UNAVAILABLE });
    const unavailable = await adapter()
      .resolve({ secret: 'pec-db-3550308' })
      .catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(PipelineError);
    expect(unavailable).toMatchObject({ transient: true });
    expect(String((unavailable as Error).message)).not.toContain('the-value');
  });

  it('the client the extract entry point builds from SECRET_MANAGER_EMULATOR_HOST reaches the local endpoint', async () => {
    expect(secretManagerClientOptions(undefined)).toEqual({});
    put('pec-db-3550308', 'via-emulator-host');
    const local = new SecretManagerServiceClient(secretManagerClientOptions(`127.0.0.1:${port}`));
    try {
      const s = new SecretManagerSecrets(local, { projectId: PROJECT, pseudonymKeySecret: 'pec-pseudonym-key' });
      expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('via-emulator-host');
      expect(requests).toEqual([`projects/${PROJECT}/secrets/pec-db-3550308/versions/latest`]);
    } finally {
      await local.close();
    }
  });

  it('takes {env} sources from the function environment and refuses {file} sources in the cloud', async () => {
    expect(await adapter().resolve({ env: 'PEC_PASSWORD_3550308' })).toBe('from-env');
    await expect(adapter().resolve({ env: 'PEC_PASSWORD_MISSING' })).rejects.toMatchObject({ transient: false, errorClass: 'config' });
    await expect(adapter().resolve({ file: '/etc/passwd' })).rejects.toThrow(/for local runs/);
    await expect(adapter().resolve({ file: '/etc/passwd' })).rejects.toMatchObject({ transient: false, errorClass: 'config' });
    expect(requests).toEqual([]);
  });

  it('a value is reused for 10 minutes, not a moment longer', async () => {
    put('pec-db-3550308', 'old');
    const clock = { t: new Date('2026-11-22T09:00:00Z'), now: () => clock.t };
    const s = adapter(clock);
    await s.resolve({ secret: 'pec-db-3550308' });
    put('pec-db-3550308', 'new');
    clock.t = new Date(clock.t.getTime() + 10 * 60_000 - 1);
    expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('old');
    clock.t = new Date(clock.t.getTime() + 1);
    expect(await s.resolve({ secret: 'pec-db-3550308' })).toBe('new');
    expect(requests).toHaveLength(2);
  });

  it('the pseudonymisation key: exactly 32 bytes pass, trailing newline trimmed; 31 bytes or non-base64 text refused, naming the secret', async () => {
    const key = Buffer.alloc(32, 9);
    put('pec-pseudonym-key', `${key.toString('base64')}\n`);
    expect((await adapter().pseudonymKey()).equals(key)).toBe(true);
    // 33 bytes: base64 without padding.
    put('pec-pseudonym-key', Buffer.alloc(33, 9).toString('base64'));
    expect((await adapter().pseudonymKey()).length).toBe(33);
    const refused = 'secret pec-pseudonym-key must hold at least 32 bytes, base64-encoded';
    put('pec-pseudonym-key', Buffer.alloc(31, 9).toString('base64'));
    await expect(adapter().pseudonymKey()).rejects.toMatchObject({ transient: false, errorClass: 'config', message: refused });
    // Buffer.from(…, 'base64') skips what is not base64: the text itself must be base64, at both ends.
    for (const text of [`!${key.toString('base64')}`, `${key.toString('base64')}!`, `${key.toString('base64')}===`]) {
      put('pec-pseudonym-key', text);
      await expect(adapter().pseudonymKey()).rejects.toMatchObject({ message: refused });
    }
  });

  it('a version without a payload is a terminal configuration error; a payload without a CRC32C is taken as sent', async () => {
    put('pec-db-3550308', 'x', { noPayload: true });
    await expect(adapter().resolve({ secret: 'pec-db-3550308' })).rejects.toMatchObject({
      transient: false,
      errorClass: 'config',
      message: 'secret pec-db-3550308 has no payload',
    });
    put('pec-db-4106902', 'no-crc', { crc: undefined });
    expect(await adapter().resolve({ secret: 'pec-db-4106902' })).toBe('no-crc');
  });

  it('an empty {env} variable counts as not set', async () => {
    const s = new SecretManagerSecrets(client, { projectId: PROJECT, pseudonymKeySecret: 'k', env: { PEC_PASSWORD_3550308: '' } });
    await expect(s.resolve({ env: 'PEC_PASSWORD_3550308' })).rejects.toMatchObject({
      transient: false,
      errorClass: 'config',
      message: 'password environment variable PEC_PASSWORD_3550308 is not set on this function',
    });
  });

  it('SECRET_MANAGER_EMULATOR_HOST as [IPv6]:port gives the bare address and the port', () => {
    expect(secretManagerClientOptions('[::1]:9090')).toMatchObject({ apiEndpoint: '::1', port: 9090 });
    expect(secretManagerClientOptions('localhost:9090')).toMatchObject({ apiEndpoint: 'localhost', port: 9090 });
  });
});
