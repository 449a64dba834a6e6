import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CRC32C } from '@google-cloud/storage';

/**
 * Secret Manager's AccessSecretVersion, served over plaintext gRPC on loopback from Google's own
 * service definition (the .proto files shipped with @google-cloud/secret-manager), as in
 * test/contract/secret-manager.contract.test.ts. Point a function at it with
 * SECRET_MANAGER_EMULATOR_HOST=<host>. It answers from `secrets` (full resource names of
 * versions/latest) with the payload's CRC32C, and records each request.
 */
export interface FakeSecretManager {
  host: string;
  requests: string[];
  put(projectId: string, secretId: string, value: string | Buffer): void;
  close(): Promise<void>;
}

const PROTOS = path.dirname(require.resolve('@google-cloud/secret-manager/build/protos/protos.json'));
const GAX_PROTOS = path.join(path.dirname(require.resolve('google-gax', { paths: [PROTOS] })), '..', 'protos');

export async function startFakeSecretManager(): Promise<FakeSecretManager> {
  const secrets = new Map<string, Buffer>();
  const requests: string[] = [];
  const def = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', { includeDirs: [PROTOS, GAX_PROTOS], keepCase: false, longs: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } } };
  const server = new grpc.Server();
  server.addService(pkg.google.cloud.secretmanager.v1.SecretManagerService.service, {
    accessSecretVersion: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      requests.push(call.request.name);
      const data = secrets.get(call.request.name);
      if (!data) return cb({ code: grpc.status.NOT_FOUND, details: `Secret [${call.request.name}] not found or has no versions.` });
      const crc = new CRC32C();
      crc.update(data);
      cb(null, { name: call.request.name.replace(/latest$/, '1'), payload: { data, dataCrc32c: String(crc.valueOf() >>> 0) } });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    put: (projectId, secretId, value) => void secrets.set(`projects/${projectId}/secrets/${secretId}/versions/latest`, Buffer.from(value)),
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  };
}
