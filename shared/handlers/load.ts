import { LoadRequest } from '../contracts/messages';
import { loadRun, type LoadDeps } from '../load/load-run';
import type { Bus, RunObserver } from '../ports';
import { pubsubHandler } from './pubsub-handler';

export interface LoadHandlerDeps extends LoadDeps {
  bus: Bus;
  observer: RunObserver;
}

/** Load handler: applies the listed municipalities' manifests of a run, per table, in one transaction. */
export function makeLoadHandler(deps: LoadHandlerDeps) {
  return pubsubHandler({
    name: 'load',
    schema: LoadRequest,
    bus: deps.bus,
    logger: deps.logger,
    run: async (req, ctx) => {
      const result = await loadRun({ ...deps, logger: ctx.logger }, req);
      await deps.observer.record({ kind: 'load_finished', runId: req.runId, loadId: result.loadId, outcomes: result.outcomes, missingManifests: result.missingManifests });
    },
    onFailure: async (req, f) => {
      if (req)
        await deps.observer.record({
          kind: 'load_failed',
          runId: req.runId,
          municipalities: req.municipalities,
          errorClass: f.errorClass,
          message: f.message,
          willRetry: f.transient,
        });
    },
  });
}
