import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { LOG_FIELDS, LOG_MESSAGES } from '../contracts/log-messages';
import type { LoadRequest } from '../contracts/messages';
import { pipeline } from 'node:stream/promises';
import type { Manifest, StagedPart } from '../contracts/manifest';
import { landedTables, SET_ASIDE_TABLE, type TableDef } from '../contracts/tables';
import { TerminalError, TransientError } from '../errors';
import { readManifest } from '../records/bucket-records';
import type { ObjectStore, SliceLoad, SliceOutcome, Warehouse } from '../ports';

export interface LoadDeps {
  store: ObjectStore;
  warehouse: Warehouse;
  tables: readonly TableDef[];
  logger: Logger;
  /** Parts hashed side by side at load (streams, so memory stays flat). */
  hashConcurrency?: number;
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
  const loadId = `load-${req.runId}-${createHash('sha256')
    .update(JSON.stringify([[...req.municipalities].sort(), req.tables ?? null]))
    .digest('hex')
    .slice(0, 12)}`;
  const manifests: Manifest[] = [];
  const missingManifests: string[] = [];
  for (const ibge of req.municipalities) {
    const m = await readManifest(deps.store, req.runId, ibge);
    if (m) manifests.push(m);
    else missingManifests.push(ibge);
  }
  // Every legitimate load names at least one extracted municipality (the workflow lists the run's done
  // ones; a rerun publishes its load after its manifest). None at all: a wrong run id or a
  // municipality that was never extracted — a poison message, dead-lettered instead of acked as a no-op.
  if (manifests.length === 0)
    throw new TerminalError(
      `load request names no municipality extracted in run ${req.runId} (no manifest for ${missingManifests.join(', ')}): wrong run id, or not a municipality of this run`,
      'invalid_message',
    );
  if (missingManifests.length > 0) deps.logger.warn({ run: req.runId, missingManifests }, 'load request names municipalities without a manifest in this run: loading the others');
  // set_aside_values rides along with whatever tables a request names (its records are per municipality).
  const wanted = landedTables(deps.tables).filter((t) => !req.tables || req.tables.includes(t.name) || t === SET_ASIDE_TABLE);
  const loads = wanted
    .map((table) => ({
      table,
      slices: manifests.flatMap((m) =>
        [...m.tables, ...(m.setAside ? [m.setAside] : [])]
          .filter((t) => t.table === table.name)
          .map((t): SliceLoad => ({
            municipality: m.municipality,
            runId: m.runId,
            extractedAt: t.extractedAt,
            window: t.window,
            columns: t.columns,
            uris: t.parts.map((p) => deps.store.loadUri(p.key)),
            rows: t.rows,
            csvBytes: t.csvBytes,
          })),
      ),
    }))
    .filter((l) => l.slices.length > 0);
  // Checks at load, the same for both warehouses: each part's bytes against the manifest's SHA-256
  // (a mismatch or a missing part fails that slice only); row counts are checked by the warehouse.
  const parts = new Map(manifests.flatMap((m) => [...m.tables, ...(m.setAside ? [m.setAside] : [])].map((t) => [`${t.table}/${m.municipality}`, t.parts] as const)));
  const failed = new Map<string, SliceOutcome>();
  await forEachLimit(
    loads.flatMap(({ table, slices }) => slices.map((s) => ({ table: table.name, s }))),
    deps.hashConcurrency ?? 4,
    async ({ table, s }) => {
      const problem = await verifyParts(deps.store, parts.get(`${table}/${s.municipality}`) ?? []);
      if (problem)
        failed.set(`${table}/${s.municipality}`, { municipality: s.municipality, table, status: 'failed', errorClass: 'data', message: `${table}/${s.municipality}: ${problem}` });
    },
  );
  const toWarehouse = loads.map((l) => ({ ...l, slices: l.slices.filter((s) => !failed.has(`${l.table.name}/${s.municipality}`)) })).filter((l) => l.slices.length > 0);
  const applied = toWarehouse.length > 0 ? await deps.warehouse.replaceSlices(toWarehouse, loadId) : [];
  const byKey = new Map([...applied.map((o) => [`${o.table}/${o.municipality}`, o] as const), ...failed]);
  const outcomes = loads.flatMap(({ table, slices }) => slices.map((s) => byKey.get(`${table.name}/${s.municipality}`)!));
  for (const o of outcomes)
    if (o.status === 'failed') deps.logger.error({ loadId, run: req.runId, municipality: o.municipality, table: o.table, errorClass: o.errorClass }, o.message);
  deps.logger.info(
    {
      loadId,
      run: req.runId,
      slices: outcomes.length,
      // The freshness metric counts "load finished" lines whose field is > 0.
      [LOG_FIELDS.loaded]: outcomes.filter((o) => o.status === 'loaded').length,
      failed: outcomes.filter((o) => o.status === 'failed').length,
      missingManifests,
    },
    LOG_MESSAGES.loadFinished,
  );
  return { loadId, outcomes, missingManifests, manifests };
}

/**
 * A part up to this size (compressed, as the manifest declares it) is read whole — one request, one
 * read — instead of streamed: most parts of a daily run are a few KB (a local run of 650 municipalities
 * verifies 18,850 of them, and a stream per part cost four thread-pool round trips and its pipeline's
 * bookkeeping). Larger parts stream, so memory stays bounded by this constant.
 */
export const VERIFY_WHOLE_MAX_BYTES = 1 << 20;

/**
 * Read every part and compare its SHA-256 with the manifest's: undefined when all match, else
 * what is wrong (never content). A part that is missing is the slice's problem too (terminal: it was
 * committed by the manifest and cannot come back by retrying); any other read error is thrown.
 */
export async function verifyParts(store: ObjectStore, parts: readonly StagedPart[]): Promise<string | undefined> {
  for (const p of parts) {
    const hash = createHash('sha256');
    try {
      if (p.bytes <= VERIFY_WHOLE_MAX_BYTES) {
        const data = await store.read(p.key);
        if (!data) return missing(p);
        hash.update(data);
      } else await pipeline(store.readStream(p.key), hash);
    } catch (err) {
      const e = err as { code?: string | number };
      if (e?.code === 'ENOENT' || e?.code === 404) return missing(p);
      // Anything else (a network error, a 503) may pass: the load is redelivered. Whatever the store
      // throws (its client's own error, or a classified one) is wrapped, so the load sees one kind.
      throw new TransientError(`reading part ${p.key} to verify its SHA-256 failed: ${(err as Error)?.message ?? String(err)}`, 'storage', { cause: err });
    }
    const actual = hash.digest('hex');
    if (actual !== p.sha256) return `part ${p.key} has SHA-256 ${actual}, the manifest declares ${p.sha256}`;
  }
  return undefined;
}

const missing = (p: StagedPart) => `part ${p.key} is missing from the staging bucket`;

async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
