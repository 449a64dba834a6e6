import type { BigQuery, Job, JobMetadata } from '@google-cloud/bigquery';
import type { ColumnType, TableDef } from '../../contracts/tables';
import { randomUUID } from 'node:crypto';
import { PipelineError, TerminalError, TransientError } from '../../errors';
import { systemClock, type Clock, type SliceLoad, type SliceOutcome, type Warehouse } from '../../ports';
import { withSpan } from '../../observability/telemetry';
import { loadedSlicesSchema, LOADED_SLICES_TABLE, rawTableSchema, stagingFields, toTableResource } from './bigquery-schema';
import { applySlicesScript, ledgerReadQuery, ledgerScopeParams, LEDGER_CONFLICT, tableRef, type ApplyResultRow, type ApplyTable, type StagingSource } from './bigquery-sql';
import { decideSlice, oldestExtraction, type LedgerSlice } from '../../load/slice-guard';
import { bigQueryDataErrorMessage, redactRowContent } from '../../load/data-errors';
import { gcpError, httpStatus } from './errors';

export interface BigQueryWarehouseOptions {
  projectId: string;
  location: string;
  rawDataset: string;
  opsDataset: string;
  /** BigQuery accepts 10,000 source URIs per load job; beyond that a table's files are split into several jobs. */
  maxUrisPerJob?: number;
  /** Staging tables expire by themselves if the load dies before dropping them. */
  stagingTtlMs?: number;
  /**
   * How long one invocation waits for a job. Less than the function's 540 s: when it runs out the
   * message is redelivered, and the retry finds the same job by its id and waits for it again.
   */
  jobWaitMs?: number;
  /** A deterministic job id that failed transiently is spent: the next attempt gets the next suffix, up to this many. */
  maxJobAttempts?: number;
  /** Load jobs of different tables run side by side, up to this many. */
  parallelLoads?: number;
  pollMs?: { initial: number; max: number };
  clock?: Clock;
}

const DEFAULTS = {
  maxUrisPerJob: 10_000,
  stagingTtlMs: 3 * 86_400_000,
  jobWaitMs: 400_000,
  maxJobAttempts: 5,
  parallelLoads: 4,
  pollMs: { initial: 500, max: 5_000 },
};

interface StagingChunk {
  table: TableDef;
  index: number;
  tableId: string;
  columns: readonly { name: string; type: ColumnType }[];
  slices: SliceLoad[];
  uris: string[];
  rows: number;
}

/**
 * The warehouse on BigQuery, with the semantics of the local DuckDB warehouse (see Warehouse in
 * shared/ports.ts), shaped by BigQuery's quotas (README "Cloud runtime"):
 *
 * 1. Per table, ONE load job takes every municipality's staged files of the load (a URI list from
 *    the manifests; split deterministically beyond 10,000 URIs) into a staging table in the ops
 *    dataset, with an explicit schema from the manifests, never autodetect.
 * 2. ONE multi-statement transaction applies all slices of all tables (bigquery-sql.ts): per raw
 *    table one DELETE and one INSERT, whatever the number of municipalities.
 *
 * Every job has a deterministic id derived from the load id, table and chunk, so a redelivered
 * load request finds its jobs instead of running them again: "409 already exists" means look the
 * job up and use its result. A job that failed transiently spends its id; the next attempt appends
 * the next suffix (-a0, -a1, …), which keeps retries deterministic too.
 */
export class BigQueryWarehouse implements Warehouse {
  private readonly o: Required<Omit<BigQueryWarehouseOptions, 'clock'>> & { clock: Clock };
  private ledgerReady: Promise<boolean> | undefined;

  constructor(
    private readonly bq: BigQuery,
    options: BigQueryWarehouseOptions,
  ) {
    this.o = { ...DEFAULTS, clock: systemClock, ...options };
  }

  private get ledgerRef(): string {
    return tableRef(this.o.projectId, this.o.opsDataset, LOADED_SLICES_TABLE);
  }

  /** Create the raw tables and the slice ledger when missing (infra-cdktf normally has). Never alters an existing table. */
  async ensureRawTables(tables: readonly TableDef[]): Promise<void> {
    await this.ensureTable(this.o.opsDataset, loadedSlicesSchema().tableId, toTableResource(loadedSlicesSchema()));
    for (const t of tables) await this.ensureTable(this.o.rawDataset, t.name, toTableResource(rawTableSchema(t)));
  }

  /** Creates the table if it is absent; answers whether it was already there before this call. */
  private async ensureTable(dataset: string, tableId: string, resource: Record<string, unknown>): Promise<boolean> {
    const table = this.bq.dataset(dataset).table(tableId);
    try {
      const [exists] = await table.exists();
      if (exists) return true;
      await this.bq.dataset(dataset).createTable(tableId, resource);
      return false;
    } catch (err) {
      // Created concurrently, just now: it was not there before (a staging table so created is empty).
      if (httpStatus(err) === 409) return false;
      throw gcpError(err, 'warehouse', `creating ${dataset}.${tableId}`);
    }
  }

  async replaceSlices(loads: { table: TableDef; slices: SliceLoad[] }[], loadId: string): Promise<SliceOutcome[]> {
    if (!this.ledgerReady)
      this.ledgerReady = this.ensureTable(this.o.opsDataset, LOADED_SLICES_TABLE, toTableResource(loadedSlicesSchema())).catch((e) => {
        this.ledgerReady = undefined;
        throw e;
      });
    await this.ledgerReady;
    const applyId = `${loadId}-apply`;
    const runLabel = loads.flatMap((l) => l.slices)[0]?.runId ?? 'unknown';
    const chunks = this.plan(loads, loadId);
    // Staging tables are no longer needed after the transaction; they also expire by themselves, so a failure here is
    // harmless (and a table already gone is one: hence no ignoreNotFound, the catch takes every error).
    const cleanup = (tableIds: string[]) =>
      Promise.all(
        tableIds.map((id) =>
          this.bq
            .dataset(this.o.opsDataset)
            .table(id)
            .delete()
            .catch(() => {}),
        ),
      );

    // A redelivered request whose transaction already committed: answer from that job, stage nothing.
    const finished = await this.findFinished(applyId);
    if (finished) {
      const outcomes = this.outcomes(loads, await this.results(finished));
      await cleanup(chunks.map((c) => c.tableId));
      return outcomes;
    }

    // Stage every slice of the request (a deterministic plan, so a redelivery finds the same jobs);
    // a chunk that fails on its data, or stages other than its manifests' rows, is staged again one
    // municipality at a time to name the bad slice(s) and keep the rest.
    const staged = new Map<string, StagingSource[]>();
    const failed = new Map<string, string>();
    const stagingIds: string[] = [];
    await pool(chunks, this.o.parallelLoads, async (c) => {
      const r = await this.stageIsolating(c, loadId, runLabel);
      stagingIds.push(...r.tableIds);
      for (const [m, msg] of r.failed) failed.set(`${c.table.name}/${m}`, msg);
      staged.set(c.table.name, [...(staged.get(c.table.name) ?? []), ...r.sources]);
    });
    // Staging tables in plan order, whatever order the parallel loads finished in (a stable script).
    for (const [t, sources] of staged)
      staged.set(
        t,
        [...sources].sort((a, b) => a.ref.localeCompare(b.ref)),
      );

    const since = oldestExtraction(loads.flatMap((l) => l.slices));
    const pairs = loads.flatMap(({ table, slices }) => slices.map((s) => `${table.name}/${s.municipality}`));
    let decided: ApplyTable[] = [];
    const job = await withSpan('bigquery apply slices', { 'pipeline.load_id': loadId, 'pipeline.slices': pairs.length }, () =>
      this.runJob(
        applyId,
        // Built again for every attempt: after a conflict (a concurrent load changed the ledger since
        // it was read) the guard reads the ledger again and decides again.
        async () => {
          const ledger = await this.readLedger(pairs, since, loadId);
          decided = loads.map(({ table, slices }) => ({
            table,
            rawRef: tableRef(this.o.projectId, this.o.rawDataset, table.name),
            staging: staged.get(table.name) ?? [],
            slices: slices.map((slice) => {
              const decision = decideSlice(table.name, slice, ledger);
              const problem = failed.get(`${table.name}/${slice.municipality}`);
              return { slice, decision: decision.status === 'load' && problem ? { status: 'failed' as const, message: problem } : decision };
            }),
          }));
          if (!decided.some((t) => t.slices.some((x) => x.decision.status === 'load'))) return undefined;
          const script = applySlicesScript(decided, loadId, this.ledgerRef, { ledgerRowsRead: ledger.length, since });
          return { query: { query: script.sql, useLegacySql: false, parameterMode: 'NAMED', queryParameters: script.params } };
        },
        { run: runLabel, step: 'apply' },
      ),
    );
    // Nothing to load (every slice already loaded, stale or failed): no transaction at all.
    const outcomes = this.outcomes(loads, job ? await this.results(job) : decidedRows(decided));
    await cleanup(stagingIds);
    return outcomes;
  }

  /** The ledger rows the guard needs (shared/load/slice-guard.ts): same pairs, at or after the oldest extraction. */
  private async readLedger(pairs: string[], since: string, loadId: string): Promise<LedgerSlice[]> {
    let job: Job;
    try {
      // A read: a fresh job id each time (it must see the ledger as it is now, never an earlier answer).
      [job] = await this.bq.createJob({
        jobId: `${loadId}-ledger-${randomUUID().slice(0, 8)}`,
        location: this.o.location,
        configuration: {
          query: { query: ledgerReadQuery(this.ledgerRef), useLegacySql: false, parameterMode: 'NAMED', queryParameters: ledgerScopeParams(pairs, since) },
          labels: jobLabels({ step: 'ledger' }),
        },
      });
    } catch (err) {
      throw gcpError(err, 'warehouse', 'reading the slice ledger');
    }
    return (await this.results(job)).map((r) => {
      const x = r as unknown as Record<string, string | null>;
      return {
        table: String(x.table_name),
        municipality: String(x.municipality),
        windowStart: x.window_start ?? null,
        windowEnd: x.window_end ?? null,
        extractedAt: String(x.extracted_at),
      };
    });
  }

  /** Deterministic staging plan: per table, slices grouped by file columns, in IBGE order, cut at maxUrisPerJob. */
  private plan(loads: { table: TableDef; slices: SliceLoad[] }[], loadId: string): StagingChunk[] {
    const chunks: StagingChunk[] = [];
    for (const { table, slices } of loads) {
      const bySignature = new Map<string, SliceLoad[]>();
      // A slice without parts stages nothing (a load job needs at least one URI); its count, 0, is still checked in the transaction.
      for (const s of [...slices].filter((x) => x.uris.length > 0).sort((a, b) => a.municipality.localeCompare(b.municipality))) {
        const sig = JSON.stringify(s.columns);
        bySignature.set(sig, [...(bySignature.get(sig) ?? []), s]);
      }
      let index = 0;
      for (const group of bySignature.values()) {
        let current: StagingChunk | undefined;
        for (const s of group) {
          if (s.uris.length > this.o.maxUrisPerJob)
            throw new TerminalError(`${table.name}/${s.municipality}: ${s.uris.length} files exceed ${this.o.maxUrisPerJob} URIs per load job`, 'warehouse');
          if (!current || current.uris.length + s.uris.length > this.o.maxUrisPerJob) {
            current = { table, index, tableId: `stage_${loadId.replaceAll('-', '_')}_${table.name}_${index}`, columns: s.columns, slices: [], uris: [], rows: 0 };
            chunks.push(current);
            index++;
          }
          current.slices.push(s);
          current.uris.push(...s.uris);
          current.rows += s.rows;
        }
      }
    }
    return chunks;
  }

  /**
   * Stage a chunk with one load job. When it fails on the data (a value a column cannot hold: the
   * job's errors point at files of the chunk) or stages other than its manifests' rows, the chunk is
   * split in halves (by IBGE order) and each half staged again, recursively, down to the single
   * municipality: the bad slice(s) are named and every other slice still lands, in about
   * 2 × bad × log2(N) extra load jobs rather than N (one bad municipality of 650: ~20 jobs, two at a
   * time). Ids stay deterministic: `<load>-<table>-<n>-r<i>-<j>` for the chunk's slices i…j.
   */
  private async stageIsolating(chunk: StagingChunk, loadId: string, runLabel: string): Promise<{ sources: StagingSource[]; failed: Map<string, string>; tableIds: string[] }> {
    const failed = new Map<string, string>();
    const sources: StagingSource[] = [];
    const tableIds: string[] = [];
    const ref = (id: string) => tableRef(this.o.projectId, this.o.opsDataset, id);
    const attempt = async (part: StagingChunk, jobBase: string, from: number): Promise<void> => {
      tableIds.push(part.tableId);
      const r = await this.stage(part, jobBase, runLabel);
      if (r.ok) {
        sources.push({ ref: ref(part.tableId), columns: part.columns });
        return;
      }
      if (part.slices.length === 1) {
        failed.set(part.slices[0]!.municipality, r.problem);
        return;
      }
      const half = Math.ceil(part.slices.length / 2);
      await Promise.all(
        [part.slices.slice(0, half), part.slices.slice(half)].map((slices, k) => {
          const i = from + (k === 0 ? 0 : half);
          const j = i + slices.length - 1;
          const sub: StagingChunk = { ...chunk, tableId: `${chunk.tableId}_r${i}_${j}`, slices, uris: slices.flatMap((s) => s.uris), rows: slices.reduce((n, s) => n + s.rows, 0) };
          return attempt(sub, `${loadId}-${chunk.table.name}-${chunk.index}-r${i}-${j}`, i);
        }),
      );
    };
    await attempt(chunk, `${loadId}-${chunk.table.name}-${chunk.index}`, 0);
    return { sources, failed, tableIds };
  }

  /** Load one chunk of staged files into its staging table (created first, with an expiry). */
  private async stage(chunk: StagingChunk, jobBase: string, runLabel: string): Promise<{ ok: true } | { ok: false; problem: string }> {
    const fields = stagingFields(chunk.columns);
    const where = { table: chunk.table.name, municipality: chunk.slices.map((s) => s.municipality).join(',') };
    return withSpan('bigquery load staging', { 'pipeline.table': chunk.table.name, 'pipeline.uris': chunk.uris.length }, async () => {
      const expirationTime = String(this.o.clock.now().getTime() + this.o.stagingTtlMs);
      // Asked before creating it: a staging table created just now is empty, whatever an earlier delivery's job staged.
      const stagedBefore = await this.ensureTable(this.o.opsDataset, chunk.tableId, { schema: { fields }, expirationTime, description: `Staged files of ${chunk.table.name}` });
      let job: Job;
      try {
        job = (await this.runJob(
          jobBase,
          async () => ({
            load: {
              sourceUris: chunk.uris,
              destinationTable: { projectId: this.o.projectId, datasetId: this.o.opsDataset, tableId: chunk.tableId },
              // Explicit schema in file order (from the manifests): autodetect would guess types per file.
              schema: { fields },
              sourceFormat: 'CSV',
              // The staged files are PostgreSQL CSV with a header row; quoted fields may hold newlines.
              skipLeadingRows: 1,
              allowQuotedNewlines: true,
              fieldDelimiter: ',',
              quote: '"',
              encoding: 'UTF-8',
              // One bad value fails the job (never a silently dropped row); the chunk is then staged per municipality.
              maxBadRecords: 0,
              // A redelivery re-running the load must not double the staged rows.
              writeDisposition: 'WRITE_TRUNCATE',
              createDisposition: 'CREATE_NEVER',
            },
          }),
          { run: runLabel, step: 'stage', table: chunk.table.name },
          // A job found from an earlier delivery is only reusable if the rows it staged are still there: its staging
          // table existed before this delivery (not dropped by an earlier cleanup, not expired).
          async () => stagedBefore,
        ))!;
      } catch (err) {
        const errors = dataErrors(err, chunk.uris);
        if (!errors) throw withoutRowContent(err);
        return { ok: false, problem: bigQueryDataErrorMessage(where, errors) };
      }
      const outputRows = Number((job.metadata as JobMetadata).statistics?.load?.outputRows ?? NaN);
      if (outputRows !== chunk.rows)
        return { ok: false, problem: `${where.table}/${where.municipality}: the manifest declares ${chunk.rows} rows, load job ${job.id} staged ${outputRows}` };
      return { ok: true };
    });
  }

  /** The last finished, successful attempt of `baseId`, if an earlier delivery got that far. */
  private async findFinished(baseId: string): Promise<Job | undefined> {
    for (let attempt = 0; attempt < this.o.maxJobAttempts; attempt++) {
      const job = this.bq.job(`${baseId}-a${attempt}`, { location: this.o.location });
      let meta: JobMetadata;
      try {
        [meta] = await job.getMetadata();
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw gcpError(err, 'warehouse', `looking up BigQuery job ${baseId}-a${attempt}`);
      }
      if (meta.status?.state !== 'DONE') return undefined; // still running: runJob will wait for it
      if (!meta.status.errorResult) return job;
    }
    return undefined;
  }

  /**
   * Run a job under a deterministic id, or reuse the one an earlier delivery started: "409 already
   * exists" means that job is ours. Waits until it is done. A transient job failure moves on to the
   * next attempt id; a terminal one throws TerminalError.
   */
  private async runJob(
    baseId: string,
    /** Built only when a new job is created; undefined: no job is needed (runJob returns undefined). */
    configuration: () => Promise<Record<string, unknown> | undefined>,
    labels: Record<string, string>,
    reusable: (job: Job) => Promise<boolean> = async () => true,
  ): Promise<Job | undefined> {
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < this.o.maxJobAttempts; attempt++) {
      const jobId = `${baseId}-a${attempt}`;
      let job: Job;
      let existed = false;
      const config = await configuration();
      if (!config) return undefined;
      try {
        [job] = await this.bq.createJob({ jobId, location: this.o.location, configuration: { ...config, labels: jobLabels(labels) } });
      } catch (err) {
        if (httpStatus(err) !== 409) {
          if (isLedgerConflict(err)) {
            lastError = new TransientError(`BigQuery job ${jobId}: the slice ledger changed during the load (a concurrent load): deciding again`, 'warehouse');
            continue;
          }
          const e = gcpError(err, 'warehouse', `BigQuery job ${jobId}`);
          // The job was created but failed at once (the response carried its errors): its id is spent.
          if (e.transient && (err as { response?: { jobReference?: unknown } })?.response?.jobReference) {
            lastError = e;
            continue;
          }
          throw e;
        }
        job = this.bq.job(jobId, { location: this.o.location });
        existed = true;
      }
      const meta = await this.waitDone(job, jobId);
      const failure = meta.status?.errorResult;
      if (!failure) {
        if (!existed || (await reusable(job))) return job;
        continue;
      }
      // The optimistic guard's ASSERT failed: a concurrent load changed the ledger after it was read.
      // Transient by nature: the next attempt reads the ledger again and decides again.
      if (isLedgerConflict({ errors: meta.status?.errors ?? [failure] })) {
        lastError = new TransientError(`BigQuery job ${jobId}: the slice ledger changed during the load (a concurrent load): deciding again`, 'warehouse');
        continue;
      }
      const e = gcpError({ errors: meta.status?.errors ?? [failure], reason: failure.reason, message: failure.message }, 'warehouse', `BigQuery job ${jobId}`);
      if (!e.transient) throw e;
      lastError = e;
    }
    throw new TransientError(`BigQuery job ${baseId} failed in ${this.o.maxJobAttempts} attempts: ${lastError?.message ?? 'no attempt reusable'}`, 'warehouse', {
      cause: lastError,
    });
  }

  private async waitDone(job: Job, jobId: string): Promise<JobMetadata> {
    const deadline = this.o.clock.now().getTime() + this.o.jobWaitMs;
    let delay = this.o.pollMs.initial;
    for (;;) {
      let meta: JobMetadata;
      try {
        [meta] = await job.getMetadata();
      } catch (err) {
        throw gcpError(err, 'warehouse', `polling BigQuery job ${jobId}`);
      }
      if (meta.status?.state === 'DONE') return meta;
      if (this.o.clock.now().getTime() + delay > deadline)
        throw new TransientError(`BigQuery job ${jobId} still ${meta.status?.state ?? 'pending'} after ${this.o.jobWaitMs} ms: the redelivery will wait for it`, 'warehouse');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(this.o.pollMs.max, delay * 2);
    }
  }

  private async results(job: Job): Promise<ApplyResultRow[]> {
    try {
      // Every page: the client follows BigQuery's page tokens by default (autoPaginate).
      const [rows] = await job.getQueryResults();
      return rows as ApplyResultRow[];
    } catch (err) {
      throw gcpError(err, 'warehouse', `reading the results of BigQuery job ${job.id}`);
    }
  }

  /** Slice outcomes in request order, as DuckDbWarehouse returns them. */
  private outcomes(loads: { table: TableDef; slices: SliceLoad[] }[], rows: ApplyResultRow[]): SliceOutcome[] {
    const byKey = new Map(rows.map((r) => [`${r.table_name}/${r.municipality}`, r]));
    return loads.flatMap(({ table, slices }) =>
      slices.map((s): SliceOutcome => {
        const r = byKey.get(`${table.name}/${s.municipality}`);
        if (!r) throw new TerminalError(`load result has no row for ${table.name}/${s.municipality}`, 'internal');
        const base = { municipality: s.municipality, table: table.name };
        if (r.status === 'already_loaded') return { ...base, status: 'already_loaded' };
        if (r.status === 'stale') return { ...base, status: 'stale', newerExtractedAt: String(r.newer_extracted_at) };
        if (r.status === 'failed') return { ...base, status: 'failed', errorClass: 'data', message: String(r.message) };
        return { ...base, status: 'loaded', rowsDeleted: Number(r.rows_deleted ?? 0), rowsInserted: Number(r.rows_inserted ?? 0) };
      }),
    );
  }
}

/**
 * The transaction's optimistic guard failed (its ASSERT, recognised by the message the script itself
 * gives it: BigQuery reports a failed ASSERT as a plain invalidQuery, with no reason of its own).
 */
function isLedgerConflict(err: unknown): boolean {
  // Always an object: the client's error, or the job's status errors.
  const e = err as { message?: string; errors?: { message?: string }[] };
  return [e.message, ...(e.errors ?? []).map((x) => x.message)].some((m) => typeof m === 'string' && m.includes(LEDGER_CONFLICT));
}

/** A job error that quotes a value (BigQuery's CSV errors do) keeps its class, loses the value and its raw cause. */
function withoutRowContent(err: unknown): unknown {
  if (!(err instanceof PipelineError)) return err;
  const { message, redacted } = redactRowContent(err.message);
  if (!redacted) return err;
  return err.transient ? new TransientError(message, err.errorClass) : new TerminalError(message, err.errorClass);
}

/** The outcome rows of a load that needed no transaction (nothing to load). */
function decidedRows(decided: readonly ApplyTable[]): ApplyResultRow[] {
  return decided.flatMap(({ table, slices }) =>
    slices.map(({ slice, decision }) => ({
      table_name: table.name,
      municipality: slice.municipality,
      status: decision.status,
      newer_extracted_at: decision.status === 'stale' ? decision.newerExtractedAt : null,
      message: decision.status === 'failed' ? decision.message : null,
      rows_deleted: null,
      rows_inserted: null,
    })),
  );
}

/**
 * The errors of a load job that failed on its data: terminal, and one of its `errors[]` is itself a
 * data error (reason `invalid`) pointing at a file of this chunk (BigQuery names the file in
 * `location`): a structural test, not a message match. Anything else (a bad configuration, a
 * permission, even on a named file) is not the data's fault and is rethrown as it was.
 */
function dataErrors(err: unknown, uris: readonly string[]): { message?: string; location?: string }[] | undefined {
  if (!(err instanceof PipelineError) || err.transient) return undefined;
  const errors = (err.cause as { errors?: { reason?: string; message?: string; location?: string }[] } | undefined)?.errors ?? [];
  const files = new Set(uris);
  return errors.some((e) => e.reason === 'invalid' && e.location && files.has(e.location)) ? errors : undefined;
}

/**
 * Job labels: they let billing and the jobs explorer group a run's jobs. BigQuery takes label values
 * of at most 63 characters of [a-z0-9_-]; every value here already is one (a run id, checked by the
 * RunId contract, a registry table name, a step name), so nothing is rewritten.
 */
function jobLabels(labels: Record<string, string>): Record<string, string> {
  return { pipeline: 'pec', ...labels };
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && errors.length === 0) {
        const item = items[next++]!;
        try {
          await work(item);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}
