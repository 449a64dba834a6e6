import { SET_ASIDE_TABLE } from '../contracts/tables';
import { bigQueryTableSpec, type BigQueryTableSpec, type OwnedTable } from './table-schema';

/**
 * The run ledger in the `ops` dataset: what happened to every run and every municipality in it, and
 * whether every slice reconciles with its source. One definition for both engines: DuckDB locally
 * (shared/ledger/duckdb-ledger.ts), BigQuery in the cloud (infra-cdktf creates the tables from
 * `bigQueryOpsTables()`). `ops.loaded_slices` belongs to the loader and is defined with it.
 */

/** `interrupted`: stopped before its end (Ctrl-C on a local run); its municipalities keep their live state. */
export const RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed', 'interrupted'] as const;
export type RunLedgerStatus = (typeof RUN_STATUSES)[number];

/**
 * Final states (every municipality is in one once the deadline has passed): loaded, failed (with its
 * error class: terminal, a source still failing at the deadline, or slices the warehouse refused),
 * late (still extracting at the deadline), skipped (never started before the deadline); staged: extracted,
 * not loaded. Live states, before the deadline: pending (queued), extracting, retrying.
 */
export const MUNICIPALITY_STATUSES = ['pending', 'extracting', 'retrying', 'staged', 'loaded', 'failed', 'late', 'skipped'] as const;
export type MunicipalityLedgerStatus = (typeof MUNICIPALITY_STATUSES)[number];

export const RECONCILIATION_STATUSES = ['match', 'mismatch', 'not_loaded', 'superseded', 'extract_failed', 'load_failed'] as const;
export type ReconciliationStatus = (typeof RECONCILIATION_STATUSES)[number];

export const OPS_RUNS: OwnedTable = {
  dataset: 'ops',
  name: 'runs',
  description: 'One row per run (daily, rerun, backfill): when, for whom, and how it ended',
  timePartitioning: { type: 'MONTH', field: 'started_at' },
  columns: [
    { name: 'run_id', type: 'string', required: true, description: 'daily-YYYYMMDD, rerun-…, backfill-<ibge>-<yyyymm>' },
    { name: 'trigger', type: 'string', description: 'daily | rerun | backfill' },
    { name: 'run_date', type: 'date', description: 'Day the run is for (São Paulo); for reruns and backfills the last day of the window' },
    { name: 'window_start', type: 'date', description: 'Extraction window start (inclusive)' },
    { name: 'window_end', type: 'date', description: 'Extraction window end (exclusive)' },
    { name: 'started_at', type: 'timestamp', required: true, description: 'Plan written by fan-out (UTC)' },
    { name: 'deadline_at', type: 'timestamp', description: 'Extraction deadline; pending municipalities after it are late' },
    { name: 'finished_at', type: 'timestamp', description: 'When the report was written (UTC)' },
    { name: 'status', type: 'string', required: true, description: 'running | succeeded (all loaded) | partial | failed (none loaded) | interrupted (stopped before its end)' },
    { name: 'municipalities_planned', type: 'int', required: true, description: 'Municipalities the run was for' },
    { name: 'municipalities_done', type: 'int', required: true, description: 'Extracted (manifest committed)' },
    { name: 'municipalities_loaded', type: 'int', required: true, description: 'Extracted and loaded' },
    {
      name: 'municipalities_failed',
      type: 'int',
      required: true,
      description: 'Ended failed: terminal failure, still failing at the deadline, or slices refused by the warehouse',
    },
    { name: 'municipalities_late', type: 'int', required: true, description: 'Still extracting at the deadline' },
    { name: 'municipalities_skipped', type: 'int', description: 'Never started before the deadline' },
    { name: 'alerts', type: 'int', required: true, description: 'Alerts raised by the report (ops.alerts)' },
  ],
};

export const OPS_MUNICIPALITY_RUNS: OwnedTable = {
  dataset: 'ops',
  name: 'municipality_runs',
  description: 'One row per municipality and run: status, volumes, source facts and the last error',
  clustering: ['municipality'],
  columns: [
    { name: 'run_id', type: 'string', required: true, description: 'Run id' },
    { name: 'municipality', type: 'string', required: true, description: 'IBGE code' },
    { name: 'status', type: 'string', required: true, description: 'loaded | failed | late | skipped | staged (final); pending | extracting | retrying (live)' },
    { name: 'attempts', type: 'int', description: 'Extract deliveries that started (attempt markers in the bucket)' },
    { name: 'rows', type: 'int', description: 'Rows staged (all tables)' },
    { name: 'bytes', type: 'int', description: 'Compressed bytes staged' },
    { name: 'seconds', type: 'float', description: 'Extraction time (snapshot start to manifest)' },
    { name: 'error_class', type: 'string', description: 'Error class of the failure (shared/errors.ts), or of the last retry' },
    { name: 'error_classes', type: 'string', description: 'Failed deliveries per error class, also when a retry later succeeded, e.g. "source_unreachable:3, source_timeout:1"' },
    { name: 'error_message', type: 'string', description: 'Message of the failure (never a credential)' },
    { name: 'pec_version', type: 'string', description: 'PEC version of the source (newest tb_migracao entry)' },
    { name: 'dw_processed_at', type: 'timestamp', description: "Freshness of the PEC's own data warehouse: max(tb_relatorio_processamento.dt_processamento)" },
    { name: 'extracted_at', type: 'timestamp', description: 'Start of the source snapshot (UTC)' },
    { name: 'loaded_at', type: 'timestamp', description: 'When the load that applied its slices finished' },
    { name: 'updated_at', type: 'timestamp', required: true, description: 'Last change of this row' },
    {
      name: 'set_aside_values',
      type: 'int',
      description: 'Source values staged as NULL in this run because the warehouse types cannot hold them (manifest setAside rows; each recorded in ops.set_aside_values)',
    },
    {
      name: 'unknown_columns',
      type: 'string',
      description: 'Source columns the registry does not know, not extracted (schema drift: a newer PEC version), e.g. "tb_cidadao.no_novo, tb_fat_visita.nu_x"',
    },
  ],
};

export const OPS_RECONCILIATION: OwnedTable = {
  dataset: 'ops',
  name: 'reconciliation',
  description: 'Per slice (run × municipality × table × window): source rows against staged and loaded rows',
  clustering: ['municipality', 'table_name'],
  columns: [
    { name: 'run_id', type: 'string', required: true, description: 'Run id' },
    { name: 'municipality', type: 'string', required: true, description: 'IBGE code' },
    { name: 'table_name', type: 'string', required: true, description: 'Raw table' },
    { name: 'window_start', type: 'date', description: 'Slice window start; NULL for a full refresh' },
    { name: 'window_end', type: 'date', description: 'Slice window end (exclusive); NULL for a full refresh' },
    { name: 'source_rows', type: 'int', description: "Rows PostgreSQL's COPY reported for the slice (manifest sourceRows)" },
    { name: 'staged_rows', type: 'int', description: 'Rows written to the staged files (manifest rows)' },
    { name: 'loaded_rows', type: 'int', description: 'Rows the load inserted for the slice (load outcome)' },
    {
      name: 'status',
      type: 'string',
      required: true,
      description: 'match | mismatch | not_loaded | superseded (a newer extraction was loaded) | extract_failed | load_failed (the warehouse refused the slice)',
    },
  ],
};

export const OPS_ALERTS: OwnedTable = {
  dataset: 'ops',
  name: 'alerts',
  description: 'Alerts raised by run reports (also logged with the `alert` field for log-based metrics)',
  timePartitioning: { type: 'MONTH', field: 'raised_at' },
  columns: [
    { name: 'run_id', type: 'string', required: true, description: 'Run id' },
    {
      name: 'rule',
      type: 'string',
      required: true,
      description:
        'municipality_failed | municipality_late | municipality_skipped | not_loaded | stale_source | reconciliation_mismatch | table_failed | marts_failed | values_set_aside',
    },
    { name: 'severity', type: 'string', required: true, description: 'ERROR or ALERT (Cloud Logging severity)' },
    { name: 'municipality', type: 'string', description: 'IBGE code, when the alert is about one' },
    { name: 'message', type: 'string', required: true, description: 'What happened, for a person' },
    { name: 'raised_at', type: 'timestamp', required: true, description: 'When the report raised it (UTC)' },
  ],
};

export const LEDGER_TABLES: readonly OwnedTable[] = [OPS_RUNS, OPS_MUNICIPALITY_RUNS, OPS_RECONCILIATION, OPS_ALERTS];

/** BigQuery schemas of the ledger tables, for infra-cdktf (pure: no provider imports). */
export function bigQueryOpsTables(): BigQueryTableSpec[] {
  return LEDGER_TABLES.map(bigQueryTableSpec);
}

/**
 * Views in `ops` over tables that land in `raw`. The set-aside values are staged and loaded like a
 * table (one slice per municipality, replaced by the loader, so `raw` is their only copy) and read
 * with the ledger: locally the runtime creates the view in DuckDB, in the cloud infra-cdktf
 * (modules/bigquery.ts). Not an authorized view: reading it needs read access to `raw` as well, so
 * it opens nothing to anyone who cannot already read the records (Power BI reads `marts` only).
 */
export interface OpsView {
  name: string;
  description: string;
  /** The raw table the view selects every column of. */
  rawTable: string;
}

export const OPS_VIEWS: readonly OpsView[] = [
  {
    name: SET_ASIDE_TABLE.name,
    description: `${SET_ASIDE_TABLE.description} (view over raw.${SET_ASIDE_TABLE.name})`,
    rawTable: SET_ASIDE_TABLE.name,
  },
];

/** The view's query; `rawRef` names the raw table in the engine's syntax (DuckDB `raw.t`, BigQuery `` `project.raw.t` ``). */
export function opsViewQuery(view: OpsView, rawRef: (table: string) => string): string {
  return `SELECT * FROM ${rawRef(view.rawTable)}`;
}
