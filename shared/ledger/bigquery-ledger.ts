import type { Alert } from './alerts';
import type { BigQueryQuery, BigQueryQueryRunner, LedgerWriter } from '../ports';
import type { RunReport } from './report';
import { OPS_ALERTS, OPS_MUNICIPALITY_RUNS, OPS_RECONCILIATION, OPS_RUNS } from './schema';
import { OWNED_COLUMN_TYPES, type OwnedTable } from './table-schema';

/**
 * The ledger in BigQuery: one multi-statement transaction per report that replaces the run's rows
 * in ops.runs, ops.municipality_runs, ops.reconciliation and ops.alerts. The rows travel as JSON
 * query parameters (no SQL is built from values), so a report costs a handful of DML statements
 * per table whatever the number of municipalities — well inside the per-table modification quota.
 */
export interface OpsDataset {
  project: string;
  dataset: string;
}

const ref = (ds: OpsDataset, table: string) => `\`${ds.project}.${ds.dataset}.${table}\``;

function insertFromJson(ds: OpsDataset, table: OwnedTable, param: string): string {
  const cols = table.columns.map((c) => {
    const v = `JSON_VALUE(r, '$.${c.name}')`;
    return c.type === 'string' ? v : `CAST(${v} AS ${OWNED_COLUMN_TYPES[c.type].bigquery})`;
  });
  return `INSERT INTO ${ref(ds, table.name)} (${table.columns.map((c) => c.name).join(', ')})
SELECT ${cols.join(', ')}
FROM UNNEST(JSON_QUERY_ARRAY(@${param})) AS r`;
}

/**
 * Rows per JSON parameter: 650 municipalities × ~25 tables is ~16 k reconciliation rows (~4 MB of
 * JSON); chunks keep each parameter and statement small, well inside BigQuery's request limits.
 */
export const ROWS_PER_PARAMETER = 2_000;

export function bigQueryLedgerScript(report: RunReport, alerts: Alert[], ds: OpsDataset): BigQueryQuery {
  const rows: [OwnedTable, unknown[]][] = [
    [OPS_RUNS, [{ ...report.run, alerts: alerts.length }]],
    [OPS_MUNICIPALITY_RUNS, report.municipalities],
    [OPS_RECONCILIATION, report.reconciliation],
    [
      OPS_ALERTS,
      alerts.map((a) => ({ run_id: a.runId, rule: a.rule, severity: a.severity, municipality: a.municipality ?? null, message: a.message, raised_at: report.run.finished_at })),
    ],
  ];
  const params: Record<string, string> = { run_id: report.run.run_id };
  const inserts: string[] = [];
  for (const [table, list] of rows) {
    for (let i = 0; i < list.length; i += ROWS_PER_PARAMETER) {
      const name = `${table.name}_${i / ROWS_PER_PARAMETER}`;
      params[name] = JSON.stringify(list.slice(i, i + ROWS_PER_PARAMETER));
      inserts.push(insertFromJson(ds, table, name));
    }
  }
  const statements = ['BEGIN TRANSACTION', ...rows.map(([t]) => `DELETE FROM ${ref(ds, t.name)} WHERE run_id = @run_id`), ...inserts, 'COMMIT TRANSACTION'];
  return { query: statements.join(';\n') + ';', params };
}

export function bigQueryUnreportedRunsQuery(ds: OpsDataset): BigQueryQuery {
  return {
    query: `SELECT DISTINCT run_id FROM ${ref(ds, 'loaded_slices')}
WHERE loaded_at > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)
  AND run_id NOT IN (SELECT run_id FROM ${ref(ds, 'runs')})
ORDER BY run_id`,
    params: {},
  };
}

/** A LedgerWriter over any BigQuery query runner (the cloud function passes the client's `query`). */
export class BigQueryLedger implements LedgerWriter {
  constructor(
    private readonly run: BigQueryQueryRunner,
    private readonly ds: OpsDataset,
  ) {}

  async writeReport(report: RunReport, alerts: Alert[]): Promise<void> {
    await this.run(bigQueryLedgerScript(report, alerts, this.ds));
  }

  async unreportedRuns(): Promise<string[]> {
    return (await this.run(bigQueryUnreportedRunsQuery(this.ds))).map((r) => String(r.run_id));
  }
}
