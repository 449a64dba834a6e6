import { loadedSlicesSchema, type BigQueryField, type BigQueryTableSpec } from './bigquery-schema';

/**
 * Tables of the `ops` dataset, one google_bigquery_table each. loaded_slices is the loader's own
 * ledger definition; runs and municipality_runs are minimal and will be finalised with the
 * orchestration work: to add a column or a table, edit this list only. Adding a NULLABLE column is
 * an in-place change; changing a type, a mode or the partitioning replaces the table, which
 * deletion protection stops at apply time.
 */

const f = (name: string, type: BigQueryField['type'], description: string, mode: BigQueryField['mode'] = 'NULLABLE'): BigQueryField => ({
  name,
  type,
  mode,
  description,
});

export const OPS_TABLES: readonly BigQueryTableSpec[] = [
  loadedSlicesSchema(),
  {
    tableId: 'runs',
    description: 'One row per run (daily, rerun, backfill) and its outcome',
    fields: [
      f('run_id', 'STRING', 'Run id (daily-YYYYMMDD, rerun-…, backfill-…)', 'REQUIRED'),
      f('trigger', 'STRING', 'daily | rerun | backfill', 'REQUIRED'),
      f('run_date', 'DATE', 'São Paulo day the run is for'),
      f('status', 'STRING', 'planned | running | succeeded | partial | failed'),
      f('municipalities_planned', 'INT64', 'Municipalities the run was for'),
      f('municipalities_succeeded', 'INT64', 'Municipalities extracted and loaded'),
      f('municipalities_failed', 'INT64', 'Municipalities that ended in a terminal error or the dead-letter topic'),
      f('started_at', 'TIMESTAMP', 'Run start'),
      f('finished_at', 'TIMESTAMP', 'Run end'),
    ],
    timePartitioning: { type: 'MONTH', field: 'started_at' },
    clustering: [],
    personalData: [],
  },
  {
    tableId: 'municipality_runs',
    description: 'One row per municipality and run: the state managers and support look at',
    fields: [
      f('run_id', 'STRING', 'Run id', 'REQUIRED'),
      f('municipality', 'STRING', 'IBGE code', 'REQUIRED'),
      f('status', 'STRING', 'extracting | staged | loaded | failed', 'REQUIRED'),
      f('attempt', 'INT64', 'Pub/Sub delivery attempt of the last update'),
      f('error_class', 'STRING', 'Error class of the last failure (shared/errors.ts)'),
      f('error_message', 'STRING', 'Message of the last failure (never a credential)'),
      f('tables_done', 'INT64', 'Tables staged'),
      f('rows', 'INT64', 'Rows staged'),
      f('started_at', 'TIMESTAMP', 'First attempt'),
      f('updated_at', 'TIMESTAMP', 'Last update'),
    ],
    timePartitioning: { type: 'MONTH', field: 'started_at' },
    clustering: ['municipality'],
    personalData: [],
  },
];
