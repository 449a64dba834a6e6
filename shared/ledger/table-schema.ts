/**
 * One definition of each table the pipeline itself owns in `ops` and `marts`: the columns, their
 * meaning and their type in both engines. The DuckDB DDL (local warehouse) and the BigQuery schema
 * (infra-cdktf creates the tables from it) are both derived from it, so the two cannot drift.
 */

/** Column types used by the ledger and the marts, with their name in each engine. */
export const OWNED_COLUMN_TYPES = {
  string: { duckdb: 'VARCHAR', bigquery: 'STRING' },
  int: { duckdb: 'BIGINT', bigquery: 'INT64' },
  float: { duckdb: 'DOUBLE', bigquery: 'FLOAT64' },
  date: { duckdb: 'DATE', bigquery: 'DATE' },
  timestamp: { duckdb: 'TIMESTAMP', bigquery: 'TIMESTAMP' },
} as const;
export type OwnedColumnType = keyof typeof OWNED_COLUMN_TYPES;

export interface OwnedColumn {
  name: string;
  type: OwnedColumnType;
  /** REQUIRED in BigQuery, NOT NULL in DuckDB. */
  required?: boolean;
  description: string;
}

export interface OwnedTable {
  dataset: 'ops' | 'marts';
  name: string;
  description: string;
  columns: readonly OwnedColumn[];
  /** BigQuery only: day/month partitions on a DATE/TIMESTAMP column. */
  timePartitioning?: { type: 'DAY' | 'MONTH'; field: string };
  /** BigQuery only: clustering columns (≤ 4), chosen for the usual filters. */
  clustering?: string[];
}

/** The shape infra-cdktf's google_bigquery_table needs (schema JSON fields plus options). */
export interface BigQueryTableSpec {
  dataset: 'ops' | 'marts';
  name: string;
  description: string;
  fields: { name: string; type: string; mode: 'NULLABLE' | 'REQUIRED'; description: string }[];
  timePartitioning?: { type: 'DAY' | 'MONTH'; field: string };
  clustering?: string[];
}

export function bigQueryTableSpec(t: OwnedTable): BigQueryTableSpec {
  return {
    dataset: t.dataset,
    name: t.name,
    description: t.description,
    fields: t.columns.map((c) => ({ name: c.name, type: OWNED_COLUMN_TYPES[c.type].bigquery, mode: c.required ? 'REQUIRED' : 'NULLABLE', description: c.description })),
    ...(t.timePartitioning ? { timePartitioning: t.timePartitioning } : {}),
    ...(t.clustering ? { clustering: t.clustering } : {}),
  };
}

export function duckDbCreateTable(t: OwnedTable): string {
  const cols = t.columns.map((c) => `${c.name} ${OWNED_COLUMN_TYPES[c.type].duckdb}${c.required ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${t.dataset}.${t.name} (${cols.join(', ')})`;
}
