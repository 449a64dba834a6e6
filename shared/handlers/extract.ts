import { ExtractRequest } from '../contracts/messages';
import { extractMunicipality, type ExtractDeps } from '../extract/extract-municipality';
import type { Bus, RunObserver } from '../ports';
import { pubsubHandler } from './pubsub-handler';

/** The subscription's redelivery policy, as far as the handler is told it (Pub/Sub does not say). */
export interface RedeliveryPolicy {
  /** After this many failed deliveries the message goes to the dead-letter topic. */
  maxDeliveryAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export interface ExtractHandlerDeps extends ExtractDeps {
  bus: Bus;
  observer: RunObserver;
  /**
   * Known locally (the in-process bus's settings). With it, a transient failure on the last delivery
   * is recorded as the municipality's final failure (the message is being dead-lettered), and each
   * retry says when the next attempt is due. Without it (the cloud, 100 attempts over hours), the
   * run status settles a retrying municipality at the deadline instead.
   */
  redelivery?: RedeliveryPolicy;
}

/**
 * Extract handler: one municipality per message. Idempotent through the manifest: a redelivered
 * message finds it and only repeats the follow-up publish (which is idempotent downstream too).
 * Every delivery is announced (`extract_started`) and every failure reported with its attempt, so
 * the run status can tell extracting from waiting for a redelivery (which holds no slot of the cap).
 */
export function makeExtractHandler(deps: ExtractHandlerDeps) {
  const sequenceOf = (req: ExtractRequest) => req.continuation?.sequence ?? 0;
  return pubsubHandler({
    name: 'extract',
    schema: ExtractRequest,
    bus: deps.bus,
    logger: deps.logger,
    run: async (req, ctx) => {
      await deps.observer.record({ kind: 'extract_started', runId: req.runId, municipality: req.municipality, attempt: ctx.deliveryAttempt, sequence: sequenceOf(req) });
      const outcome = await extractMunicipality({ ...deps, logger: ctx.logger }, req);
      if (outcome.status === 'superseded') return;
      if (outcome.status === 'continue') {
        await deps.bus.publish('extractRequests', { ...req, continuation: { sequence: outcome.nextSequence } }, ctx.attributes);
        await deps.observer.record({ kind: 'extract_continued', runId: req.runId, municipality: req.municipality, tablesDone: outcome.tablesDone, tablesLeft: outcome.tablesLeft });
        return;
      }
      await deps.observer.record({
        kind: 'extract_staged',
        runId: req.runId,
        municipality: req.municipality,
        manifest: outcome.manifest,
        alreadyDone: outcome.status === 'already_extracted',
      });
      if (req.loadWhenDone)
        await deps.bus.publish('loadRequests', { runId: req.runId, municipalities: [req.municipality], ...(req.tables ? { tables: req.tables } : {}) }, ctx.attributes);
    },
    onFailure: async (req, f, ctx) => {
      if (!req) return;
      const policy = deps.redelivery;
      const lastDelivery = f.transient && !!policy && ctx.deliveryAttempt >= policy.maxDeliveryAttempts;
      const willRetry = f.transient && !lastDelivery;
      const nextAttemptAt =
        willRetry && policy ? new Date(deps.clock.now().getTime() + Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** (ctx.deliveryAttempt - 1))).toISOString() : undefined;
      await deps.observer.record({
        kind: 'extract_failed',
        runId: req.runId,
        municipality: req.municipality,
        errorClass: f.errorClass,
        message: f.message,
        willRetry,
        attempt: ctx.deliveryAttempt,
        sequence: sequenceOf(req),
        ...(lastDelivery ? { deadLettered: true } : {}),
        ...(nextAttemptAt ? { nextAttemptAt } : {}),
      });
    },
  });
}
