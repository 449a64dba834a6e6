import type { Logger } from 'pino';
import type { RunStatusConfig } from '../../shared/adapters/gcp/function-config';
import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { formatIssues } from '../../shared/contracts/issues';
import { instrumentHttp } from '../../shared/observability/instrument';
import { withSpan } from '../../shared/observability/telemetry';
import type { Clock, ObjectStore } from '../../shared/ports';
import { runStatus, RunStatusQuery } from '../../shared/run/run-status';

export interface RunStatusAdapters {
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  registry: MunicipalityRegistry;
}

/**
 * The run-status function (HTTP): what the workflow polls. GET ?runId=…[&lateAfterSeconds=…] (or
 * POST the same as JSON) answers 200 with the run's status, 400 for a bad request, 404 while
 * fan-out has not written the run's plan, 503 when the bucket could not be read (retry).
 */
export function runStatusFunction(_config: RunStatusConfig, a: RunStatusAdapters, options: { afterInvocation?: () => Promise<void> } = {}) {
  const names = new Map(a.registry.municipalities.map((m) => [m.ibge, m.name]));
  return instrumentHttp(
    { stage: 'run-status', logger: a.logger, afterInvocation: options.afterInvocation, failureMessage: 'run status failed', retryAfterSeconds: 10 },
    async (req, res) => {
      if (req.method !== 'GET' && req.method !== 'POST') {
        res.set('Allow', 'GET, POST').status(405).json({ error: 'use GET ?runId=… or POST {"runId": …}' });
        return;
      }
      const parsed = RunStatusQuery.safeParse(req.method === 'GET' ? req.query : req.body);
      if (!parsed.success) {
        res.status(400).json({ error: formatIssues(parsed.error) });
        return;
      }
      const status = await withSpan('run-status', { 'pipeline.run': parsed.data.runId }, () =>
        runStatus(a.store, parsed.data, { now: a.clock.now(), name: (ibge) => names.get(ibge) }),
      );
      if (!status) {
        res.status(404).json({ error: `run ${parsed.data.runId} has no plan (yet): fan-out has not processed its request` });
        return;
      }
      res.status(200).json(status);
    },
  );
}
