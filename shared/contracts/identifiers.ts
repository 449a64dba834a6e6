import { z } from 'zod';

/**
 * SQL identifiers the project generates queries from. Only registry-defined names that match
 * this pattern ever reach SQL, and they are always quoted as well (belt and braces).
 */
export const SqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)');

/**
 * A run id names objects, BigQuery job ids and ledger rows, so it is restricted to characters
 * that are safe in all three: e.g. "daily-20261122" or "rerun-3550308-20261122t101500".
 */
export const RunId = z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/, 'must be 3–63 characters of a-z, 0-9 and "-", starting with a letter or digit');
export type RunId = z.infer<typeof RunId>;

/** A calendar date as YYYY-MM-DD, checked to be a real date. */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'is not a real calendar date');
export type IsoDate = z.infer<typeof IsoDate>;

/**
 * A half-open date window [start, end): the start is included, the end is not, so consecutive
 * windows never overlap and never leave a gap.
 */
export const DateWindow = z
  .strictObject({ start: IsoDate, end: IsoDate })
  .refine((w) => w.start < w.end, { message: 'window start must be before its end (the end is exclusive)', path: ['end'] });
export type DateWindow = z.infer<typeof DateWindow>;
