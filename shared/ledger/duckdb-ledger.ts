import type { DuckDBValue } from '@duckdb/node-api';
import type { DuckDbWarehouse } from '../local/duckdb-warehouse';
import { systemClock, type Clock, type LedgerWriter, type RunEvent, type RunObserver } from '../ports';
import type { Alert } from './alerts';
import { unknownColumnsOf, type RunReport } from './report';
import { LEDGER_TABLES, OPS_ALERTS, OPS_MUNICIPALITY_RUNS, OPS_RECONCILIATION, OPS_RUNS } from './schema';
import { OWNED_COLUMN_TYPES, duckDbCreateTable, type OwnedTable } from './table-schema';

/** Rows per INSERT of the report's rows (one JSON parameter each). */
const INSERT_CHUNK_ROWS = 10_000;

/** ISO-8601 UTC → DuckDB TIMESTAMP text (UTC). */
const ts = (iso: string | null): string | null => (iso === null ? null : iso.replace('T', ' ').replace(/Z$/, ''));

/**
 * The run ledger in the local warehouse's `ops` schema. It is a RunObserver, so municipality rows
 * follow a run live (extracting → staged → loaded, retries and their error class, attempts), and a
 * LedgerWriter, so the run report (built from the bucket, like in the cloud) replaces them with the
 * final state at the end of the run. Writes are serialised: events of one municipality can arrive
 * concurrently (duplicate deliveries) and each update is a read-modify-write.
 */
export class DuckDbLedger implements RunObserver, LedgerWriter {
  private chain: Promise<unknown> = Promise.resolve();
  /**
   * Observer hook: runs after each event's rows are written (outside the write queue, so it may query
   * the ledger). Tests snapshot the rows a failure left with it; nothing in the pipeline sets it.
   */
  afterRecord?: (e: RunEvent) => Promise<void>;

  private constructor(
    private readonly warehouse: DuckDbWarehouse,
    private readonly clock: Clock,
  ) {}

  static async open(warehouse: DuckDbWarehouse, clock: Clock = systemClock): Promise<DuckDbLedger> {
    for (const t of LEDGER_TABLES) {
      await warehouse.execute(duckDbCreateTable(t));
      // A warehouse made by an earlier version gains the columns added since (all nullable).
      for (const c of t.columns.filter((c) => !c.required))
        await warehouse.execute(`ALTER TABLE ${t.dataset}.${t.name} ADD COLUMN IF NOT EXISTS ${c.name} ${OWNED_COLUMN_TYPES[c.type].duckdb}`);
    }
    return new DuckDbLedger(warehouse, clock);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => {});
    return next;
  }

  private async ensureRow(runId: string, ibge: string): Promise<void> {
    await this.warehouse.execute(
      `INSERT INTO ops.municipality_runs (run_id, municipality, status, updated_at)
       SELECT $1, $2, 'pending', CAST($3 AS TIMESTAMP)
       WHERE NOT EXISTS (SELECT 1 FROM ops.municipality_runs WHERE run_id = $1 AND municipality = $2)`,
      [runId, ibge, ts(this.clock.now().toISOString())],
    );
  }

  private async update(runId: string, ibge: string, set: Record<string, DuckDBValue>, extraSql: string[] = []): Promise<void> {
    await this.ensureRow(runId, ibge);
    const cols = Object.keys(set);
    const types = new Map(OPS_MUNICIPALITY_RUNS.columns.map((c) => [c.name, OWNED_COLUMN_TYPES[c.type].duckdb]));
    const assignments = [...cols.map((c, i) => `${c} = CAST($${i + 3} AS ${types.get(c)})`), ...extraSql, `updated_at = CAST($${cols.length + 3} AS TIMESTAMP)`];
    await this.warehouse.execute(`UPDATE ops.municipality_runs SET ${assignments.join(', ')} WHERE run_id = $1 AND municipality = $2`, [
      runId,
      ibge,
      ...cols.map((c) => set[c]!),
      ts(this.clock.now().toISOString()),
    ]);
  }

  /** The run's report has been written with a final status: its rows are the final word. */
  private async reported(runId: string): Promise<boolean> {
    const rows = await this.warehouse.query(`SELECT 1 AS x FROM ops.runs WHERE run_id = $1 AND status NOT IN ('running') LIMIT 1`, [runId]);
    return rows.length > 0;
  }

  async record(e: RunEvent): Promise<void> {
    await this.apply(e);
    await this.afterRecord?.(e);
  }

  private apply(e: RunEvent): Promise<void> {
    return this.serial(async () => {
      // Deliveries that go on after the report (a source still retrying past the deadline) must not
      // turn a final `failed`/`late` back into `retrying`: the bucket keeps them for the next report.
      if ('runId' in e && (await this.reported(e.runId))) return;
      switch (e.kind) {
        case 'extract_started':
          await this.update(e.runId, e.municipality, { status: 'extracting' }, ['attempts = COALESCE(attempts, 0) + 1']);
          return;
        case 'extract_staged': {
          const m = e.manifest;
          await this.update(e.runId, e.municipality, {
            status: 'staged',
            rows: m.tables.reduce((n, t) => n + t.rows, 0),
            bytes: m.tables.reduce((n, t) => n + t.parts.reduce((b, p) => b + p.bytes, 0), 0),
            seconds: Math.max(0, (Date.parse(m.finishedAt) - Date.parse(m.extractedAt)) / 1000),
            pec_version: m.pecVersion,
            dw_processed_at: m.dwProcessedAt ? m.dwProcessedAt.replace('T', ' ').replace(/Z$/, '') : null,
            extracted_at: ts(new Date(Date.parse(m.extractedAt)).toISOString()),
            error_class: null,
            error_message: null,
            set_aside_values: m.setAside?.rows ?? 0,
            unknown_columns: unknownColumnsOf(m),
          });
          return;
        }
        case 'extract_failed':
          await this.update(e.runId, e.municipality, { status: e.willRetry ? 'retrying' : 'failed', error_class: e.errorClass, error_message: e.message.slice(0, 2000) });
          return;
        case 'load_finished':
          for (const ibge of new Set(e.outcomes.map((o) => o.municipality))) {
            // A slice the warehouse refused (a data error) fails its municipality, and only it.
            // (SliceOutcome's `failed` variant comes with the load path's data-error handling.)
            const refused = (e.outcomes as { municipality: string; table: string; status: string; errorClass?: string; message?: string }[]).find(
              (o) => o.municipality === ibge && o.status === 'failed',
            );
            await this.update(
              e.runId,
              ibge,
              refused
                ? {
                    status: 'failed',
                    error_class: refused.errorClass ?? 'data',
                    error_message: `${refused.table}: ${refused.message}`.slice(0, 2000),
                    loaded_at: ts(this.clock.now().toISOString()),
                  }
                : { status: 'loaded', loaded_at: ts(this.clock.now().toISOString()) },
            );
          }
          return;
        case 'load_failed':
          for (const ibge of e.municipalities) await this.update(e.runId, ibge, { error_class: e.errorClass, error_message: e.message.slice(0, 2000) });
          return;
        default:
          return;
      }
    });
  }

  /**
   * Rows go in as one JSON parameter per chunk (every value as text or null, cast by the column's type
   * in SQL): binding a parameter per value cost ~4 s for the 18,200 reconciliation rows of a
   * 650-municipality run (200 rows per INSERT, a CAST($n) per cell to parse and bind), the JSON form
   * ~0.2 s. Text keeps values exact (no JSON number formatting in between); no value reaches the SQL text.
   */
  private async insertRows(table: OwnedTable, rows: Record<string, unknown>[]): Promise<void> {
    const cols = table.columns;
    const select = cols.map((c, k) => `CAST(r->>${k} AS ${OWNED_COLUMN_TYPES[c.type].duckdb})`).join(', ');
    for (let i = 0; i < rows.length; i += INSERT_CHUNK_ROWS) {
      const chunk = rows.slice(i, i + INSERT_CHUNK_ROWS).map((r) =>
        cols.map((c) => {
          const v = r[c.name] ?? null;
          if (v === null) return null;
          if (v instanceof Date) return ts(v.toISOString());
          if (typeof v === 'string') return c.type === 'timestamp' ? ts(v) : v;
          if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
          throw new Error(`ops.${table.name}.${c.name}: cannot store a value of type ${typeof v}`);
        }),
      );
      await this.warehouse.execute(
        `INSERT INTO ops.${table.name} (${cols.map((c) => c.name).join(', ')}) SELECT ${select} FROM (SELECT unnest(CAST(CAST($1 AS JSON) AS JSON[])) AS r)`,
        [JSON.stringify(chunk)],
      );
    }
  }

  /** Replaces the run's rows with the report's; keeps the attempts the live observer counted. */
  writeReport(report: RunReport, alerts: Alert[]): Promise<void> {
    return this.serial(async () => {
      const runId = report.run.run_id;
      const attempts = new Map(
        (await this.warehouse.query(`SELECT municipality, attempts FROM ops.municipality_runs WHERE run_id = $1`, [runId])).map((r) => [
          String(r.municipality),
          r.attempts === null || r.attempts === undefined ? null : Number(r.attempts),
        ]),
      );
      for (const t of [OPS_RUNS, OPS_MUNICIPALITY_RUNS, OPS_RECONCILIATION, OPS_ALERTS]) await this.warehouse.execute(`DELETE FROM ops.${t.name} WHERE run_id = $1`, [runId]);
      await this.insertRows(OPS_RUNS, [{ ...report.run, alerts: alerts.length }]);
      await this.insertRows(
        OPS_MUNICIPALITY_RUNS,
        report.municipalities.map((m) => ({ ...m, attempts: m.attempts ?? attempts.get(m.municipality) ?? null })),
      );
      await this.insertRows(OPS_RECONCILIATION, report.reconciliation as unknown as Record<string, unknown>[]);
      const raisedAt = report.run.finished_at;
      await this.insertRows(
        OPS_ALERTS,
        alerts.map((a) => ({ run_id: a.runId, rule: a.rule, severity: a.severity, municipality: a.municipality ?? null, message: a.message, raised_at: raisedAt })),
      );
    });
  }

  async unreportedRuns(): Promise<string[]> {
    const rows = await this.warehouse.query(`SELECT DISTINCT run_id FROM ops.loaded_slices WHERE run_id NOT IN (SELECT run_id FROM ops.runs) ORDER BY run_id`);
    return rows.map((r) => String(r.run_id));
  }
}

/** Read side of the ledger, for `npm run status` (works on a read-only warehouse). */
export async function latestMunicipalityStates(warehouse: Pick<DuckDbWarehouse, 'query'>): Promise<Record<string, unknown>[]> {
  return warehouse.query(`
    WITH ranked AS (
      SELECT mr.*, r.trigger, r.started_at,
        ROW_NUMBER() OVER (PARTITION BY mr.municipality ORDER BY COALESCE(r.started_at, mr.updated_at) DESC, mr.run_id DESC) AS rn
      FROM ops.municipality_runs mr LEFT JOIN ops.runs r USING (run_id)
    ),
    last_loaded AS (SELECT municipality, max(loaded_at) AS last_loaded_at FROM ops.municipality_runs GROUP BY 1),
    recon AS (
      SELECT run_id, municipality, count(*) FILTER (WHERE status = 'mismatch') AS mismatches FROM ops.reconciliation GROUP BY 1, 2
    )
    SELECT
      ranked.municipality, ranked.run_id, ranked.trigger, ranked.status, ranked.attempts, ranked.rows,
      ranked.pec_version, strftime(ranked.dw_processed_at, '%Y-%m-%d %H:%M') AS dw_processed_at,
      strftime(last_loaded.last_loaded_at, '%Y-%m-%d %H:%M') AS last_loaded_at,
      COALESCE(recon.mismatches, 0) AS mismatches, ranked.error_class
    FROM ranked
    JOIN last_loaded USING (municipality)
    LEFT JOIN recon ON recon.run_id = ranked.run_id AND recon.municipality = ranked.municipality
    WHERE ranked.rn = 1
    ORDER BY ranked.municipality`);
}
