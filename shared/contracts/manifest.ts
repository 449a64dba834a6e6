import { z } from 'zod';
import { IbgeCode } from './ibge';
import { DateWindow, RunId } from './identifiers';
import { ColumnType } from './tables';

/**
 * The manifest is the commit record of one municipality's extraction in one run: it is written
 * last, only once (create-if-absent), and lists every part it covers. No manifest means not
 * extracted; parts without a manifest are leftovers of a failed attempt and are never loaded.
 */

export const StagedPart = z.strictObject({
  key: z.string().min(1),
  rows: z.number().int().nonnegative(),
  /** Compressed size as stored. */
  bytes: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the stored (compressed) bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type StagedPart = z.infer<typeof StagedPart>;

export const TableExtract = z.strictObject({
  table: z.string(),
  /** The slice this extract replaces downstream: a window, or null for a full refresh. */
  window: DateWindow.nullable(),
  /** Columns in file order, with their landed type (hashed columns are text). */
  columns: z.array(z.strictObject({ name: z.string(), type: ColumnType })),
  parts: z.array(StagedPart),
  rows: z.number().int().nonnegative(),
  /** Rows PostgreSQL reported for the COPY (same snapshot): the reconciliation baseline. */
  sourceRows: z.number().int().nonnegative(),
  /** Uncompressed CSV bytes. */
  csvBytes: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  /** Snapshot this table was read in (differs from the manifest's only after a time-budget continuation). */
  extractedAt: z.string().datetime({ offset: true }),
  /** e.g. a drifted column filled with NULL. */
  warnings: z.array(z.string()),
  /** Values staged as NULL because the landed type cannot hold them (records in `setAside`). */
  setAsideValues: z.number().int().nonnegative().optional(),
  /** Source columns the registry does not know: a newer PEC version the registry should follow. */
  unknownColumns: z.array(z.string()).optional(),
  /** Columns whose source type the registry type does not read exactly (e.g. numeric read as double). */
  typeDrift: z.array(z.string()).optional(),
});
export type TableExtract = z.infer<typeof TableExtract>;

export const TableFailure = z.strictObject({
  table: z.string(),
  errorClass: z.string(),
  message: z.string(),
});
export type TableFailure = z.infer<typeof TableFailure>;

export const Manifest = z.strictObject({
  schemaVersion: z.literal(1),
  runId: RunId,
  municipality: IbgeCode,
  /** Identifies the attempt whose parts this manifest commits. */
  attempt: z.string().regex(/^[a-z0-9-]{1,80}$/),
  /** Start of the source snapshot (the source's now() inside the transaction), ISO-8601 UTC. */
  extractedAt: z.string().datetime({ offset: true }),
  finishedAt: z.string().datetime({ offset: true }),
  pecVersion: z.string().nullable(),
  /** max(tb_relatorio_processamento.dt_processamento): how fresh the PEC's own DW is. */
  dwProcessedAt: z.string().nullable(),
  tables: z.array(TableExtract),
  /** Tables that failed on their own (drift rules); the rest of the municipality still lands. */
  failedTables: z.array(TableFailure),
  /**
   * The records of values set aside (shared/contracts/tables.ts SET_ASIDE_TABLE), one slice for
   * the municipality, present only when some value was set aside. Loaded with the tables.
   */
  setAside: TableExtract.optional(),
});
export type Manifest = z.infer<typeof Manifest>;
