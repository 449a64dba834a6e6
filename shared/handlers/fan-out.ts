import type { Logger } from 'pino';
import { RunRequest, type ExtractRequest } from '../contracts/messages';
import type { MunicipalityRegistry } from '../contracts/municipalities';
import { MESSAGE_ATTRIBUTE } from '../contracts/pubsub';
import type { Bus, Clock } from '../ports';
import { planRun } from '../run/plan-run';
import { pubsubHandler } from './pubsub-handler';

export interface FanOutDeps {
  bus: Bus;
  logger: Logger;
  clock: Clock;
  registry: () => Promise<MunicipalityRegistry>;
  lookbackDays: number;
  /** Called with the plan once every extract message is published. */
  onPlanned?: (plan: { runId: string; extracts: ExtractRequest[] }) => void | Promise<void>;
}

/** Fan-out: one run request becomes one validated extract message per due municipality. */
export function makeFanOutHandler(deps: FanOutDeps) {
  return pubsubHandler({
    name: 'fan-out',
    schema: RunRequest,
    bus: deps.bus,
    logger: deps.logger,
    run: async (req, ctx) => {
      const plan = planRun(req, await deps.registry(), { now: deps.clock.now(), lookbackDays: deps.lookbackDays, requestId: ctx.messageId });
      // dispatch "caller": the daily workflow publishes the extract messages itself, in batches (shared/workflow).
      if (req.dispatch === 'fan-out')
        await Promise.all(plan.extracts.map((e) => deps.bus.publish('extractRequests', e, { ...ctx.attributes, [MESSAGE_ATTRIBUTE.runId]: plan.runId })));
      ctx.logger.info({ run: plan.runId, municipalities: plan.extracts.length, dispatch: req.dispatch }, 'run fanned out');
      await deps.onPlanned?.(plan);
    },
  });
}
