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
