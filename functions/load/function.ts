import type { Logger } from 'pino';
import type { LoadConfig } from '../../shared/adapters/gcp/function-config';
import { landedTables, type TableDef } from '../../shared/contracts/tables';
import { makeLoadHandler } from '../../shared/handlers/load';
import { instrumentCloudEvent } from '../../shared/observability/instrument';
import { composeObservers, MetricsObserver } from '../../shared/observability/metrics-observer';
import type { Bus, Clock, ObjectStore, Warehouse } from '../../shared/ports';
import { StoreRunObserver } from '../../shared/records/run-records';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

export interface LoadAdapters {
  store: ObjectStore;
  bus: Bus;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  tables?: readonly TableDef[];
}

/** Creates missing raw tables once per instance, before the first load (infra-cdktf normally has). */
function preparedOnce(warehouse: Warehouse, tables: readonly TableDef[]): Warehouse {
  let ready: Promise<void> | undefined;
  return {
    ensureRawTables: (t) => warehouse.ensureRawTables(t),
    async replaceSlices(loads, loadId) {
      ready ??= warehouse.ensureRawTables(tables).catch((err: unknown) => {
        ready = undefined;
        throw err;
      });
      await ready;
      return warehouse.replaceSlices(loads, loadId);
    },
  };
}

/**
 * The load function: the fan-in of a run (every municipality extracted) or a rerun's single
 * municipality, applied per table by the warehouse in one transaction. The load id derives from
 * the request, so a redelivered request finds its BigQuery jobs instead of repeating them.
 */
export function loadFunction(_config: LoadConfig, a: LoadAdapters, options: { afterInvocation?: () => Promise<void> } = {}) {
  const tables = a.tables ?? PEC_TABLES;
  const warehouse = preparedOnce(a.warehouse, landedTables(tables));
  const observer = composeObservers(new StoreRunObserver(a.store, a.clock), new MetricsObserver());
  return instrumentCloudEvent({ stage: 'load', logger: a.logger, afterInvocation: options.afterInvocation }, (invocation) =>
    makeLoadHandler({ store: a.store, warehouse, tables, bus: a.bus, observer, logger: invocation.logger }),
  );
}
