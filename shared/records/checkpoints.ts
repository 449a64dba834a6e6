import { z } from 'zod';
import { TableExtract, TableFailure } from '../contracts/manifest';
import type { ObjectStore } from '../ports';
import { putRecordOnce, readRecord } from './bucket-records';
import { layout } from './layout';

/**
 * What a time-budget checkpoint carries to the continuation message's invocation: the tables an
 * invocation staged (or failed) before its budget ran out, and the snapshot facts the manifest will
 * repeat. Written once per (run, municipality, sequence); the manifest merges them all.
 */
export const Checkpoint = z.strictObject({
  extractedAt: z.string(),
  attempt: z.string(),
  pecVersion: z.string().nullable(),
  dwProcessedAt: z.string().nullable(),
  tables: z.array(TableExtract),
  failedTables: z.array(TableFailure),
  setAside: TableExtract.optional(),
});
export type Checkpoint = z.infer<typeof Checkpoint>;

/** A municipality's checkpoints in a run, in sequence order. */
export async function readCheckpoints(store: ObjectStore, runId: string, ibge: string): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  for (const key of await store.list(layout.checkpointsPrefix(runId, ibge))) {
    const checkpoint = await readRecord(store, key, Checkpoint);
    if (checkpoint) out.push(checkpoint);
  }
  return out;
}

/** Create-if-absent; false when a concurrent delivery of the same continuation wrote it first. */
export function writeCheckpoint(store: ObjectStore, runId: string, ibge: string, sequence: number, checkpoint: Checkpoint): Promise<boolean> {
  return putRecordOnce(store, layout.checkpoint(runId, ibge, sequence), checkpoint);
}
