import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { COLUMN_TYPES, duckDbColumnType, INGESTION_COLUMNS, landedColumns, quoteIdent, STAGED_LINE_MAX_BYTES, type TableDef } from '../contracts/tables';
import type { SliceLoad, SliceOutcome, Warehouse } from '../ports';
import { classifyDuckDbError } from '../errors';
import { decideSlice, MICROS_FORMAT, oldestExtraction, type LedgerSlice } from '../load/slice-guard';
import { duckDbDataErrorMessage, isDuckDbDataError, redactRowContent } from '../load/data-errors';

/**
 * DuckDB's defaults take 80 % of the machine's RAM and one thread per core; the pipeline shares the
 * machine with PostgreSQL and the extract workers, so both are set deliberately. Measured with
 * scripts/measure-load-rss.ts (peak RSS of a process loading one 2,000,000-row slice of
 * tb_fat_atendimento_individual, 526 MB of gzip CSV, on 2 cores): defaults 2,854 MB; 256MB and 2
 * threads 499 MB; 256MB and 1 thread 510 MB; 160MB and 2 threads 339 MB and 397 MB (two runs). That was one staged
 * file; the extractor stages a 2 M-row slice as 5 parts, which read_csv buffers in parallel (a 32 MiB block
 * each, csvBufferBytes): under 160MB it failed with "could not allocate block of size 32.0 MiB", under 256MB
 * it loads with a 491 MB peak (`npm run bench`, docs/benchmarks.md). The limit bounds DuckDB's
 * buffer manager (the staging table and the raw table's new blocks spill to `<file>.tmp`); Node and
 * the CSV readers' buffers (per thread) sit on top of it, so 1 thread saves nothing and 2 keep the
 * load parallel. A load runs under `loadMemoryLimit` (target: ≤ 500 MB RSS with margin); other work
 * (marts, queries) under `memoryLimit`, which leaves their joins and aggregates room before spilling.
 * 2GB, not 1GB: the fact mart's refresh is one statement of ~1,300 operators (280 hash joins, 22
 * materialized CTEs) whose build sides are pinned together; at 650 municipalities (the bench's, 200
 * citizens each) it failed under 1GB ("failed to pin block of size 256.0 KiB (953.4 MiB/953.6 MiB
 * used)"), so every daily run retried it 4 times and ended with the mart not refreshed. Under 1.25GB,
 * 1.5GB and 2GB it ran in 2.8–3.0 s with a process peak of 1.15 GB: the limit is a ceiling, not an
 * allocation (docs/benchmarks.md, the 650 section, 2026-12-06 17:25).
 */
export const DUCKDB_SETTINGS = { memoryLimit: '2GB', loadMemoryLimit: '256MB', threads: 2 } as const;
/**
 * read_csv's buffer, per file it reads: two lines' worth of the longest line the files can hold. DuckDB
 * defaults it to 16 × max_line_size: with the 16 MiB lines the type contract allows
 * (STAGED_LINE_MAX_BYTES) that is a 256 MiB block per reader, over the load's memory limit. No line is
 * longer than the files' whole CSV, which the manifest declares (SliceLoad.csvBytes): a wave of small
 * municipalities' files (a few KB each) reads them with 1 MiB buffers instead of 32 MiB ones, which cost
 * ~35 % more CPU per file (400 of the 650 run's tb_fat_cidadao_pec files: 150–212 vs 93–126 CPU-ms).
 */
function csvBufferBytes(slices: readonly SliceLoad[]): { maxLine: number; buffer: number } {
  const longest = Math.min(STAGED_LINE_MAX_BYTES, Math.max(...slices.map((s) => s.csvBytes ?? STAGED_LINE_MAX_BYTES)));
  const buffer = Math.max(CSV_BUFFER_MIN_BYTES, 2 * longest);
  return { maxLine: buffer / 2, buffer };
}
const CSV_BUFFER_MIN_BYTES = 1 << 20;

/**
 * The local warehouse: a DuckDB file laid out like the BigQuery datasets (schemas raw, ops, marts).
 * DuckDB allows one writer, so every statement goes through one connection, one at a time.
 */
export class DuckDbWarehouse implements Warehouse {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    /** Fault injection for tests: called inside the load transaction, before COMMIT. */
    private readonly beforeCommit?: (loadId: string) => void | Promise<void>,
    private readonly memory: { work: string; load: string } = { work: DUCKDB_SETTINGS.memoryLimit, load: DUCKDB_SETTINGS.loadMemoryLimit },
  ) {}

  static async open(
    file: string,
    options: { readOnly?: boolean; beforeCommit?: (loadId: string) => void | Promise<void>; memoryLimit?: string; loadMemoryLimit?: string; threads?: number } = {},
  ): Promise<DuckDbWarehouse> {
    if (!options.readOnly) fs.mkdirSync(path.dirname(file), { recursive: true });
    const settings: Record<string, string> = {
      memory_limit: options.memoryLimit ?? DUCKDB_SETTINGS.memoryLimit,
      threads: String(options.threads ?? DUCKDB_SETTINGS.threads),
      // Large INSERT … SELECT and staging need not keep file order: lets DuckDB stream and spill.
      preserve_insertion_order: 'false',
      temp_directory: `${file}.tmp`,
    };
    const instance = await DuckDBInstance.create(file, options.readOnly ? { ...settings, access_mode: 'READ_ONLY' } : settings);
    const conn = await instance.connect();
    const w = new DuckDbWarehouse(file, instance, conn, options.beforeCommit, {
      work: settings.memory_limit!,
      load: options.loadMemoryLimit ?? DUCKDB_SETTINGS.loadMemoryLimit,
    });
    if (!options.readOnly) {
      await conn.run('CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS ops; CREATE SCHEMA IF NOT EXISTS marts;');
      await conn.run(`CREATE TABLE IF NOT EXISTS ops.loaded_slices (
        table_name VARCHAR NOT NULL, municipality VARCHAR NOT NULL, window_start DATE, window_end DATE,
        run_id VARCHAR NOT NULL, extracted_at TIMESTAMP NOT NULL, rows_loaded BIGINT NOT NULL,
        load_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL)`);
    }
    return w;
  }

  /** Serialise work on the single connection. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  async ensureRawTables(tables: readonly TableDef[]): Promise<void> {
    await this.exclusive(async () => {
      for (const t of tables) {
        const cols = [...landedColumns(t), ...INGESTION_COLUMNS].map((c) => `${quoteIdent(c.name)} ${duckDbColumnType(c)}`);
        await this.conn.run(`CREATE TABLE IF NOT EXISTS raw.${quoteIdent(t.name)} (${cols.join(', ')})`);
      }
    });
  }

  async replaceSlices(loads: { table: TableDef; slices: SliceLoad[] }[], loadId: string): Promise<SliceOutcome[]> {
    return this.exclusive(async () => {
      const outcomes = new Map<string, SliceOutcome>();
      const key = (table: string, m: string) => `${table}/${m}`;
      const temps: string[] = [];
      await this.conn.run(`SET memory_limit = ${sqlString(this.memory.load)}`);
      try {
        // 1. The guard (shared/load/slice-guard.ts) over the ledger rows of these (table, municipality)
        //    pairs. Read before the transaction: this connection is the only writer (exclusive(), and
        //    DuckDB lets one process open the file for writing), so nothing changes the ledger between.
        const all = loads.flatMap(({ table, slices }) => slices.map((s) => ({ table, s })));
        if (all.length === 0) return [];
        await this.tempTable(
          '_load_request',
          ['table_name', 'municipality'],
          all.map(({ table, s }) => [table.name, s.municipality]),
        );
        temps.push('_load_request');
        const ledger = (
          await this.rows(
            `SELECT l.table_name, l.municipality, strftime(l.window_start, '%Y-%m-%d') AS ws, strftime(l.window_end, '%Y-%m-%d') AS we,
               strftime(l.extracted_at, '${MICROS_FORMAT.duckdb}') AS at
             FROM ops.loaded_slices AS l
             WHERE l.extracted_at >= CAST($1 AS TIMESTAMP)
               AND EXISTS (SELECT 1 FROM _load_request AS q WHERE q.table_name = l.table_name AND q.municipality = l.municipality)`,
            [toTimestamp(oldestExtraction(all.map((a) => a.s)))],
          )
        ).map((r): LedgerSlice => ({
          table: String(r.table_name),
          municipality: String(r.municipality),
          windowStart: (r.ws as string | null) ?? null,
          windowEnd: (r.we as string | null) ?? null,
          extractedAt: String(r.at),
        }));
        const toLoad: { table: TableDef; slices: SliceLoad[] }[] = [];
        for (const { table, slices } of loads) {
          const load: SliceLoad[] = [];
          for (const s of slices) {
            const d = decideSlice(table.name, s, ledger);
            const base = { municipality: s.municipality, table: table.name };
            if (d.status === 'already_loaded') outcomes.set(key(table.name, s.municipality), { ...base, status: 'already_loaded' });
            else if (d.status === 'stale') outcomes.set(key(table.name, s.municipality), { ...base, status: 'stale', newerExtractedAt: d.newerExtractedAt });
            else load.push(s);
          }
          if (load.length > 0) toLoad.push({ table, slices: load });
        }

        // 2. Stage, per table, every file of the slices to load with ONE read_csv (outside the
        //    transaction: a failed statement aborts a DuckDB transaction, and a bad file must only fail
        //    its own slice), then check each slice's row count against its manifest.
        await this.tempTable(
          '_load_files',
          ['uri', 'municipality'],
          toLoad.flatMap(({ slices }) => slices.flatMap((s) => s.uris.map((u) => [u, s.municipality]))),
        );
        temps.push('_load_files');
        const ready: { table: TableDef; stage: string; slices: SliceLoad[]; inserted: Map<string, number> }[] = [];
        for (const [i, { table, slices }] of toLoad.entries()) {
          const stage = `_stage_${i}`;
          temps.push(stage);
          const failed = await this.stage(table, stage, slices);
          const counts = new Map(
            (await this.rows(`SELECT _owner, count(*)::BIGINT AS n, count(*) FILTER (WHERE _municipality_ibge = _owner)::BIGINT AS own FROM ${stage} GROUP BY _owner`)).map((r) => [
              String(r._owner),
              { n: Number(r.n), own: Number(r.own) },
            ]),
          );
          const good: SliceLoad[] = [];
          const inserted = new Map<string, number>();
          for (const s of slices) {
            const base = { municipality: s.municipality, table: table.name };
            const c = counts.get(s.municipality) ?? { n: 0, own: 0 };
            const problem =
              failed.get(s.municipality) ??
              (c.n !== s.rows || c.own !== s.rows
                ? `${table.name}/${s.municipality}: the manifest declares ${s.rows} rows, the staged files hold ${c.n}${c.own !== c.n ? ` (${c.n - c.own} of another municipality)` : ''}`
                : undefined);
            if (problem) outcomes.set(key(table.name, s.municipality), { ...base, status: 'failed', errorClass: 'data', message: problem });
            else {
              good.push(s);
              inserted.set(s.municipality, c.own);
            }
          }
          if (good.length > 0) ready.push({ table, stage, slices: good, inserted });
        }
        await this.tempTable(
          '_load_slices_in',
          ['table_name', 'municipality', 'window_start', 'window_end', 'run_id', 'extracted_at', 'rows_loaded'],
          ready.flatMap(({ table, slices }) =>
            slices.map((s) => [table.name, s.municipality, s.window?.start ?? null, s.window?.end ?? null, s.runId, toTimestamp(s.extractedAt), String(s.rows)]),
          ),
        );
        temps.push('_load_slices_in', '_load_slices');
        await this.conn
          .run(`CREATE OR REPLACE TEMP TABLE _load_slices AS SELECT table_name, municipality, CAST(window_start AS DATE) AS window_start, CAST(window_end AS DATE) AS window_end,
          CAST(strftime(CAST(window_start AS DATE), '%Y%m%d') AS BIGINT) AS start_key, CAST(strftime(CAST(window_end AS DATE), '%Y%m%d') AS BIGINT) AS end_key,
          run_id, CAST(extracted_at AS TIMESTAMP) AS extracted_at, CAST(rows_loaded AS BIGINT) AS rows_loaded FROM _load_slices_in`);

        // 3. One transaction: per table one DELETE (semi-join on the slices, window end EXCLUSIVE) and
        //    one INSERT from the staging table; the ledger rows in one INSERT.
        await this.conn.run('BEGIN TRANSACTION');
        try {
          for (const { table, stage, slices, inserted } of ready) {
            const t = `raw.${quoteIdent(table.name)}`;
            const pred = slicePredicate(table);
            const deleted = new Map(
              (
                await this.rows(
                  `SELECT d.municipality, count(*)::BIGINT AS n FROM ${t} AS r JOIN _load_slices AS d ON d.table_name = $1 AND r._municipality_ibge = d.municipality WHERE ${pred} GROUP BY d.municipality`,
                  [table.name],
                )
              ).map((r) => [String(r.municipality), Number(r.n)]),
            );
            await this.conn.run(`DELETE FROM ${t} AS r USING _load_slices AS d WHERE d.table_name = $1 AND r._municipality_ibge = d.municipality AND ${pred}`, [table.name]);
            const names = landedNames(table);
            // A slice only ever inserts its own municipality's rows, whatever a file holds (counted above).
            await this.conn.run(
              `INSERT INTO ${t} (${names}) SELECT ${names} FROM ${stage} AS s
               WHERE s._municipality_ibge = s._owner AND s._owner IN (SELECT municipality FROM _load_slices WHERE table_name = $1)`,
              [table.name],
            );
            for (const s of slices)
              outcomes.set(key(table.name, s.municipality), {
                municipality: s.municipality,
                table: table.name,
                status: 'loaded',
                rowsDeleted: deleted.get(s.municipality) ?? 0,
                rowsInserted: inserted.get(s.municipality) ?? 0,
              });
          }
          await this.conn.run(
            `INSERT INTO ops.loaded_slices SELECT table_name, municipality, window_start, window_end, run_id, extracted_at, rows_loaded, $1, now() FROM _load_slices`,
            [loadId],
          );
          await this.beforeCommit?.(loadId);
          await this.conn.run('COMMIT');
        } catch (err) {
          await this.conn.run('ROLLBACK').catch(() => {});
          throw err;
        }
      } catch (err) {
        // An error that still quotes a row (an unexpected CSV failure) is redacted, and its raw form
        // does not travel as the cause (loggers print causes).
        const { message: detail, redacted } = redactRowContent((err as Error).message);
        const message = `warehouse load ${loadId} failed and was rolled back: ${detail}`;
        const cause = redacted ? undefined : err;
        // A classified failure keeps its class and retry decision (a rate limit stays `rate_limited`,
        // as BigQueryWarehouse reports it); DuckDB's own by its error type (shared/error-classes.ts).
        throw classifyDuckDbError(err, message, cause);
      } finally {
        for (const t of temps) await this.conn.run(`DROP TABLE IF EXISTS temp.main.${t}`).catch(() => {});
        await this.conn.run(`SET memory_limit = ${sqlString(this.memory.work)}`).catch(() => {});
      }
      return loads.flatMap(({ table, slices }) => slices.map((s) => outcomes.get(key(table.name, s.municipality))!));
    });
  }

  /**
   * Stage a table's slices into temp table `stage` (the raw table's columns plus `_owner`, the
   * municipality whose manifest lists the file). Normally one read_csv per column layout over every
   * file. When that fails on the data, the slices are staged one municipality at a time to find the
   * unloadable one(s): returned with a message naming where, never what (data-errors.ts).
   */
  private async stage(table: TableDef, stage: string, slices: SliceLoad[]): Promise<Map<string, string>> {
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT CAST(NULL AS VARCHAR) AS _owner, * FROM raw.${quoteIdent(table.name)} LIMIT 0`);
    const bySignature = new Map<string, SliceLoad[]>();
    // A slice without parts stages nothing (its row count, 0, is still checked).
    for (const s of slices.filter((x) => x.uris.length > 0)) {
      const sig = JSON.stringify(s.columns);
      bySignature.set(sig, [...(bySignature.get(sig) ?? []), s]);
    }
    const failed = new Map<string, string>();
    try {
      for (const group of bySignature.values()) await this.conn.run(stageSql(stage, group));
      return failed;
    } catch (err) {
      if (!isDuckDbDataError((err as Error).message)) throw err;
    }
    await this.conn.run(`DELETE FROM ${stage}`);
    for (const s of slices.filter((x) => x.uris.length > 0)) {
      try {
        await this.conn.run(stageSql(stage, [s]));
      } catch (err) {
        const raw = (err as Error).message;
        if (!isDuckDbDataError(raw)) throw err;
        failed.set(s.municipality, duckDbDataErrorMessage({ table: table.name, municipality: s.municipality }, raw));
      }
    }
    return failed;
  }

  /** A connection-local temp table of VARCHAR columns, filled through an appender (no SQL text built from values). */
  private async tempTable(name: string, columns: string[], rows: (string | null)[][]): Promise<void> {
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${name} (${columns.map((c) => `${quoteIdent(c)} VARCHAR`).join(', ')})`);
    const appender = await this.conn.createAppender(name, 'main', 'temp');
    try {
      for (const row of rows) {
        for (const v of row)
          if (v === null) appender.appendNull();
          else appender.appendVarchar(v);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  private async rows(sql: string, params: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return (await this.conn.runAndReadAll(sql, params)).getRowObjectsJson() as Record<string, unknown>[];
  }

  /** Run a read query (the `npm run query` command, status, tests). */
  query(sql: string, params: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return this.exclusive(() => this.rows(sql, params));
  }

  /** Run statements (marts, ledger). */
  async execute(sql: string, params: DuckDBValue[] = []): Promise<void> {
    await this.exclusive(() => this.conn.run(sql, params));
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** The raw table's rows of slice row `d` (alias `r`): municipality is joined by the caller; the window's end is exclusive. */
function slicePredicate(table: TableDef): string {
  if (table.mode.kind !== 'window') return 'TRUE';
  const col = `r.${quoteIdent(table.mode.column)}`;
  return table.mode.keyFormat === 'yyyymmdd'
    ? `(d.window_start IS NULL OR (${col} >= d.start_key AND ${col} < d.end_key))`
    : `(d.window_start IS NULL OR (${col} >= d.window_start AND ${col} < d.window_end))`;
}

function landedNames(table: TableDef): string {
  return [...landedColumns(table), ...INGESTION_COLUMNS].map((c) => quoteIdent(c.name)).join(', ');
}

/** INSERT the files of `slices` (one column layout) into the staging table, each row tagged with the municipality whose manifest lists its file. */
function stageSql(stage: string, slices: readonly SliceLoad[]): string {
  const columns = slices[0]!.columns;
  const fileCols = columns.map((c) => `${sqlString(c.name)}: ${sqlString(COLUMN_TYPES[c.type].duckdb)}`).join(', ');
  const csv = csvBufferBytes(slices);
  const files = `[${slices
    .flatMap((s) => s.uris)
    .map(sqlString)
    .join(', ')}]`;
  return `INSERT INTO ${stage} BY NAME SELECT f.municipality AS _owner, ${columns.map((c) => `c.${quoteIdent(c.name)}`).join(', ')}
    FROM read_csv(${files}, header = true, auto_detect = false, columns = {${fileCols}},
      delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, compression = 'gzip', max_line_size = ${csv.maxLine}, buffer_size = ${csv.buffer}, filename = '_load_file') AS c
    JOIN _load_files AS f ON f.uri = c._load_file`;
}

/** "2026-11-22T10:15:00.123456Z" → "2026-11-22 10:15:00.123456" (UTC, as DuckDB TIMESTAMP). */
function toTimestamp(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$|[+-]00:00$/, '');
}

/** A DuckDB string literal for values the code generated (file paths, type names). */
function sqlString(s: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is this check's purpose
  if (/[\u0000-\u001f]/.test(s)) throw new Error('control characters in a generated SQL string');
  return `'${s.replaceAll("'", "''")}'`;
}
