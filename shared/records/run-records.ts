import { z } from 'zod';
import { IbgeCode } from '../contracts/ibge';
import { DateWindow, RunId } from '../contracts/identifiers';
import { Trigger, type ExtractRequest } from '../contracts/messages';
import { putRecordOnce, readRecord } from './bucket-records';
import { layout } from './layout';
import { systemClock, type Clock, type ObjectStore, type RunEvent, type RunObserver } from '../ports';

/**
 * Run records kept next to the data in the staging bucket, so "where is this run?" is answered
 * from one place locally (FsObjectStore) and in the cloud (Cloud Storage) without a database:
 * the plan (written by fan-out), terminal failures (extract) and load outcomes (load). Every record
 * is created once (create-if-absent), which makes redelivered messages harmless.
 */

/** Who a run is for. Example: {"schemaVersion":1,"runId":"daily-20261122","createdAt":"…","trigger":"daily","window":{…},"municipalities":["3550308"]} */
export const PlanRecord = z.strictObject({
  schemaVersion: z.literal(1),
  runId: RunId,
  createdAt: z.string().datetime({ offset: true }),
  trigger: Trigger.nullable(),
  window: DateWindow.nullable(),
  municipalities: z.array(IbgeCode),
});
export type PlanRecord = z.infer<typeof PlanRecord>;

/** A municipality's terminal extract failure in a run (the message is in the dead-letter topic too). */
export const FailureRecord = z.strictObject({
  schemaVersion: z.literal(1),
  runId: RunId,
  municipality: IbgeCode,
  errorClass: z.string(),
  message: z.string(),
  recordedAt: z.string().datetime({ offset: true }),
});
export type FailureRecord = z.infer<typeof FailureRecord>;

const SliceOutcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({ municipality: IbgeCode, table: z.string(), status: z.literal('loaded'), rowsDeleted: z.number().int(), rowsInserted: z.number().int() }),
  z.strictObject({ municipality: IbgeCode, table: z.string(), status: z.literal('already_loaded') }),
  z.strictObject({ municipality: IbgeCode, table: z.string(), status: z.literal('stale'), newerExtractedAt: z.string() }),
  // A slice the warehouse could not take (a value its type cannot hold): terminal for that slice only.
  z.strictObject({ municipality: IbgeCode, table: z.string(), status: z.literal('failed'), errorClass: z.string(), message: z.string() }),
]);

/** What one load request did, slice by slice. */
export const LoadRecord = z.strictObject({
  schemaVersion: z.literal(1),
  runId: RunId,
  loadId: z.string().regex(/^[a-z0-9-]{1,120}$/),
  finishedAt: z.string().datetime({ offset: true }),
  outcomes: z.array(SliceOutcomeSchema),
  missingManifests: z.array(IbgeCode),
});
export type LoadRecord = z.infer<typeof LoadRecord>;

/**
 * One extract delivery began, or failed. Its name says which (see layout.attemptMarker), so the run
 * status lists these without reading them; the body is for people.
 */
export const AttemptMarker = z.strictObject({
  schemaVersion: z.literal(1),
  runId: RunId,
  municipality: IbgeCode,
  sequence: z.number().int().min(0),
  attempt: z.number().int().min(1),
  at: z.string().datetime({ offset: true }),
  errorClass: z.string().optional(),
  message: z.string().optional(),
  nextAttemptAt: z.string().datetime({ offset: true }).optional(),
});
export type AttemptMarker = z.infer<typeof AttemptMarker>;

/** Every load record of a run, in key order. */
export async function readLoadRecords(store: ObjectStore, runId: string): Promise<LoadRecord[]> {
  const out: LoadRecord[] = [];
  for (const key of await store.list(layout.loadsPrefix(runId))) {
    const record = await readRecord(store, key, LoadRecord);
    if (record) out.push(record);
  }
  return out;
}

/** The marker of one failed delivery (for its message), or undefined when absent or unreadable: it is for people, never for decisions. */
export async function readFailedAttemptMarker(
  store: ObjectStore,
  runId: string,
  ibge: string,
  failure: { sequence: number; attempt: number; errorClass: string },
): Promise<AttemptMarker | undefined> {
  const raw = await store.read(layout.attemptMarker(runId, ibge, failure.sequence, failure.attempt, { failed: failure.errorClass }));
  const parsed = raw ? AttemptMarker.safeParse(JSON.parse(raw.toString('utf8'))) : undefined;
  return parsed?.success ? parsed.data : undefined;
}

/** Fan-out's record of a run's municipalities; a redelivered run request keeps the first plan. */
export async function writePlan(
  store: ObjectStore,
  plan: { runId: string; extracts: readonly Pick<ExtractRequest, 'municipality' | 'trigger' | 'window'>[] },
  createdAt: Date,
): Promise<boolean> {
  const first = plan.extracts[0];
  const record: PlanRecord = PlanRecord.parse({
    schemaVersion: 1,
    runId: plan.runId,
    createdAt: createdAt.toISOString(),
    trigger: first?.trigger ?? null,
    window: first?.window ?? null,
    municipalities: plan.extracts.map((e) => e.municipality),
  });
  return putRecordOnce(store, layout.plan(plan.runId), record);
}

/**
 * A RunObserver that writes the run's records into the bucket: one marker per extract delivery and
 * per failed delivery (so the run status tells extracting from waiting for a redelivery, and keeps
 * the error classes a municipality met), the terminal extract failure, and finished loads. Only the
 * first terminal failure of a municipality in a run is kept: objects are create-only, like every
 * object of a run, which also makes a redelivered event harmless.
 */
export class StoreRunObserver implements RunObserver {
  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock = systemClock,
  ) {}

  async record(event: RunEvent): Promise<void> {
    if (event.kind === 'extract_started' || (event.kind === 'extract_failed' && event.attempt !== undefined)) {
      const sequence = event.sequence ?? 0;
      const attempt = event.attempt ?? 1;
      const failed = event.kind === 'extract_failed' ? event : undefined;
      await putRecordOnce(
        this.store,
        layout.attemptMarker(event.runId, event.municipality, sequence, attempt, failed ? { failed: failed.errorClass } : 'started'),
        AttemptMarker.parse({
          schemaVersion: 1,
          runId: event.runId,
          municipality: event.municipality,
          sequence,
          attempt,
          at: this.clock.now().toISOString(),
          ...(failed ? { errorClass: failed.errorClass, message: failed.message.slice(0, 2000) } : {}),
          ...(failed?.nextAttemptAt ? { nextAttemptAt: failed.nextAttemptAt } : {}),
        }),
      );
    }
    if (event.kind === 'extract_failed' && !event.willRetry) {
      await putRecordOnce(
        this.store,
        layout.failure(event.runId, event.municipality),
        FailureRecord.parse({
          schemaVersion: 1,
          runId: event.runId,
          municipality: event.municipality,
          errorClass: event.errorClass,
          message: event.message.slice(0, 2000),
          recordedAt: this.clock.now().toISOString(),
        }),
      );
    } else if (event.kind === 'load_finished') {
      await putRecordOnce(
        this.store,
        layout.load(event.runId, event.loadId),
        LoadRecord.parse({
          schemaVersion: 1,
          runId: event.runId,
          loadId: event.loadId,
          finishedAt: this.clock.now().toISOString(),
          outcomes: event.outcomes,
          missingManifests: event.missingManifests,
        }),
      );
    }
  }
}
