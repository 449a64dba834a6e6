import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { COLUMN_TYPES, INGESTION_COLUMNS, landedColumns, STAGED_LINE_MAX_BYTES, type TableDef } from '../contracts/tables';
import type { SliceLoad, SliceOutcome, Warehouse } from '../ports';
import { quoteIdent } from '../extract/sql';
import { classifyDuckDbError } from '../errors';

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
  ) {}

  static async open(file: string, options: { readOnly?: boolean; beforeCommit?: (loadId: string) => void | Promise<void> } = {}): Promise<DuckDbWarehouse> {
    if (!options.readOnly) fs.mkdirSync(path.dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(file, options.readOnly ? { access_mode: 'READ_ONLY' } : {});
    const conn = await instance.connect();
    const w = new DuckDbWarehouse(file, instance, conn, options.beforeCommit);
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
        const cols = [...landedColumns(t), ...INGESTION_COLUMNS].map((c) => `${quoteIdent(c.name)} ${COLUMN_TYPES[c.type].duckdb}`);
        await this.conn.run(`CREATE TABLE IF NOT EXISTS raw.${quoteIdent(t.name)} (${cols.join(', ')})`);
      }
    });
  }

  async replaceSlices(loads: { table: TableDef; slices: SliceLoad[] }[], loadId: string): Promise<SliceOutcome[]> {
    return this.exclusive(async () => {
      const outcomes: SliceOutcome[] = [];
      await this.conn.run('BEGIN TRANSACTION');
      try {
        for (const { table, slices } of loads) for (const s of slices) outcomes.push(await this.replaceOne(table, s, loadId));
        await this.beforeCommit?.(loadId);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => {});
        const message = `warehouse load ${loadId} failed and was rolled back: ${(err as Error).message}`;
        // A classified failure keeps its class and retry decision (a rate limit stays `rate_limited`,
        // as BigQueryWarehouse reports it); DuckDB's own by its error type (shared/error-classes.ts).
        throw classifyDuckDbError(err, message);
      }
      return outcomes;
    });
  }

  private async replaceOne(table: TableDef, s: SliceLoad, loadId: string): Promise<SliceOutcome> {
    const base = { municipality: s.municipality, table: table.name };
    const ws = s.window?.start ?? null;
    const we = s.window?.end ?? null;
    const same = await this.rows(
      `SELECT 1 FROM ops.loaded_slices WHERE table_name = $1 AND municipality = $2 AND window_start IS NOT DISTINCT FROM CAST($3 AS DATE)
       AND window_end IS NOT DISTINCT FROM CAST($4 AS DATE) AND extracted_at = CAST($5 AS TIMESTAMP)`,
      [table.name, s.municipality, ws, we, toTimestamp(s.extractedAt)],
    );
    if (same.length > 0) return { ...base, status: 'already_loaded' };
    // A full refresh overlaps everything; two windows overlap when each starts before the other ends.
    const newer = await this.rows(
      `SELECT strftime(max(extracted_at), '%Y-%m-%dT%H:%M:%S.%fZ') AS newer FROM ops.loaded_slices
       WHERE table_name = $1 AND municipality = $2 AND extracted_at > CAST($3 AS TIMESTAMP)
         AND (window_start IS NULL OR $4::DATE IS NULL OR (window_start < CAST($5 AS DATE) AND CAST($4 AS DATE) < window_end))`,
      [table.name, s.municipality, toTimestamp(s.extractedAt), ws, we],
    );
    if (newer[0]?.newer) return { ...base, status: 'stale', newerExtractedAt: String(newer[0].newer) };

    const t = `raw.${quoteIdent(table.name)}`;
    const where = [`_municipality_ibge = $1`];
    const params: DuckDBValue[] = [s.municipality];
    if (s.window && table.mode.kind === 'window') {
      const col = quoteIdent(table.mode.column);
      if (table.mode.keyFormat === 'yyyymmdd') {
        where.push(`${col} >= $2 AND ${col} < $3`);
        params.push(BigInt(s.window.start.replaceAll('-', '')), BigInt(s.window.end.replaceAll('-', '')));
      } else {
        where.push(`${col} >= CAST($2 AS DATE) AND ${col} < CAST($3 AS DATE)`);
        params.push(s.window.start, s.window.end);
      }
    }
    const deleted = await this.conn.run(`DELETE FROM ${t} WHERE ${where.join(' AND ')}`, params);
    const rowsDeleted = Number(deleted.rowsChanged);

    const fileCols = s.columns.map((c) => `${sqlString(c.name)}: ${sqlString(COLUMN_TYPES[c.type].duckdb)}`).join(', ');
    const files = `[${s.uris.map(sqlString).join(', ')}]`;
    const names = s.columns.map((c) => quoteIdent(c.name)).join(', ');
    // The staged files carry the ingestion columns; the filter makes sure a slice only ever
    // inserts its own municipality's rows, whatever a file holds.
    const inserted = await this.conn.run(
      `INSERT INTO ${t} (${names})
       SELECT ${names} FROM read_csv(${files}, header = true, auto_detect = false, columns = {${fileCols}},
         delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, compression = 'gzip', max_line_size = ${STAGED_LINE_MAX_BYTES})
       WHERE _municipality_ibge = $1`,
      [s.municipality],
    );
    const rowsInserted = Number(inserted.rowsChanged);
    if (rowsInserted !== s.rows) throw new Error(`${table.name}/${s.municipality}: manifest declares ${s.rows} rows, staged files hold ${rowsInserted}`);
    await this.conn.run(
      `INSERT INTO ops.loaded_slices VALUES ($1, $2, CAST($3 AS DATE), CAST($4 AS DATE), $5, CAST($6 AS TIMESTAMP), $7, $8, now())`,
      [table.name, s.municipality, ws, we, s.runId, toTimestamp(s.extractedAt), BigInt(rowsInserted), loadId],
    );
    return { ...base, status: 'loaded', rowsDeleted, rowsInserted };
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

/** "2026-11-22T10:15:00.123456Z" → "2026-11-22 10:15:00.123456" (UTC, as DuckDB TIMESTAMP). */
function toTimestamp(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$|[+-]00:00$/, '');
}

/** A DuckDB string literal for values the code generated (file paths, type names). */
function sqlString(s: string): string {
  if (/[\u0000-\u001f]/.test(s)) throw new Error('control characters in a generated SQL string');
  return `'${s.replaceAll("'", "''")}'`;
}
