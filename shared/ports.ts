import type { Readable } from 'node:stream';
import type { LandedColumn, TableDef } from './contracts/tables';
import type { DateWindow } from './contracts/identifiers';
import type { TopicKey } from './contracts/messages';
import type { PasswordSource } from './contracts/municipalities';
import type { Alert } from './ledger/alerts';
import type { RunReport } from './ledger/report';

/**
 * Ports: the capabilities use cases depend on. Local adapters (filesystem, DuckDB, in-process bus)
 * and Google Cloud adapters (Cloud Storage, BigQuery, Pub/Sub, Secret Manager) implement them.
 */

export interface ObjectStore {
  /**
   * Streams `body` into a new object. Fails with ObjectExistsError when `key` already exists, so a
   * redelivered extract can never overwrite a committed object. Readers never see a partial object.
   */
  create(key: string, body: Readable, contentType: string): Promise<{ bytes: number }>;
  /** Read a whole (small) object, or undefined when absent. */
  read(key: string): Promise<Buffer | undefined>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Stream an object's bytes (e.g. to verify a part's SHA-256 at load without holding the part in
   * memory). The stream errors when the object is absent.
   */
  readStream(key: string): Readable;
  /** Address a warehouse can load from (file path locally, gs:// URI in the cloud). */
  loadUri(key: string): string;
}

/** One municipality's slice of one table, as declared by a manifest. */
export interface SliceLoad {
  municipality: string;
  runId: string;
  extractedAt: string;
  /** null: a full refresh (the municipality's whole table). */
  window: DateWindow | null;
  /** File column order. */
  columns: { name: string; type: LandedColumn['type'] }[];
  uris: string[];
  rows: number;
  /** Uncompressed CSV bytes of the files, header included, as the manifest declares: no line is longer (absent: unknown). */
  csvBytes?: number;
}

export type SliceOutcome =
  | { municipality: string; table: string; status: 'loaded'; rowsDeleted: number; rowsInserted: number }
  | { municipality: string; table: string; status: 'already_loaded' }
  | { municipality: string; table: string; status: 'stale'; newerExtractedAt: string }
  /**
   * A deterministic problem of this slice's staged data (errorClass 'data': a value its column type
   * cannot hold, a row count or SHA-256 that differs from the manifest). Terminal: a redelivery would
   * fail the same way. The message names municipality, table, column and line, never row content.
   * The load's other slices are applied regardless.
   */
  | { municipality: string; table: string; status: 'failed'; errorClass: 'data'; message: string };

export interface Warehouse {
  /** Create raw tables (and the slice ledger) from the table registry when missing. */
  ensureRawTables(tables: readonly TableDef[]): Promise<void>;
  /**
   * In one transaction, for each table's slices: skip a slice already loaded from the same
   * extraction, refuse one older than what is loaded (shared/load/slice-guard.ts decides both), else
   * delete exactly the slice's rows (municipality + window, end exclusive) and insert the staged rows.
   * A slice whose staged files cannot be loaded, or hold other than the manifest's row count, ends
   * `failed` (errorClass 'data') and does not stop the others. Per table one statement set over all
   * slices in the normal case (cost per row, not per slice).
   */
  replaceSlices(loads: { table: TableDef; slices: SliceLoad[] }[], loadId: string): Promise<SliceOutcome[]>;
}

/** Publishes to a topic; the payload is validated against the topic's contract by the caller. */
export interface Bus {
  publish(topic: TopicKey, payload: unknown, attributes?: Record<string, string>): Promise<string>;
  /** Park a message that can never succeed in the dead-letter topic, bytes and attributes as received. */
  publishDeadLetter(data: Buffer, attributes: Record<string, string>): Promise<string>;
}

export interface Secrets {
  /** Resolve a password source; cached per instance; values are never logged. */
  resolve(source: PasswordSource): Promise<string>;
  /** The pseudonymisation key (HMAC-SHA-256 key bytes). */
  pseudonymKey(): Promise<Buffer>;
}

/** Where the run ledger is written: DuckDB locally (DuckDbLedger), BigQuery in the cloud (BigQueryLedger). */
export interface LedgerWriter {
  writeReport(report: RunReport, alerts: Alert[]): Promise<void>;
  /** Runs that loaded slices but have no ledger row yet (reruns and backfills since the last report). */
  unreportedRuns(): Promise<string[]>;
}

/** SQL, or a multi-statement script, with named STRING parameters: what the BigQuery query runner takes. */
export interface BigQueryQuery {
  query: string;
  params: Record<string, string>;
}
/** Runs one query job and returns the rows of its last statement (shared/adapters/gcp/bigquery-query.ts). */
export type BigQueryQueryRunner = (q: BigQueryQuery) => Promise<Record<string, unknown>[]>;

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** What happened to a municipality in a run: drives live progress locally and the run ledger. */
export type RunEvent =
  /** `sequence`: 0 for the first message, n for the n-th time-budget continuation. */
  | { kind: 'extract_started'; runId: string; municipality: string; attempt: number; sequence?: number }
  | { kind: 'extract_staged'; runId: string; municipality: string; manifest: import('./contracts/manifest').Manifest; alreadyDone: boolean }
  | { kind: 'extract_continued'; runId: string; municipality: string; tablesDone: number; tablesLeft: number }
  /**
   * `willRetry` false: terminal, or the last delivery attempt (`deadLettered`: the message goes to the
   * dead-letter topic). `nextAttemptAt`: when the redelivery is due, where the handler knows the policy.
   */
  | {
      kind: 'extract_failed';
      runId: string;
      municipality: string;
      errorClass: string;
      message: string;
      willRetry: boolean;
      attempt?: number;
      sequence?: number;
      deadLettered?: boolean;
      nextAttemptAt?: string;
    }
  | { kind: 'load_finished'; runId: string; loadId: string; outcomes: SliceOutcome[]; missingManifests: string[] }
  | { kind: 'load_failed'; runId: string; municipalities: string[]; errorClass: string; message: string; willRetry: boolean };

export interface RunObserver {
  record(event: RunEvent): void | Promise<void>;
}
export const noObserver: RunObserver = { record: () => {} };
