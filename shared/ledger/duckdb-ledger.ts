import type { DuckDbWarehouse } from '../local/duckdb-warehouse';
import { systemClock, type Clock, type LedgerWriter, type RunEvent, type RunObserver, type SliceOutcome } from '../ports';
import type { Alert } from './alerts';
import { unknownColumnsOf, type RunReport } from './report';
import { LEDGER_TABLES, OPS_ALERTS, OPS_MUNICIPALITY_RUNS, OPS_RECONCILIATION, OPS_RUNS } from './schema';
import { OWNED_COLUMN_TYPES, duckDbCreateTable, type OwnedTable } from './table-schema';

/** Rows per INSERT of the report's rows (one JSON parameter each). */
const INSERT_CHUNK_ROWS = 10_000;

/** ISO-8601 UTC → DuckDB TIMESTAMP text (UTC). */
const ts = (iso: string | null): string | null => (iso === null ? null : iso.replace('T', ' ').replace(/Z$/, ''));

/** A change to one ledger row: columns to set, and how many extract deliveries it counts. */
interface RowChange {
  runId: string;
  municipality: string;
  set: Record<string, string | number | null>;
  /** Extract deliveries started (added to the row's count). */
  attempts?: number;
}

interface PendingEvent {
  event: RunEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The run ledger in the local warehouse's `ops` schema. It is a RunObserver, so municipality rows
 * follow a run live (extracting → staged → loaded, retries and their error class, attempts), and a
 * LedgerWriter, so the run report (built from the bucket, like in the cloud) replaces them with the
 * final state at the end of the run. Writes are serialised, in the order the events were recorded.
 *
 * Events queue while the warehouse's one connection is busy (a load wave holds it for seconds) and
 * are then written together: the changes of a batch folded per row, in event order (later columns
 * win, attempts add up), and one statement per kind of change, not three statements per event.
 * Written one by one, the ~2,000 events of a 650-municipality run were ~6,000 statements, and every
 * extract handler that waited for its row stalled behind each load wave (the runtime no longer
 * waits: see createLocalPipeline). With `afterRecord` set, a batch never holds two events of the
 * same row, so the hook sees each event's row before the row's next event.
 */
export class DuckDbLedger implements RunObserver, LedgerWriter {
  private chain: Promise<unknown> = Promise.resolve();
  private pending: PendingEvent[] = [];
  /**
   * Observer hook: runs after each event's rows are written, before the next batch (it may query the
   * warehouse, not record). Tests snapshot the rows a failure left with it; nothing in the pipeline sets it.
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

  /** Resolves once every event recorded so far is written (or has failed). */
  async settled(): Promise<void> {
    await this.chain;
  }

  /** Resolves when the event's rows are written (and `afterRecord` has seen them). */
  record(e: RunEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event: e, resolve, reject });
      if (this.pending.length === 1) void this.serial(() => this.writePending());
    });
  }

  private async writePending(): Promise<void> {
    const events = this.pending.splice(0);
    for (const batch of this.afterRecord ? batchesOfDistinctRows(events) : [events]) {
      try {
        await this.writeBatch(batch.map((p) => p.event));
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      for (const p of batch) await (this.afterRecord?.(p.event) ?? Promise.resolve()).then(p.resolve, p.reject);
    }
  }

  private async writeBatch(events: RunEvent[]): Promise<void> {
    const runIds = [...new Set(events.flatMap((e) => ('runId' in e ? [e.runId] : [])))];
    if (runIds.length === 0) return;
    // Deliveries that go on after the report (a source still retrying past the deadline) must not
    // turn a final `failed`/`late` back into `retrying`: the bucket keeps them for the next report.
    const reported = new Set(
      (
        await this.warehouse.query(`SELECT DISTINCT run_id FROM ops.runs WHERE status <> 'running' AND list_contains(CAST(CAST($1 AS JSON) AS VARCHAR[]), run_id)`, [
          JSON.stringify(runIds),
        ])
      ).map((r) => String(r.run_id)),
    );
    const byRow = new Map<string, RowChange>();
    for (const c of events.filter((e) => !('runId' in e) || !reported.has(e.runId)).flatMap((e) => this.changesOf(e))) {
      const key = JSON.stringify([c.runId, c.municipality]);
      const before = byRow.get(key);
      byRow.set(key, before ? { ...c, set: { ...before.set, ...c.set }, attempts: (before.attempts ?? 0) + (c.attempts ?? 0) } : c);
    }
    const changes = [...byRow.values()];
    if (changes.length === 0) return;
    const now = ts(this.clock.now().toISOString());
    const rows = 'SELECT unnest(CAST(CAST($1 AS JSON) AS JSON[])) AS r';
    await this.warehouse.execute(
      `INSERT INTO ops.municipality_runs (run_id, municipality, status, updated_at)
       SELECT DISTINCT (r->>0), (r->>1), 'pending', CAST($2 AS TIMESTAMP) FROM (${rows})
       WHERE NOT EXISTS (SELECT 1 FROM ops.municipality_runs AS m WHERE m.run_id = (r->>0) AND m.municipality = (r->>1))`,
      [JSON.stringify(changes.map((c) => [c.runId, c.municipality])), now],
    );
    // One UPDATE per shape of change (which columns it sets): a handful per batch.
    const byShape = new Map<string, RowChange[]>();
    for (const c of changes) {
      const shape = JSON.stringify([Object.keys(c.set).sort(), (c.attempts ?? 0) > 0]);
      byShape.set(shape, [...(byShape.get(shape) ?? []), c]);
    }
    const types = new Map(OPS_MUNICIPALITY_RUNS.columns.map((c) => [c.name, OWNED_COLUMN_TYPES[c.type].duckdb]));
    for (const group of byShape.values()) {
      const cols = Object.keys(group[0]!.set).sort();
      const assignments = [
        ...cols.map((c, i) => `${c} = CAST((u.r->>${i + 3}) AS ${types.get(c)})`),
        ...((group[0]!.attempts ?? 0) > 0 ? ['attempts = COALESCE(m.attempts, 0) + CAST((u.r->>2) AS BIGINT)'] : []),
        'updated_at = CAST($2 AS TIMESTAMP)',
      ];
      await this.warehouse.execute(
        `UPDATE ops.municipality_runs AS m SET ${assignments.join(', ')} FROM (${rows}) AS u WHERE m.run_id = (u.r->>0) AND m.municipality = (u.r->>1)`,
        [JSON.stringify(group.map((c) => [c.runId, c.municipality, String(c.attempts ?? 0), ...cols.map((k) => (c.set[k] === null ? null : String(c.set[k])))])), now],
      );
    }
  }

  /** The ledger rows an event changes, and how (values as the column's text; timestamps in DuckDB's form). */
  private changesOf(e: RunEvent): RowChange[] {
    switch (e.kind) {
      case 'extract_started':
        return [{ runId: e.runId, municipality: e.municipality, set: { status: 'extracting' }, attempts: 1 }];
      case 'extract_staged': {
        const m = e.manifest;
        return [
          {
            runId: e.runId,
            municipality: e.municipality,
            set: {
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
            },
          },
        ];
      }
      case 'extract_failed':
        return [
          {
            runId: e.runId,
            municipality: e.municipality,
            set: { status: e.willRetry ? 'retrying' : 'failed', error_class: e.errorClass, error_message: e.message.slice(0, 2000) },
          },
        ];
      case 'load_finished': {
        const loadedAt = ts(this.clock.now().toISOString());
        return [...new Set(e.outcomes.map((o) => o.municipality))].map((ibge): RowChange => {
          // A slice the warehouse refused (a data error) fails its municipality, and only it.
          const refused = e.outcomes.find((o): o is Extract<SliceOutcome, { status: 'failed' }> => o.municipality === ibge && o.status === 'failed');
          return {
            runId: e.runId,
            municipality: ibge,
            set: refused
              ? { status: 'failed', error_class: refused.errorClass, error_message: `${refused.table}: ${refused.message}`.slice(0, 2000), loaded_at: loadedAt }
              : { status: 'loaded', loaded_at: loadedAt },
          };
        });
      }
      case 'load_failed':
        return e.municipalities.map((ibge) => ({ runId: e.runId, municipality: ibge, set: { error_class: e.errorClass, error_message: e.message.slice(0, 2000) } }));
      default:
        return [];
    }
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

/** Splits queued events into batches in which no ledger row is changed twice (in order). */
function batchesOfDistinctRows(events: PendingEvent[]): PendingEvent[][] {
  const batches: PendingEvent[][] = [];
  let batch: PendingEvent[] = [];
  let rows = new Set<string>();
  for (const p of events) {
    const e = p.event;
    const keys =
      'runId' in e
        ? ('municipality' in e ? [e.municipality] : e.kind === 'load_finished' ? e.outcomes.map((o) => o.municipality) : e.municipalities).map((m) => `${e.runId}/${m}`)
        : [];
    if (keys.some((k) => rows.has(k))) {
      batches.push(batch);
      batch = [];
      rows = new Set();
    }
    batch.push(p);
    for (const k of keys) rows.add(k);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
