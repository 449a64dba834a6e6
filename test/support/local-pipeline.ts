import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import type { TableDef } from '../../shared/contracts/tables';
import { createLogger } from '../../shared/log';
import { createLocalPipeline, localPaths, type LocalPipelineOptions } from '../../shared/local/runtime';
import type { RunEvent } from '../../shared/ports';
import { testServerPort, type TestDatabase } from './pg';

export const TEST_KEY = Buffer.alloc(32, 0x5a);

/** Log lines captured from a test pipeline, so tests can scan them (secrets, personal data). */
export class CapturedLog extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
}

export interface Source {
  db: TestDatabase;
  municipalities: { ibge: string; name: string }[];
  /** Connect through this port instead of the server's (a fault proxy). */
  port?: number;
}

/** A registry pointing at test databases, each municipality bound to its database's reader role. */
export function registryFor(sources: Source[]): MunicipalityRegistry {
  return MunicipalityRegistry.parse({
    municipalities: sources.flatMap((s) =>
      s.municipalities.map((m) => ({
        ibge: m.ibge,
        name: m.name,
        network: 'vpn',
        connection: { host: '127.0.0.1', port: s.port ?? testServerPort(), database: s.db.name, user: s.db.readerRole, password: { secret: `pw-${s.db.name}` } },
        installation: s.db.name.replace(/_/g, '-'),
      })),
    ),
  });
}

/** A local pipeline in a temporary directory with a fixed pseudonymisation key. */
export async function testPipeline(sources: Source[], options: Partial<LocalPipelineOptions> & { tables?: readonly TableDef[] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-pipeline-test-'));
  const paths = localPaths(dir);
  fs.mkdirSync(paths.secrets, { recursive: true });
  fs.writeFileSync(path.join(paths.secrets, 'pseudonym-key'), TEST_KEY.toString('base64'));
  for (const s of sources) fs.writeFileSync(path.join(paths.secrets, `pw-${s.db.name}`), s.db.readerPassword);
  const log = new CapturedLog();
  const events: RunEvent[] = [];
  const pipeline = await createLocalPipeline({
    paths,
    registry: registryFor(sources),
    logger: createLogger({ service: 'test', destination: log }),
    observer: { record: (e) => void events.push(e) },
    subscription: { minBackoffMs: 10, maxBackoffMs: 50 },
    ...options,
  });
  return {
    ...pipeline,
    paths,
    log,
    events,
    async dispose() {
      await pipeline.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
