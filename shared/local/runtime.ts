import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Logger } from 'pino';
import { ExtractSettingsSchema, DEFAULT_LOOKBACK_DAYS } from '../contracts/config';
import { MunicipalityRegistry } from '../contracts/municipalities';
import type { RunRequest } from '../contracts/messages';
import type { TableDef } from '../contracts/tables';
import { formatIssues } from '../handlers/pubsub-handler';
import { makeExtractHandler } from '../handlers/extract';
import { makeFanOutHandler } from '../handlers/fan-out';
import { makeLoadHandler } from '../handlers/load';
import { readManifest, type ExtractSettings } from '../extract/extract-municipality';
import { PEC_TABLES } from '../tables/pec-tables';
import { systemClock, type Clock, type RunObserver } from '../ports';
import { DuckDbWarehouse } from './duckdb-warehouse';
import { FsObjectStore } from './fs-object-store';
import { InProcessBus, type SubscriptionOptions } from './in-process-bus';
import { LocalSecrets } from './secrets';

/** Where a local run keeps its state: a directory laid out like the cloud resources. */
export interface LocalPaths {
  root: string;
  bucket: string;
  warehouse: string;
  secrets: string;
  postgres: string;
  logs: string;
}

export function localPaths(root: string): LocalPaths {
  const r = path.resolve(root);
  return {
    root: r,
    bucket: path.join(r, 'bucket'),
    warehouse: path.join(r, 'warehouse.duckdb'),
    secrets: path.join(r, 'secrets'),
    postgres: path.join(r, 'postgres', 'data'),
    logs: path.join(r, 'logs'),
  };
}

/** Reads and validates a municipality registry file (YAML or JSON); errors name file, field and problem. */
export function loadRegistryFile(file: string): MunicipalityRegistry {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`registry file ${file} cannot be read`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new Error(`registry file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  const r = MunicipalityRegistry.safeParse(data);
  if (!r.success) throw new Error(`registry file ${file} is invalid: ${formatIssues(r.error)}`);
  return r.data;
}

/** Local delivery settings: Pub/Sub's shape, with backoffs short enough for a laptop. */
export const LOCAL_SUBSCRIPTION: SubscriptionOptions = { maxDeliveryAttempts: 5, minBackoffMs: 200, maxBackoffMs: 5_000, maxConcurrency: 4 };

export interface LocalPipelineOptions {
  paths: LocalPaths;
  registry: MunicipalityRegistry;
  logger: Logger;
  observer: RunObserver;
  tables?: readonly TableDef[];
  settings?: Partial<ExtractSettings>;
  clock?: Clock;
  subscription?: Partial<SubscriptionOptions>;
  lookbackDays?: number;
  /** Fault injection hooks, for tests. */
  storeBeforeCommit?: (key: string) => void | Promise<void>;
  warehouseBeforeCommit?: (loadId: string) => void | Promise<void>;
}

export type LocalPipeline = Awaited<ReturnType<typeof createLocalPipeline>>;

/**
 * The whole pipeline on one machine: filesystem bucket, DuckDB warehouse, in-process bus, and the
 * same fan-out, extract and load handlers the cloud functions run, subscribed to the bus.
 */
export async function createLocalPipeline(opts: LocalPipelineOptions) {
  const tables = opts.tables ?? PEC_TABLES;
  const clock = opts.clock ?? systemClock;
  const settings: ExtractSettings = {
    ...ExtractSettingsSchema.parse({}),
    applicationName: 'pec-pipeline-extract',
    ...opts.settings,
  };
  const store = new FsObjectStore(opts.paths.bucket, opts.storeBeforeCommit);
  const warehouse = await DuckDbWarehouse.open(opts.paths.warehouse, { beforeCommit: opts.warehouseBeforeCommit });
  await warehouse.ensureRawTables(tables);
  const secrets = new LocalSecrets(opts.paths.secrets);
  const bus = new InProcessBus();
  const byIbge = new Map(opts.registry.municipalities.map((m) => [m.ibge, m]));
  const sub = { ...LOCAL_SUBSCRIPTION, ...opts.subscription };
  const planned: { runId: string; municipalities: string[] }[] = [];

  bus.subscribe(
    'runRequests',
    'fan-out',
    makeFanOutHandler({
      bus,
      logger: opts.logger,
      clock,
      registry: async () => opts.registry,
      lookbackDays: opts.lookbackDays ?? DEFAULT_LOOKBACK_DAYS,
      onPlanned: (p) => void planned.push({ runId: p.runId, municipalities: p.extracts.map((e) => e.municipality) }),
    }),
    sub,
  );
  bus.subscribe(
    'extractRequests',
    'extract',
    makeExtractHandler({ store, secrets, bus, observer: opts.observer, municipality: (i) => byIbge.get(i), tables, clock, logger: opts.logger, settings }),
    sub,
  );
  bus.subscribe('loadRequests', 'load', makeLoadHandler({ store, warehouse, tables, bus, observer: opts.observer, logger: opts.logger }), { ...sub, maxConcurrency: 1 });

  return {
    bus,
    store,
    warehouse,
    secrets,
    tables,
    /**
     * A run as the daily DAG does it: request → fan-out → extractions → fan-in load of every
     * municipality that committed a manifest. Returns the run id and who was extracted.
     */
    async runOnce(req: Partial<RunRequest> = {}): Promise<{ runId: string; planned: string[]; extracted: string[] }> {
      const before = planned.length;
      await bus.publish('runRequests', { trigger: 'daily', ...req });
      await bus.idle();
      const plan = planned[before];
      if (!plan) throw new Error('the run request was rejected (see the dead letters and the log)');
      const extracted: string[] = [];
      for (const ibge of plan.municipalities) if (await readManifest(store, plan.runId, ibge)) extracted.push(ibge);
      if (req.trigger === undefined || req.trigger === 'daily') {
        if (extracted.length > 0) {
          await bus.publish('loadRequests', { runId: plan.runId, municipalities: extracted, ...(req.tables ? { tables: req.tables } : {}) });
          await bus.idle();
        }
      }
      return { runId: plan.runId, planned: plan.municipalities, extracted };
    },
    close: () => warehouse.close(),
  };
}
