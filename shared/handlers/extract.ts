import { ExtractRequest } from '../contracts/messages';
import { extractMunicipality, type ExtractDeps } from '../extract/extract-municipality';
import type { Bus, RunObserver } from '../ports';
import { pubsubHandler } from './pubsub-handler';

export interface ExtractHandlerDeps extends ExtractDeps {
  bus: Bus;
  observer: RunObserver;
}

/**
 * Extract handler: one municipality per message. Idempotent through the manifest: a redelivered
 * message finds it and only repeats the follow-up publish (which is idempotent downstream too).
 */
export function makeExtractHandler(deps: ExtractHandlerDeps) {
  return pubsubHandler({
    name: 'extract',
    schema: ExtractRequest,
    bus: deps.bus,
    logger: deps.logger,
    run: async (req, ctx) => {
      await deps.observer.record({ kind: 'extract_started', runId: req.runId, municipality: req.municipality, attempt: ctx.deliveryAttempt });
      const outcome = await extractMunicipality({ ...deps, logger: ctx.logger }, req);
      if (outcome.status === 'superseded') return;
      if (outcome.status === 'continue') {
        await deps.bus.publish('extractRequests', { ...req, continuation: { sequence: outcome.nextSequence } }, ctx.attributes);
        await deps.observer.record({ kind: 'extract_continued', runId: req.runId, municipality: req.municipality, tablesDone: outcome.tablesDone, tablesLeft: outcome.tablesLeft });
        return;
      }
      await deps.observer.record({ kind: 'extract_staged', runId: req.runId, municipality: req.municipality, manifest: outcome.manifest, alreadyDone: outcome.status === 'already_extracted' });
      if (req.loadWhenDone)
        await deps.bus.publish('loadRequests', { runId: req.runId, municipalities: [req.municipality], ...(req.tables ? { tables: req.tables } : {}) }, ctx.attributes);
    },
    onFailure: async (req, f) => {
      if (req) await deps.observer.record({ kind: 'extract_failed', runId: req.runId, municipality: req.municipality, errorClass: f.errorClass, message: f.message, willRetry: f.transient });
    },
  });
}
