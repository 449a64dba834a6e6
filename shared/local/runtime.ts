import path from 'node:path';
import type { Logger } from 'pino';
import { ExtractSettingsSchema, DEFAULT_LOOKBACK_DAYS } from '../contracts/config';
import type { MunicipalityRegistry } from '../contracts/municipalities';
import type { RunRequest } from '../contracts/messages';
import { landedTables, type TableDef } from '../contracts/tables';
import { OPS_VIEWS, opsViewQuery } from '../ledger/schema';
import { makeExtractHandler } from '../handlers/extract';
import { makeFanOutHandler } from '../handlers/fan-out';
import { makeLoadHandler } from '../handlers/load';
import type { ExtractSettings } from '../extract/extract-municipality';
import { readManifest } from '../records/bucket-records';
import { PEC_TABLES } from '../tables/pec-tables';
import { TerminalError } from '../errors';
import { DEFAULT_LEASE, type LeaseSettings } from '../records/source-lease';
import { systemClock, type Clock, type RunEvent, type RunObserver } from '../ports';
import { DAILY_WORKFLOW } from '../workflow/daily';
import type { WorkflowSpec } from '../workflow/definition';
import { executeWorkflow, type WorkflowPorts, type WorkflowRunResult, type LocalTiming } from '../workflow/local-executor';
import { ALERT_DEFAULTS, alertLogEntry, type Alert, type AlertConfig } from '../ledger/alerts';
import { DuckDbLedger } from '../ledger/duckdb-ledger';
import { reportResponse, reportRuns } from '../ledger/run-report';
import { ensureMartTables, getMart, refreshMartDuckDb } from '../marts/marts';
import { runStatus } from '../run/run-status';
import { StoreRunObserver, writePlan } from '../records/run-records';
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

/** Moved to shared/run/registry-file.ts (the cloud functions read it too); re-exported for existing callers. */
export { loadRegistryFile } from '../run/registry-file';

/** One extraction per source server at a time, as in the cloud; polled often, since local runs are short. */
export const LOCAL_LEASE: LeaseSettings = { ...DEFAULT_LEASE, pollMs: 25 };

/** Local delivery settings: Pub/Sub's shape, with backoffs short enough for a laptop. */
export const LOCAL_SUBSCRIPTION: SubscriptionOptions = { maxDeliveryAttempts: 5, minBackoffMs: 200, maxBackoffMs: 5_000, maxConcurrency: 4 };

/**
 * The workflow's clock on a laptop: poll the run status every 250 ms instead of every minute and retry
 * 20× faster; the extraction deadline and the load budget keep their production values unless a
 * caller (a test, `npm start -- --deadline-minutes`) shortens them. Not faster: each poll lists the
 * run's records (one directory per municipality for the attempt markers), so its cost grows with the
 * run and a fixed interval makes the total grow with its square — at 100 ms the status polls took
 * ~20 % of a 650-municipality run's CPU. 250 ms never starves the bus: the in-flight cap keeps ~16
 * extract messages queued behind the 4 running, seconds of work.
 */
export const LOCAL_WORKFLOW_TIMING: LocalTiming = { pollEveryMs: 250, retryDelayScale: 0.05 };

/** Calls each observer in turn, in the order given. */
function allObservers(...observers: RunObserver[]): RunObserver {
  return {
    record: async (e: RunEvent) => {
      for (const o of observers) await o.record(e);
    },
  };
}

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
  /** The workflow `runOnce` executes (default: the daily workflow the cloud deploys) and its local clock. */
  workflow?: WorkflowSpec;
  timing?: LocalTiming;
  alertConfig?: AlertConfig;
  /** Every alert the workflow raises (they are logged too). */
  onAlert?: (alert: Alert | Record<string, unknown>) => void;
  /** Each status the workflow polls while it waits (the local heartbeat). */
  onWait?: WorkflowPorts['onWait'];
}

/** What `runOnce` returns: the run, who was extracted, and the workflow's own account of it. */
export interface LocalRunResult {
  runId: string;
  planned: string[];
  extracted: string[];
  workflow: WorkflowRunResult;
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
  await warehouse.ensureRawTables(landedTables(tables));
  // Values set aside at extraction land like a table (raw) and are read where the ledger is (ops).
  for (const v of OPS_VIEWS) await warehouse.execute(`CREATE OR REPLACE VIEW ops.${v.name} AS ${opsViewQuery(v, (t) => `raw.${t}`)}`);
  await ensureMartTables(warehouse);
  const ledger = await DuckDbLedger.open(warehouse, clock);
  // Run records in the bucket (what the run-status function reads), the caller (live progress), the ledger.
  // Handlers wait for the first two, not for the ledger's live rows: those are written on the
  // warehouse's one connection, which a load wave holds for seconds, and every extraction waiting for
  // them stalled there (a 650-municipality run's extractions were idle during each of its 7 waves).
  // A row that cannot be written is logged; the run's report rewrites every row from the bucket.
  const liveLedger: RunObserver = {
    record: (e) => void ledger.record(e).catch((err: unknown) => opts.logger.error({ err, event: e.kind }, 'ledger: live row not written')),
  };
  const observer = allObservers(new StoreRunObserver(store, clock), opts.observer, liveLedger);
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
      onPlanned: async (p) => {
        await writePlan(store, p, clock.now());
        planned.push({ runId: p.runId, municipalities: p.extracts.map((e) => e.municipality) });
      },
    }),
    sub,
  );
  bus.subscribe(
    'extractRequests',
    'extract',
    makeExtractHandler({
      store,
      secrets,
      bus,
      observer,
      municipality: (i) => byIbge.get(i),
      tables,
      clock,
      logger: opts.logger,
      settings,
      lease: LOCAL_LEASE,
      // The bus's own policy: the last failed delivery is recorded as final (dead-lettered).
      redelivery: { maxDeliveryAttempts: sub.maxDeliveryAttempts, minBackoffMs: sub.minBackoffMs, maxBackoffMs: sub.maxBackoffMs },
    }),
    sub,
  );
  bus.subscribe('loadRequests', 'load', makeLoadHandler({ store, warehouse, tables, bus, observer, logger: opts.logger }), { ...sub, maxConcurrency: 1 });

  const names = new Map(opts.registry.municipalities.map((m) => [m.ibge, m.name]));
  const workflow = opts.workflow ?? DAILY_WORKFLOW;
  const timing = { ...LOCAL_WORKFLOW_TIMING, ...opts.timing };
  /** What the deployed workflow calls, locally: the bus, run status over the bucket, DuckDB marts, the ledger. */
  const workflowPorts: WorkflowPorts = {
    publish: (topic, payload, attributes) => bus.publish(topic, payload, attributes),
    runStatus: (query) => runStatus(store, query, { now: clock.now() }),
    fullStatus: (runId, lateAfterSeconds) => runStatus(store, { runId, lateAfterSeconds }, { now: clock.now(), name: (i) => names.get(i) }),
    ...(opts.onWait ? { onWait: opts.onWait } : {}),
    refreshMart: async (name) => void (await refreshMartDuckDb(warehouse, getMart(name))),
    report: async (request, logAlert) => {
      const result = await reportRuns({ store, ledger, clock, alertConfig: opts.alertConfig ?? ALERT_DEFAULTS, logger: opts.logger }, request);
      for (const a of result.alerts) logAlert(a);
      return reportResponse(result);
    },
    logAlert: (a) => {
      const entry = 'rule' in a && 'alert' in a ? alertLogEntry(a as Alert) : a;
      opts.logger.error(entry, String(entry.message ?? 'alert'));
      opts.onAlert?.(a);
    },
    log: (entry) => opts.logger.error(entry, String(entry.message ?? '')),
    clock,
  };

  /**
   * The message path of a rerun or backfill chunk, as in the cloud: publish the run request and
   * wait until fan-out, extract and the municipality's own load are done.
   */
  async function publishRunRequest(req: Partial<RunRequest>): Promise<{ runId: string; planned: string[]; extracted: string[] }> {
    const before = planned.length;
    await bus.publish('runRequests', req);
    await bus.idle();
    const plan = planned[before];
    if (!plan) throw new Error('the run request was rejected (see the dead letters and the log)');
    const extracted: string[] = [];
    for (const ibge of plan.municipalities) if (await readManifest(store, plan.runId, ibge)) extracted.push(ibge);
    return { runId: plan.runId, planned: plan.municipalities, extracted };
  }

  /** The workflow's finalize steps (marts, report of `runId` and of every run not reported yet, alerts). */
  const finalize = (runId: string | null) => executeWorkflow(workflow, workflowPorts, { finalizeOnly: true, ...(runId ? { runId } : {}) }, timing);

  return {
    bus,
    store,
    warehouse,
    secrets,
    tables,
    ledger,
    workflow,
    workflowPorts,
    /**
     * A daily run executes the workflow specification the cloud deploys (shared/workflow/daily.ts): run request,
     * batched fan-out under the concurrency limit, extraction deadline, fan-in load, marts, report,
     * alerts. A rerun or backfill is the message path the cloud takes (fan-out → extract → load of
     * its own municipality), followed by the workflow's finalize steps (marts, report, alerts).
     */
    async runOnce(req: Partial<RunRequest> = {}): Promise<LocalRunResult> {
      if (req.trigger === undefined || req.trigger === 'daily') {
        if (req.tables || req.runId) throw new Error('a daily run covers every table under its own id: use a rerun for a subset');
        const result = await executeWorkflow(workflow, workflowPorts, { runDate: req.runDate, cohort: req.cohort, municipalities: req.municipalities, window: req.window }, timing);
        return { runId: result.runId, planned: result.planned, extracted: result.done, workflow: result };
      }
      const sent = await publishRunRequest(req);
      return { ...sent, workflow: await finalize(sent.runId) };
    },
    publishRunRequest,
    finalize,
    /**
     * Ctrl-C: the run's ledger rows as they stand, with the run marked `interrupted` (its
     * municipalities keep their live state). False when the run had no plan yet (nothing to record).
     */
    async recordInterrupted(runId: string): Promise<boolean> {
      try {
        await reportRuns({ store, ledger, clock, alertConfig: opts.alertConfig ?? ALERT_DEFAULTS, logger: opts.logger }, { runId, interrupted: true });
        return true;
      } catch (err) {
        if (err instanceof TerminalError) return false;
        throw err;
      }
    },
    /** Waits until no message is in flight (late extractions keep running after the workflow returns) and the ledger has their rows. */
    drain: async () => {
      await bus.idle();
      await ledger.settled();
    },
    /** Closes the warehouse once the ledger has written what it was given. */
    close: async () => {
      await ledger.settled();
      warehouse.close();
    },
  };
}
