import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { sslmodeOf, type MunicipalityEntry } from '../contracts/municipalities';
import { classifySourceError } from '../errors';

/** Limits that keep the extractor gentle on a server that also serves clinics. */
export interface SourceLimits {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  applicationName: string;
}

/**
 * One connection, one read-only REPEATABLE READ transaction: every table of a municipality is read
 * from the same snapshot, and any write attempt fails inside PostgreSQL itself. This module owns the
 * `pg` client; nothing else opens connections to a source. Query parameters are never logged.
 */
export class SourceSession {
  /** The first error of the connection itself (e.g. 57P01 when a DBA terminates the backend). */
  private lost: Error | undefined;

  private constructor(private readonly client: Client) {}

  static async open(m: MunicipalityEntry, password: string, limits: SourceLimits): Promise<SourceSession> {
    const sslmode = sslmodeOf(m);
    const client = new Client({
      host: m.connection.host,
      port: m.connection.port,
      database: m.connection.database,
      user: m.connection.user,
      password,
      ssl: sslmode === 'disable' ? false : { rejectUnauthorized: sslmode === 'verify-full' },
      application_name: limits.applicationName,
      connectionTimeoutMillis: limits.connectTimeoutMs,
      // Sent as startup parameters: they bind from the first statement on.
      statement_timeout: limits.statementTimeoutMs,
      lock_timeout: limits.lockTimeoutMs,
      idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
      // The whole session is read-only, not only the transaction below: a write after a stray COMMIT
      // (or any statement outside the snapshot) fails inside PostgreSQL with 25006 as well.
      options: '-c default_transaction_read_only=on',
      keepAlive: true,
    });
    const session = new SourceSession(client);
    // A connection dropped between queries surfaces here (the active query rejects as well). Keep
    // the first error: it carries the server's SQLSTATE, which later "not queryable" errors lack.
    client.on('error', (err: Error) => {
      session.lost ??= err;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      // 'connect': 42501 here means this role may not CONNECT to this database (e.g. a registry
      // entry pointing one municipality's role at another's database): credentials, not schema drift.
      throw classifySourceError(err, 'connect');
    }
    try {
      // Two statements, not one: what is sent to a source stays in the few forms test/faults/security.test.ts checks.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // 9.6/10 print 15 significant digits by default: 3 more make double precision round-trip exactly.
      await client.query("SET LOCAL extra_float_digits = 3; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL TimeZone = 'UTC'");
    } catch (err) {
      await client.end().catch(() => {});
      throw classifySourceError(err);
    }
    return session;
  }

  async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    // A lost connection needs no check here: pg rejects the query ("not queryable") and the catch
    // reports the first error instead.
    try {
      return (await this.client.query<T>(sql, params)).rows;
    } catch (err) {
      throw classifySourceError(this.lost ?? err);
    }
  }

  /**
   * Streams a COPY … TO STDOUT. `completed` answers PostgreSQL's own row count: the stream ends at
   * the server's CopyDone, but the count arrives in the CommandComplete after it — possibly in a later
   * packet, so reading `rowCount` when the stream ends can still see 0 (seen under load, once the
   * part writes became quick). It rejects if the query fails instead (the stream fails too).
   */
  copyOut(sql: string): Readable & { completed: Promise<number> } {
    // The connection died between two tables: fail with the server's reason (SQLSTATE), not pg's
    // generic one. destroy() emits the error on the next tick, once the caller has piped the stream.
    if (this.lost) {
      const completed = Promise.reject(this.lost);
      completed.catch(() => {}); // the caller learns it from the stream
      return Object.assign(new Readable().destroy(this.lost), { completed });
    }
    const stream = this.client.query(copyTo(sql)) as unknown as Readable & { rowCount: number; handleCommandComplete(msg: unknown): void };
    const completed = new Promise<number>((resolve, reject) => {
      // pg hands the CommandComplete to the active query, this stream (pg-copy-streams parses the count there).
      const handle = stream.handleCommandComplete.bind(stream);
      stream.handleCommandComplete = (msg: unknown) => {
        handle(msg);
        resolve(stream.rowCount);
      };
      stream.once('error', reject);
    });
    completed.catch(() => {}); // the caller learns a failure from the stream
    return Object.assign(stream, { completed });
  }

  /**
   * Ends the connection, and with it the read-only transaction: there is nothing to commit, so no
   * COMMIT round trip. A connection that is already gone is not an error here.
   */
  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

export interface SourceFacts {
  snapshotAt: string;
  pecVersion: string | null;
  dwProcessedAt: string | null;
  municipioIds: string[];
  columnsByTable: Map<string, Map<string, SourceColumn>>;
}

/** A source column as information_schema.columns describes it (read from pg_catalog: CATALOGUE_SQL): enough to skip checks the type makes moot. */
export interface SourceColumn {
  /** information_schema data_type, e.g. `numeric`, `character varying`, `timestamp without time zone`. */
  dataType: string;
  /** Declared length of varchar(n)/char(n), in characters. */
  maxChars: number | null;
  /** Declared numeric(p,s); null when unconstrained. */
  precision: number | null;
  scale: number | null;
}

/** The newest of dotted version numbers, compared part by part as numbers (`5.10` after `5.9`; a missing part is 0). */
export function newestVersion(versions: string[]): string | null {
  const parse = (v: string) => v.split('.').map(Number);
  return (
    versions
      .sort((a, b) => {
        const x = parse(a);
        const y = parse(b);
        for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
        return 0;
      })
      .at(-1) ?? null
  );
}

/**
 * The columns of the requested tables, as `information_schema.columns` describes them (same rows,
 * same `data_type` text, `character_maximum_length`, and `numeric_precision`/`numeric_scale` for
 * numeric only), read from pg_catalog directly. The view costs ~15–20 ms of planning in every new
 * backend (it joins a dozen catalogues and calls a function per column), paid once per
 * municipality per run — 650 times a day on servers that also serve clinics; this query plans in
 * ~2 ms. It keeps the view's filters: user columns only, not dropped, tables/views/foreign/
 * partitioned tables, and only columns this role may see (owner, or any column privilege), so a
 * role with column-level grants sees what it saw through the view. Works on 9.6 (no 'p' relkind
 * there: it simply matches nothing). Types behind a domain are described by their base type.
 */
export const CATALOGUE_SQL = `SELECT c.relname AS table_name, a.attname AS column_name,
  CASE WHEN t.typtype = 'd' THEN
    CASE WHEN bt.typelem <> 0 AND bt.typlen = -1 THEN 'ARRAY' WHEN nbt.nspname = 'pg_catalog' THEN pg_catalog.format_type(t.typbasetype, NULL) ELSE 'USER-DEFINED' END
  ELSE
    CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN 'ARRAY' WHEN nt.nspname = 'pg_catalog' THEN pg_catalog.format_type(a.atttypid, NULL) ELSE 'USER-DEFINED' END
  END AS data_type,
  CASE WHEN tt.mod = -1 THEN NULL WHEN tt.id IN (1042, 1043) THEN tt.mod - 4 WHEN tt.id IN (1560, 1562) THEN tt.mod END AS chars,
  CASE WHEN tt.id = 1700 AND tt.mod <> -1 THEN ((tt.mod - 4) >> 16) & 65535 END AS precision,
  CASE WHEN tt.id = 1700 AND tt.mod <> -1 THEN (tt.mod - 4) & 65535 END AS scale
FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace nc ON nc.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_namespace nt ON nt.oid = t.typnamespace
  LEFT JOIN (pg_catalog.pg_type bt JOIN pg_catalog.pg_namespace nbt ON nbt.oid = bt.typnamespace) ON t.typtype = 'd' AND t.typbasetype = bt.oid
  CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END AS id, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS mod) tt
WHERE nc.nspname = 'public' AND c.relname = ANY($1::text[])
  AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'f', 'p')
  AND (pg_catalog.pg_has_role(c.relowner, 'USAGE') OR pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))
ORDER BY c.relname, a.attnum`;

/**
 * Everything the extractor learns about a source before copying, all in the same snapshot, in at
 * most three round trips (each statement is a round trip to a server that also serves clinics, and
 * a wake-up of its backend): the snapshot time, which optional tables exist and the municipality's
 * ids in one; the catalogue; the PEC version and DW freshness in one, only where their tables exist.
 */
export async function readSourceFacts(s: SourceSession, ibge: string, tableNames: string[]): Promise<SourceFacts> {
  // SUS systems often store the 6-digit code (without the check digit): accept both.
  const [first] = await s.query<{ t: string; mig: boolean; rel: boolean; ids: string[] }>(
    `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t,
      to_regclass('public.tb_migracao') IS NOT NULL AS mig, to_regclass('public.tb_relatorio_processamento') IS NOT NULL AS rel,
      ARRAY(SELECT co_seq_dim_municipio::text FROM public.tb_dim_municipio WHERE co_ibge = $1 OR co_ibge = $2 ORDER BY 1) AS ids`,
    [ibge, ibge.slice(0, 6)],
  );
  const cols = await s.query<{ table_name: string; column_name: string; data_type: string; chars: number | null; precision: number | null; scale: number | null }>(CATALOGUE_SQL, [
    tableNames,
  ]);
  let versions: string[] = [];
  let dwProcessedAt: string | null = null;
  if (first!.mig || first!.rel) {
    const [extra] = await s.query<{ v: (string | null)[] | null; f: string | null }>(
      `SELECT ${first!.mig ? "ARRAY(SELECT DISTINCT substring(ds_filename from '^db/v([0-9]+(?:[.][0-9]+)*)/') FROM public.tb_migracao)" : 'NULL::text[]'} AS v,
        ${first!.rel ? `(SELECT to_char(max(dt_processamento), 'YYYY-MM-DD"T"HH24:MI:SS') FROM public.tb_relatorio_processamento)` : 'NULL::text'} AS f`,
    );
    versions = (extra!.v ?? []).filter((v): v is string => !!v);
    dwProcessedAt = extra!.f;
  }
  const columnsByTable = new Map<string, Map<string, SourceColumn>>();
  for (const c of cols) {
    if (!columnsByTable.has(c.table_name)) columnsByTable.set(c.table_name, new Map());
    columnsByTable.get(c.table_name)!.set(c.column_name, { dataType: c.data_type, maxChars: c.chars, precision: c.precision, scale: c.scale });
  }
  return { snapshotAt: first!.t, pecVersion: newestVersion(versions), dwProcessedAt, municipioIds: first!.ids, columnsByTable };
}
