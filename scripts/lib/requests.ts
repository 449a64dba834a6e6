import { z } from 'zod';
import { ENV } from '../../shared/contracts/config';
import { IbgeCode } from '../../shared/contracts/ibge';
import { IsoDate } from '../../shared/contracts/identifiers';
import { RunRequest, TOPICS } from '../../shared/contracts/messages';
import type { TableDef } from '../../shared/contracts/tables';
import { formatIssues } from '../../shared/contracts/issues';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { addDays } from '../../shared/run/plan-run';

/**
 * The run requests people send outside the daily workflow, built and validated here so the local
 * command, the cloud publish and the documentation agree. Both are plain RunRequests on the
 * run-requests topic: fan-out extracts the municipality with `loadWhenDone`, and the load replaces
 * exactly that municipality's slices.
 */

/** Throws with every contract problem named; returns the request as it will be published. */
export function validRunRequest(input: z.input<typeof RunRequest>): z.input<typeof RunRequest> {
  const r = RunRequest.safeParse(input);
  if (!r.success) throw new Error(`invalid run request: ${formatIssues(r.error)}`);
  return input;
}

/**
 * Rerun one municipality: its slices for the window (default: the daily window of `runDate`) are
 * replaced, nothing else changes. Example (what `npm run rerun -- --municipality 3509502` publishes):
 *   {"trigger":"rerun","municipalities":["3509502"]}
 */
export function rerunRequest(o: { municipality: string; runDate?: string; tables?: string[] }): z.input<typeof RunRequest> {
  return validRunRequest({
    trigger: 'rerun',
    municipalities: [o.municipality],
    ...(o.runDate ? { runDate: o.runDate } : {}),
    ...(o.tables?.length ? { tables: o.tables } : {}),
  });
}

export const YearMonth = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
  .refine((s) => s >= '2000-01', 'must be 2000-01 or later');

const nextMonth = (ym: string): string => {
  const [y, m] = ym.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
};

/** Chunks of a backfill are months: ten years is the most one command sends. */
export const MAX_BACKFILL_MONTHS = 120;

export const BackfillOptions = z
  .strictObject({
    municipality: IbgeCode,
    from: YearMonth,
    to: YearMonth,
    /** Subset of tables; default: every windowed table per month, full-refresh tables once (newest chunk). */
    tables: z.array(z.string()).min(1).optional(),
  })
  .refine((o) => o.from <= o.to, { message: '--from must not be after --to', path: ['from'] });
export type BackfillOptions = z.input<typeof BackfillOptions>;

/**
 * A backfill as one RunRequest per calendar month, oldest first. Each chunk has an explicit window
 * [first day of the month, first day of the next) and a deterministic run id
 * `backfill-<ibge>-<yyyymm>`, so sending the same backfill twice extracts nothing new (the manifests
 * exist) and loads nothing twice. One month of one municipality is ~90 k fact rows for a mid-size
 * municipality (≈ 35 s through a tunnel): well inside one extract invocation's time budget, and the
 * extractor checkpoints and continues in a new message if a month is ever larger.
 * Full-refresh tables (dimensions, citizens) have no window: they ride once, with the newest chunk.
 */
export function backfillChunks(options: BackfillOptions, tables: readonly TableDef[] = PEC_TABLES): z.input<typeof RunRequest>[] {
  const parsed = BackfillOptions.safeParse(options);
  if (!parsed.success) throw new Error(`invalid backfill: ${formatIssues(parsed.error)}`);
  const o = parsed.data;
  const months: string[] = [];
  for (let ym = o.from; ym <= o.to; ym = nextMonth(ym)) {
    months.push(ym);
    if (months.length > MAX_BACKFILL_MONTHS) throw new Error(`invalid backfill: at most ${MAX_BACKFILL_MONTHS} months per command (split it)`);
  }
  const windowed = tables.filter((t) => t.mode.kind === 'window').map((t) => t.name);
  return months.map((ym, i) => {
    const start = `${ym}-01`;
    const end = `${nextMonth(ym)}-01`;
    const newest = i === months.length - 1;
    const chunkTables = o.tables ?? (newest ? undefined : windowed);
    return validRunRequest({
      runId: `backfill-${o.municipality}-${ym.replace('-', '')}`,
      trigger: 'backfill',
      municipalities: [o.municipality],
      runDate: IsoDate.parse(addDays(end, -1)),
      window: { start, end },
      ...(chunkTables ? { tables: chunkTables } : {}),
    });
  });
}

/**
 * Where `--cloud` publishes: the project and the deployment's topic prefix. From flags, else the
 * environment (GOOGLE_CLOUD_PROJECT and TOPIC_PREFIX, the names the functions use). Undefined:
 * publish locally. Pure, so the rules are tested without an environment.
 */
export function cloudTarget(
  flags: { cloud?: boolean; project?: string; topicPrefix?: string },
  env: Record<string, string | undefined>,
): { projectId: string; topicPrefix: string } | undefined {
  const projectId = flags.project ?? env[ENV.projectId];
  const topicPrefix = flags.topicPrefix ?? env[ENV.topicPrefix];
  const wanted = flags.cloud || (env[ENV.projectId] !== undefined && env[ENV.topicPrefix] !== undefined);
  if (!wanted) return undefined;
  if (!projectId) throw new Error(`--cloud needs a project: set ${ENV.projectId} or pass --project`);
  return { projectId, topicPrefix: topicPrefix ?? '' };
}

/** The gcloud command that publishes the same message (printed by the commands, shown in the README). */
export function gcloudPublishCommand(request: unknown, topicPrefix = '<prefix>'): string {
  return `gcloud pubsub topics publish ${topicPrefix}${TOPICS.runRequests} --message='${JSON.stringify(request)}'`;
}
