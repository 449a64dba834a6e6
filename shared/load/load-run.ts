import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { LOG_MESSAGES } from '../contracts/log-messages';
import type { LoadRequest } from '../contracts/messages';
import type { Manifest } from '../contracts/manifest';
import type { TableDef } from '../contracts/tables';
import { TerminalError } from '../errors';
import { readManifest } from '../extract/extract-municipality';
import type { ObjectStore, SliceLoad, SliceOutcome, Warehouse } from '../ports';

export interface LoadDeps {
  store: ObjectStore;
  warehouse: Warehouse;
  tables: readonly TableDef[];
  logger: Logger;
}

export interface LoadResult {
  loadId: string;
  outcomes: SliceOutcome[];
  /** Municipalities named in the request that have no manifest: not extracted (yet). */
  missingManifests: string[];
  manifests: Manifest[];
}

/**
 * Fan-in load: every slice declared by the manifests of the listed municipalities, grouped per
 * table, applied by the warehouse in one transaction. The daily run lists every municipality it
 * extracted (one load per table per day, whatever the number of municipalities); a rerun lists one.
 * The load id is derived from the request, so a redelivered request is recognisably the same load.
 */
export async function loadRun(deps: LoadDeps, req: LoadRequest): Promise<LoadResult> {
  const loadId = `load-${req.runId}-${createHash('sha256').update(JSON.stringify([[...req.municipalities].sort(), req.tables ?? null])).digest('hex').slice(0, 12)}`;
  const manifests: Manifest[] = [];
  const missingManifests: string[] = [];
  for (const ibge of req.municipalities) {
    const m = await readManifest(deps.store, req.runId, ibge);
    if (m) manifests.push(m);
    else missingManifests.push(ibge);
  }
  // Every legitimate load names at least one extracted municipality (the DAG lists the run's done
  // ones; a rerun publishes its load after its manifest). None at all: a wrong run id or a
  // municipality that was never extracted — a poison message, dead-lettered instead of acked as a no-op.
  if (manifests.length === 0)
    throw new TerminalError(
      `load request names no municipality extracted in run ${req.runId} (no manifest for ${missingManifests.join(', ')}): wrong run id, or not a municipality of this run`,
      'invalid_message',
    );
  if (missingManifests.length > 0) deps.logger.warn({ run: req.runId, missingManifests }, 'load request names municipalities without a manifest in this run: loading the others');
  const wanted = deps.tables.filter((t) => !req.tables || req.tables.includes(t.name));
  const loads = wanted
    .map((table) => ({
      table,
      slices: manifests.flatMap((m) =>
        m.tables
          .filter((t) => t.table === table.name)
          .map(
            (t): SliceLoad => ({
              municipality: m.municipality,
              runId: m.runId,
              extractedAt: t.extractedAt,
              window: t.window,
              columns: t.columns,
              uris: t.parts.map((p) => deps.store.loadUri(p.key)),
              rows: t.rows,
            }),
          ),
      ),
    }))
    .filter((l) => l.slices.length > 0);
  const outcomes = loads.length > 0 ? await deps.warehouse.replaceSlices(loads, loadId) : [];
  deps.logger.info(
    { loadId, run: req.runId, slices: outcomes.length, loaded: outcomes.filter((o) => o.status === 'loaded').length, missingManifests },
    LOG_MESSAGES.loadFinished,
  );
  return { loadId, outcomes, missingManifests, manifests };
}
