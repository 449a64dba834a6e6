import type { Logger } from 'pino';
import type { FanOutConfig } from '../../shared/adapters/gcp/function-config';
import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { makeFanOutHandler } from '../../shared/handlers/fan-out';
import { instrumentCloudEvent } from '../../shared/observability/instrument';
import type { Bus, Clock, ObjectStore } from '../../shared/ports';
import { writePlan } from '../../shared/records/run-records';

export interface FanOutAdapters {
  store: ObjectStore;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  registry: MunicipalityRegistry;
}

/**
 * The fan-out function: a run request in, one extract message per due municipality out, then the
 * run's plan (who it is for) in the bucket for the run-status function. Adapters are parameters so
 * the same wiring runs on Google Cloud (index.ts) and on local stand-ins in the integration tests.
 */
export function fanOutFunction(config: FanOutConfig, a: FanOutAdapters, options: { afterInvocation?: () => Promise<void> } = {}) {
  return instrumentCloudEvent({ stage: 'fan-out', logger: a.logger, afterInvocation: options.afterInvocation }, ({ logger }) =>
    makeFanOutHandler({
      bus: a.bus,
      logger,
      clock: a.clock,
      registry: async () => a.registry,
      lookbackDays: config.lookbackDays,
      onPlanned: async (plan) => {
        await writePlan(a.store, plan, a.clock.now());
      },
    }),
  );
}
