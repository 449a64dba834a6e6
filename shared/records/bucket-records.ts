import { Readable } from 'node:stream';
import type { z } from 'zod';
import { formatIssues } from '../contracts/issues';
import { Manifest } from '../contracts/manifest';
import { ObjectExistsError } from '../errors';
import type { ObjectStore } from '../ports';
import { layout } from './layout';

/**
 * The one owner of the run records in the staging bucket: their names (./layout.ts), create-if-absent
 * writes and typed reads — manifests here; plans, failure and load records and attempt markers in
 * ./run-records.ts; time-budget checkpoints in ./checkpoints.ts; the per-server lease in
 * ./source-lease.ts. Extract writes them, load and the run status read them: all import shared/records,
 * so load does not depend on extract (and neither on the other's internals).
 */

/** Create-if-absent for a small JSON record; false when it already exists (a redelivery, or a second failure). */
export async function putRecordOnce(store: ObjectStore, key: string, value: unknown): Promise<boolean> {
  try {
    await store.create(key, Readable.from([Buffer.from(JSON.stringify(value, null, 2))]), 'application/json');
    return true;
  } catch (err) {
    if (err instanceof ObjectExistsError) return false;
    throw err;
  }
}

/** Commit a municipality's extraction: create-if-absent, false when a concurrent delivery committed first. */
export function writeManifest(store: ObjectStore, manifest: Manifest): Promise<boolean> {
  return putRecordOnce(store, layout.manifest(manifest.runId, manifest.municipality), manifest);
}

/** A municipality's commit record for a run (written last by extract), or undefined while there is none. */
export async function readManifest(store: ObjectStore, runId: string, ibge: string): Promise<Manifest | undefined> {
  const raw = await store.read(layout.manifest(runId, ibge));
  return raw ? Manifest.parse(JSON.parse(raw.toString('utf8'))) : undefined;
}

/** A small JSON record checked against its schema, or undefined when absent; a mismatch names the key and the fields. */
export async function readRecord<T>(store: ObjectStore, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const raw = await store.read(key);
  if (!raw) return undefined;
  const parsed = schema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!parsed.success) throw new Error(`${key} does not match its record contract: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** Most parsed records kept per store by readRecordCached (a 650-municipality run polls ~10 of them). */
const PARSED_CACHE_MAX = 2_000;
const parsedCache = new WeakMap<ObjectStore, Map<string, { raw: Buffer; schema: unknown; value: unknown }>>();

/**
 * readRecord for records a poller reads again and again (the run status reads every load and failure
 * record of a run on each poll: every 100 ms locally, where a 650-municipality run's load records hold
 * 16,250 slice outcomes). The object is still read each time; only when its bytes are the same as
 * last time is the JSON parse and schema check skipped — so a record that changed is parsed again,
 * and the cache never says anything the bucket does not. Callers must not mutate what it returns.
 */
export async function readRecordCached<T>(store: ObjectStore, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const raw = await store.read(key);
  if (!raw) return undefined;
  let cache = parsedCache.get(store);
  if (!cache) parsedCache.set(store, (cache = new Map()));
  const hit = cache.get(key);
  if (hit && hit.schema === schema && hit.raw.equals(raw)) return hit.value as T;
  const parsed = schema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!parsed.success) throw new Error(`${key} does not match its record contract: ${formatIssues(parsed.error)}`);
  cache.delete(key);
  cache.set(key, { raw, schema, value: parsed.data });
  if (cache.size > PARSED_CACHE_MAX) cache.delete(cache.keys().next().value!);
  return parsed.data;
}
