import { COLUMN_TYPES, INGESTION_COLUMNS, landedColumns, PSEUDONYM_LENGTH, type ColumnType, type TableDef } from '../../contracts/tables';

/**
 * BigQuery table definitions derived from the table registry: the load function creates missing
 * tables from them and infra-cdktf imports the same functions, so the tables Terraform creates and
 * the ones the loader writes can never disagree. Pure functions, no client library.
 *
 * Partitioning and clustering, and why:
 * - Windowed tables keyed by a YYYYMMDD integer (co_dim_tempo) use integer-range partitioning on
 *   that key with interval 100: [YYYYMM00, YYYYMM00 + 100) holds exactly one calendar month, so a
 *   partition is a month. 2000-01 … 2049-12 needs (20500000 − 20000000) / 100 = 5,000 ranges, half
 *   the 10,000-partition limit; only 12 of every 100 ranges ever hold rows. PEC's "unknown date"
 *   30001231 and anything outside the range land in __UNPARTITIONED__, NULL in __NULL__.
 *   A day's 35-day re-extraction window rewrites 2–3 monthly partitions per municipality instead
 *   of 35 daily ones (30,000 partition modifications per table per day is the limit).
 * - Windowed tables keyed by a DATE column use monthly time partitioning, for the same reasons.
 * - Every raw table is clustered by `_municipality_ibge` first: replacing one municipality's slice
 *   and Power BI's per-municipality filters read only that municipality's blocks. Windowed tables
 *   add the window key as the second clustering column, so day filters prune inside a month.
 * - Full-refresh tables (dimensions, the citizen table) are small per municipality and have no
 *   date: clustering by municipality alone.
 */

export type BigQueryType = (typeof COLUMN_TYPES)[ColumnType]['bigquery'] | 'TIMESTAMP';

export interface BigQueryField {
  name: string;
  type: BigQueryType;
  mode: 'NULLABLE' | 'REQUIRED';
  description?: string;
  /** A pinned NUMERIC(p,s) (registry `precision`/`scale`); absent: the type's default (NUMERIC = (38,9)). */
  precision?: number;
  scale?: number;
}

export interface BigQueryTableSpec {
  tableId: string;
  description: string;
  fields: BigQueryField[];
  /** Integer-range partitioning (numbers here; the REST API wants them as strings). */
  rangePartitioning?: { field: string; range: { start: number; end: number; interval: number } };
  timePartitioning?: { type: 'MONTH' | 'DAY'; field: string };
  /** Up to 4 columns, most selective filter first. */
  clustering: string[];
  /** Personal-data columns (hashed or kept in clear): infra attaches a policy tag to each. */
  personalData: { column: string; kind: string; policy: 'hash' | 'keep' }[];
}

/** One partition per month for YYYYMMDD keys from 2000-01 to 2049-12 (see the module comment). */
export const YYYYMMDD_MONTH_RANGE = { start: 20_000_000, end: 20_500_000, interval: 100 } as const;

export function bigQueryType(type: ColumnType): BigQueryType {
  return COLUMN_TYPES[type].bigquery;
}

/** Schema, partitioning and clustering of raw.<table>: landed columns then the ingestion columns. */
export function rawTableSchema(table: TableDef): BigQueryTableSpec {
  const described = new Map(table.columns.map((c) => [c.name, c.description]));
  const fields: BigQueryField[] = [
    ...landedColumns(table).map((c) => ({
      name: c.name,
      type: bigQueryType(c.type),
      mode: 'NULLABLE' as const,
      ...(c.numeric ? { precision: c.numeric.precision, scale: c.numeric.scale } : {}),
      ...(described.get(c.name) ? { description: described.get(c.name) } : {}),
      ...(c.pii?.policy === 'hash'
        ? { description: `${described.get(c.name) ? `${described.get(c.name)}; ` : ''}HMAC-SHA-256 pseudonym (first 128 bits, ${PSEUDONYM_LENGTH} hex characters)` }
        : {}),
    })),
    // Every staged row carries them (the extractor's COPY adds them), so they are never NULL.
    ...INGESTION_COLUMNS.map((c) => ({ name: c.name, type: bigQueryType(c.type), mode: 'REQUIRED' as const, description: c.description })),
  ];
  const spec: BigQueryTableSpec = {
    tableId: table.name,
    description: table.description,
    fields,
    clustering: ['_municipality_ibge'],
    personalData: landedColumns(table)
      .filter((c) => c.pii)
      .map((c) => ({ column: c.name, kind: c.pii!.kind, policy: c.pii!.policy })),
  };
  if (table.mode.kind === 'window') {
    const key = table.mode.column;
    if (table.mode.keyFormat === 'yyyymmdd') spec.rangePartitioning = { field: key, range: { ...YYYYMMDD_MONTH_RANGE } };
    else spec.timePartitioning = { type: 'MONTH', field: key };
    spec.clustering = ['_municipality_ibge', key];
  }
  return spec;
}

/**
 * ops.loaded_slices: the slice ledger, one row per slice ever applied. The loader's guard
 * (already loaded / stale) reads it inside the load transaction. Small (tables × municipalities ×
 * days), so clustering alone keeps the guard's lookups cheap.
 */
export const LOADED_SLICES_TABLE = 'loaded_slices';
export function loadedSlicesSchema(): BigQueryTableSpec {
  const f = (name: string, type: BigQueryType, mode: 'NULLABLE' | 'REQUIRED', description: string): BigQueryField => ({ name, type, mode, description });
  return {
    tableId: LOADED_SLICES_TABLE,
    description: 'One row per (table, municipality, window) slice applied to a raw table: the load guard',
    fields: [
      f('table_name', 'STRING', 'REQUIRED', 'Raw table the slice was applied to'),
      f('municipality', 'STRING', 'REQUIRED', 'IBGE code (7 digits)'),
      f('window_start', 'DATE', 'NULLABLE', 'First day of the slice (inclusive); NULL for a full refresh'),
      f('window_end', 'DATE', 'NULLABLE', 'Day after the slice (exclusive); NULL for a full refresh'),
      f('run_id', 'STRING', 'REQUIRED', 'Run that extracted the slice'),
      f('extracted_at', 'TIMESTAMP', 'REQUIRED', 'Start of the source snapshot the slice was read in'),
      f('rows_loaded', 'INT64', 'REQUIRED', 'Rows inserted'),
      f('load_id', 'STRING', 'REQUIRED', 'Load that applied the slice'),
      f('loaded_at', 'TIMESTAMP', 'REQUIRED', 'When the load committed'),
    ],
    clustering: ['table_name', 'municipality'],
    personalData: [],
  };
}

/** Fields of a staging table: the staged files' columns, in file order, all nullable. */
export function stagingFields(columns: readonly { name: string; type: ColumnType }[]): BigQueryField[] {
  return columns.map((c) => ({ name: c.name, type: bigQueryType(c.type), mode: 'NULLABLE' }));
}

/** A spec as the BigQuery REST API's Table resource (int64 values as strings). */
export function toTableResource(spec: BigQueryTableSpec, extra: { expirationTime?: string } = {}): Record<string, unknown> {
  return {
    description: spec.description,
    schema: { fields: spec.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode, ...(f.description ? { description: f.description } : {}), ...numericParams(f) })) },
    ...(spec.rangePartitioning
      ? {
          rangePartitioning: {
            field: spec.rangePartitioning.field,
            range: { start: String(spec.rangePartitioning.range.start), end: String(spec.rangePartitioning.range.end), interval: String(spec.rangePartitioning.range.interval) },
          },
        }
      : {}),
    ...(spec.timePartitioning ? { timePartitioning: spec.timePartitioning } : {}),
    ...(spec.clustering.length ? { clustering: { fields: spec.clustering } } : {}),
    ...extra,
  };
}

/** A pinned NUMERIC's parameters as the tables API takes them (int64 values as strings). */
export function numericParams(f: Pick<BigQueryField, 'precision' | 'scale'>): { precision?: string; scale?: string } {
  return f.precision === undefined ? {} : { precision: String(f.precision), scale: String(f.scale ?? 0) };
}
