/**
 * Contender "extractor": the project's own code path, `extractMunicipality` with a one-table
 * registry, reading through SourceSession (COPY … TO STDOUT), CsvRowTransform + Pseudonymizer,
 * PartWriter (gzip) and FsObjectStore, exactly as the extract function runs it.
 */
import pino from 'pino';
import { ExtractSettingsSchema } from '../../../shared/contracts/config';
import { applyV8Flags } from '../../../shared/contracts/functions';
import { MunicipalityEntry } from '../../../shared/contracts/municipalities';
import { extractMunicipality } from '../../../shared/extract/extract-municipality';
import { SourceSession } from '../../../shared/extract/source';
import { FsObjectStore } from '../../../shared/local/fs-object-store';
import type { PgConn } from '../lib/psql';
import { variantTable, type Variant } from '../lib/variants';
import { config, emit, fail, startPhase } from './common';

interface Config {
  conn: PgConn;
  ibge: string;
  variant: Variant;
  window: { start: string; end: string };
  outDir: string;
  runId: string;
  keyHex: string;
}

export interface ExtractWorkerResult {
  sql: string;
  rows: number;
  parts: number;
  gzBytes: number;
  csvBytes: number;
  measure: ReturnType<ReturnType<typeof startPhase>>;
}

async function main(): Promise<void> {
  // As the extract function's entry point does at cold start (its NODE_OPTIONS come with the environment).
  applyV8Flags('extract');
  const c = config<Config>();
  const table = variantTable(c.variant);
  // Read-only instrumentation: remember the COPY text the extractor sends (for the other contenders).
  let sql = '';
  const copyOut = SourceSession.prototype.copyOut;
  SourceSession.prototype.copyOut = function (this: SourceSession, text: string) {
    sql = text;
    return copyOut.call(this, text);
  };
  const entry = MunicipalityEntry.parse({
    ibge: c.ibge,
    name: 'Benchmark',
    network: 'vpn',
    connection: { host: c.conn.host, port: c.conn.port, database: c.conn.database, user: c.conn.user, password: { env: 'BENCH_UNUSED' } },
  });
  const key = Buffer.from(c.keyHex, 'hex');
  const deps = {
    store: new FsObjectStore(c.outDir),
    secrets: { resolve: async () => c.conn.password, pseudonymKey: async () => key },
    municipality: (ibge: string) => (ibge === entry.ibge ? entry : undefined),
    tables: [table],
    clock: { now: () => new Date() },
    logger: pino({ level: 'silent' }),
    settings: { ...ExtractSettingsSchema.parse({}), applicationName: 'bench-extractor' },
  };
  const phase = startPhase();
  const outcome = await extractMunicipality(deps, { runId: c.runId, municipality: c.ibge, window: c.window, trigger: 'backfill', loadWhenDone: false });
  const measure = phase();
  if (outcome.status !== 'extracted') throw new Error(`unexpected outcome ${outcome.status}`);
  const t = outcome.manifest.tables[0];
  if (!t) throw new Error(`table failed: ${JSON.stringify(outcome.manifest.failedTables)}`);
  emit({ sql, rows: t.rows, parts: t.parts.length, gzBytes: t.parts.reduce((n, p) => n + p.bytes, 0), csvBytes: t.csvBytes, measure } satisfies ExtractWorkerResult);
}

main().catch(fail);
