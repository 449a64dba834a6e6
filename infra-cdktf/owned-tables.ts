import { bigQueryOpsTables } from '../shared/ledger/schema';
import type { BigQueryTableSpec as OwnedTableSpec } from '../shared/ledger/table-schema';
import { bigQueryMartTables } from '../shared/marts/marts';
import { loadedSlicesSchema, type BigQueryField, type BigQueryTableSpec } from './bigquery-schema';

/**
 * The tables the pipeline owns in `ops` and `marts`, one google_bigquery_table each, taken from
 * their single definitions: the loader's slice ledger (loadedSlicesSchema), the run ledger
 * (shared/ledger/schema.ts: runs, municipality_runs, reconciliation, alerts) and the marts
 * (shared/marts/marts.ts). To add a column or a table, edit those definitions, never this file.
 * Adding a NULLABLE column is an in-place change; changing a type, a mode or the partitioning
 * replaces the table, which deletion protection stops at apply time.
 */

const BIGQUERY_TYPES: readonly BigQueryField['type'][] = ['STRING', 'INT64', 'FLOAT64', 'NUMERIC', 'DATE', 'DATETIME', 'TIMESTAMP'];

/** An owned table's spec (ledger/marts shape) in the shape the stack's table helper takes. */
export function fromOwnedTable(t: OwnedTableSpec): BigQueryTableSpec {
  return {
    tableId: t.name,
    description: t.description,
    fields: t.fields.map((f) => {
      const type = BIGQUERY_TYPES.find((x) => x === f.type);
      if (!type) throw new Error(`${t.dataset}.${t.name}.${f.name}: BigQuery type ${f.type} is not supported here`);
      return { name: f.name, type, mode: f.mode, description: f.description };
    }),
    ...(t.timePartitioning ? { timePartitioning: t.timePartitioning } : {}),
    clustering: t.clustering ?? [],
    // The ledger and the marts hold no personal data (counts per team; IBGE codes, run ids).
    personalData: [],
  };
}

/** `ops`: the loader's slice ledger, then the run ledger. */
export function opsTables(): BigQueryTableSpec[] {
  return [loadedSlicesSchema(), ...bigQueryOpsTables().map(fromOwnedTable)];
}

/** `marts`: the tables Power BI reads, rebuilt by the daily workflow. */
export function martTables(): BigQueryTableSpec[] {
  return bigQueryMartTables().map(fromOwnedTable);
}
