import type { Logger } from 'pino';
import type { ExtractConfig } from '../../shared/adapters/gcp/function-config';
import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import type { TableDef } from '../../shared/contracts/tables';
import type { ExtractSettings } from '../../shared/extract/extract-municipality';
import { makeExtractHandler } from '../../shared/handlers/extract';
import { instrumentCloudEvent } from '../../shared/observability/instrument';
import { composeObservers, MetricsObserver } from '../../shared/observability/metrics-observer';
import type { Bus, Clock, ObjectStore, Secrets } from '../../shared/ports';
import { StoreRunObserver } from '../../shared/records/run-records';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

export interface ExtractAdapters {
  store: ObjectStore;
  bus: Bus;
  secrets: Secrets;
  clock: Clock;
  logger: Logger;
  registry: MunicipalityRegistry;
  /** The table registry; the PEC tables unless a test narrows it. */
  tables?: readonly TableDef[];
}

/** The settings the extractor reads from this function's configuration. */
export function extractSettings(config: ExtractConfig): ExtractSettings {
  return {
    statementTimeoutMs: config.statementTimeoutMs,
    lockTimeoutMs: config.lockTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
    partMaxBytes: config.partMaxBytes,
    gzipLevel: config.gzipLevel,
    // Cloud Functions stop an event handler at 540 s: the extractor starts no new table after this,
    // checkpoints and publishes a continuation message instead (shared/handlers/extract.ts).
    timeBudgetMs: config.timeBudgetMs,
    // Shows in pg_stat_activity on the municipal server, so its DBA can see who is reading.
    applicationName: `pec-pipeline-extract-${config.environment}`,
  };
}

/**
 * The extract function: one municipality per message, from one source snapshot into the staging
 * bucket, manifest last. Terminal failures are recorded for the run status (StoreRunObserver) and
 * dead-lettered by the handler; transient ones are rethrown so Pub/Sub redelivers.
 */
export function extractFunction(config: ExtractConfig, a: ExtractAdapters, options: { afterInvocation?: () => Promise<void> } = {}) {
  const byIbge = new Map(a.registry.municipalities.map((m) => [m.ibge, m]));
  const observer = composeObservers(new StoreRunObserver(a.store, a.clock), new MetricsObserver());
  const settings = extractSettings(config);
  return instrumentCloudEvent({ stage: 'extract', logger: a.logger, afterInvocation: options.afterInvocation }, (invocation) =>
    makeExtractHandler({
      store: a.store,
      secrets: a.secrets,
      bus: a.bus,
      observer,
      municipality: (ibge) => byIbge.get(ibge),
      tables: a.tables ?? PEC_TABLES,
      clock: a.clock,
      logger: invocation.logger,
      settings,
    }),
  );
}
