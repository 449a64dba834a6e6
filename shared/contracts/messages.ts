import { z } from 'zod';
import { IbgeCode } from './ibge';
import { DateWindow, IsoDate, RunId } from './identifiers';
import { PEC_TABLE_NAMES } from '../tables/pec-tables';

/**
 * Pub/Sub message contracts. Every message is validated before publish and again on receive;
 * unknown fields are errors (strict objects), so a typo never silently changes behaviour.
 */

export const TableName = z.enum(PEC_TABLE_NAMES as [string, ...string[]], {
  error: (issue) => `unknown table ${JSON.stringify(issue.input)}`,
});

const uniqueList = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1)
    .refine((xs) => new Set(xs as unknown[]).size === xs.length, 'must not repeat an entry');

export const Trigger = z.enum(['daily', 'rerun', 'backfill']);
export type Trigger = z.infer<typeof Trigger>;

/**
 * Extract one municipality. Example:
 *   {"runId":"daily-20261122","municipality":"3550308","window":{"start":"2026-10-18","end":"2026-11-23"},
 *    "trigger":"daily","loadWhenDone":false}
 */
export const ExtractRequest = z.strictObject({
  runId: RunId,
  municipality: IbgeCode,
  /** Window applied to windowed tables; full-refresh tables ignore it. */
  window: DateWindow,
  /** Subset of registry tables; all of them when absent. */
  tables: uniqueList(TableName).optional(),
  trigger: Trigger,
  /** Reruns and backfills load their own municipality at once; the daily run fans in instead. */
  loadWhenDone: z.boolean().default(false),
  /** Set on a continuation message when the previous invocation ran out of time budget. */
  continuation: z.strictObject({ sequence: z.number().int().min(1).max(1000) }).optional(),
});
export type ExtractRequest = z.infer<typeof ExtractRequest>;

/**
 * Load the staged manifests of a run into the warehouse: the daily fan-in lists every municipality
 * extracted in the run, a rerun lists one. Example:
 *   {"runId":"daily-20261122","municipalities":["3550308","3304557"]}
 */
export const LoadRequest = z.strictObject({
  runId: RunId,
  municipalities: uniqueList(IbgeCode),
  tables: uniqueList(TableName).optional(),
});
export type LoadRequest = z.infer<typeof LoadRequest>;

/**
 * Ask for a run: fan-out turns it into one ExtractRequest per due municipality. Example:
 *   {"trigger":"rerun","municipalities":["3550308"],"runDate":"2026-11-22"}
 */
export const RunRequest = z.strictObject({
  runId: RunId.optional(),
  trigger: Trigger.default('daily'),
  /** The day the run is for (America/Sao_Paulo); today when absent. */
  runDate: IsoDate.optional(),
  municipalities: uniqueList(IbgeCode).optional(),
  cohort: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/)
    .optional(),
  tables: uniqueList(TableName).optional(),
  /** Explicit window; otherwise [runDate − lookback days, runDate + 1 day). */
  window: DateWindow.optional(),
  /**
   * Who publishes the extract messages. `fan-out` (default): fan-out publishes them all at once.
   * `caller`: fan-out only records the plan; the daily workflow releases them in batches under its
   * concurrency limit (shared/workflow/daily.ts).
   */
  dispatch: z.enum(['fan-out', 'caller']).default('fan-out'),
});
export type RunRequest = z.infer<typeof RunRequest>;

/** Topic base names; deployments may prefix them (see the config contract). */
export const TOPICS = {
  runRequests: 'pec-run-requests',
  extractRequests: 'pec-extract-requests',
  loadRequests: 'pec-load-requests',
  deadLetter: 'pec-dead-letter',
} as const;
export type TopicKey = keyof typeof TOPICS;

/** Which schema each topic carries: publishers and subscribers both validate against it. */
export const TOPIC_SCHEMAS = {
  runRequests: RunRequest,
  extractRequests: ExtractRequest,
  loadRequests: LoadRequest,
} as const;

/** Attributes set on every message the pipeline publishes (Pub/Sub attributes are strings). */
export const MessageAttributes = z.record(z.string(), z.string());
