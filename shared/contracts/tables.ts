import { z } from 'zod';
import { SqlIdentifier } from './identifiers';

/**
 * The table registry contract: one entry per extracted PEC table. The extractor, the loaders,
 * the BigQuery schemas in infra-cdktf and the tests all read the same entries.
 */

/** Source column types the registry uses, with the equivalent types downstream. */
export const COLUMN_TYPES = {
  bigint: { postgres: 'bigint', duckdb: 'BIGINT', bigquery: 'INT64' },
  integer: { postgres: 'integer', duckdb: 'INTEGER', bigquery: 'INT64' },
  smallint: { postgres: 'smallint', duckdb: 'SMALLINT', bigquery: 'INT64' },
  text: { postgres: 'text', duckdb: 'VARCHAR', bigquery: 'STRING' },
  // PEC numerics hold measurements (blood pressure, weights): 38,9 is BigQuery NUMERIC's full range.
  numeric: { postgres: 'numeric', duckdb: 'DECIMAL(38,9)', bigquery: 'NUMERIC' },
  double: { postgres: 'double precision', duckdb: 'DOUBLE', bigquery: 'FLOAT64' },
  date: { postgres: 'date', duckdb: 'DATE', bigquery: 'DATE' },
  timestamp: { postgres: 'timestamp', duckdb: 'TIMESTAMP', bigquery: 'DATETIME' },
} as const;
export const ColumnType = z.enum(Object.keys(COLUMN_TYPES) as [keyof typeof COLUMN_TYPES, ...(keyof typeof COLUMN_TYPES)[]]);
export type ColumnType = z.infer<typeof ColumnType>;

/**
 * What happens to a personal-data column (LGPD):
 * - `hash`: keyed HMAC-SHA-256 (hex) with the pipeline's secret key; the same value gives the same
 *   pseudonym in every table and municipality, so pseudonyms still join. Lands as text.
 * - `drop`: never selected from the source; the column does not exist downstream.
 * - `keep`: lands in clear text; the column gets a policy tag in BigQuery. Needs a written reason.
 */
export const PiiPolicy = z.enum(['hash', 'drop', 'keep']);
export type PiiPolicy = z.infer<typeof PiiPolicy>;

export const PiiKind = z.enum(['cpf', 'cns', 'name', 'phone', 'email', 'birth_date', 'address', 'location', 'record_number', 'micro_area']);

export const ColumnDef = z
  .strictObject({
    name: SqlIdentifier,
    type: ColumnType,
    /** Personal data: what it is and what the pipeline does with it. */
    pii: z.strictObject({ kind: PiiKind, policy: PiiPolicy, reason: z.string().min(10).optional() }).optional(),
    /** Names the same column has in other PEC versions, tried in order when `name` is absent. */
    aliases: z.array(SqlIdentifier).default([]),
    /**
     * When the column is absent from a source (PEC version drift): `null` fills it with NULL and
     * warns; `fail` fails that table (never the whole municipality).
     */
    whenMissing: z.enum(['null', 'fail']).default('fail'),
    description: z.string().optional(),
  })
  .refine((c) => c.pii?.policy !== 'keep' || (c.pii.reason ?? '').length >= 10, {
    message: 'a personal-data column kept in clear text needs a reason',
    path: ['pii', 'reason'],
  });
export type ColumnDef = z.infer<typeof ColumnDef>;

/** How a table's rows are tied to one municipality. */
export const MunicipalityScope = z.discriminatedUnion('kind', [
  /** Rows carry a `co_dim_municipio` FK; filter to the municipality's dimension ids. */
  z.strictObject({ kind: z.literal('column'), column: SqlIdentifier }),
  /** The table has no municipality column (e.g. units, teams): the installation's whole table. */
  z.strictObject({ kind: z.literal('installation') }),
]);

/** Full refresh, or a half-open window [start, end) over a date key. */
export const ExtractionMode = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('full') }),
  z.strictObject({
    kind: z.literal('window'),
    column: SqlIdentifier,
    /** `yyyymmdd`: an integer key like tb_dim_tempo's 20261122; `date`: a date column. */
    keyFormat: z.enum(['yyyymmdd', 'date']),
  }),
]);
export type ExtractionMode = z.infer<typeof ExtractionMode>;

export const TableDef = z
  .strictObject({
    name: SqlIdentifier,
    description: z.string().min(5),
    primaryKey: z.array(SqlIdentifier).min(1),
    municipality: MunicipalityScope,
    mode: ExtractionMode,
    columns: z.array(ColumnDef).min(1),
  })
  .superRefine((t, ctx) => {
    const names = t.columns.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `column "${dup}" is listed twice`, path: ['columns'] });
    for (const k of t.primaryKey) {
      const col = t.columns.find((c) => c.name === k);
      if (!col) ctx.addIssue({ code: 'custom', message: `primary key column "${k}" is not in columns`, path: ['primaryKey'] });
      else if (col.pii && col.pii.policy !== 'keep')
        ctx.addIssue({ code: 'custom', message: `primary key column "${k}" cannot be hashed or dropped`, path: ['primaryKey'] });
    }
    const keyColumns = [t.mode.kind === 'window' ? t.mode.column : undefined, t.municipality.kind === 'column' ? t.municipality.column : undefined];
    for (const k of keyColumns) {
      const col = k ? t.columns.find((c) => c.name === k) : undefined;
      if (k && !col) ctx.addIssue({ code: 'custom', message: `key column "${k}" must be extracted (listed in columns)`, path: ['columns'] });
      if (col?.pii) ctx.addIssue({ code: 'custom', message: `key column "${k}" cannot be personal data`, path: ['columns'] });
    }
  });
export type TableDef = z.infer<typeof TableDef>;

export const TableRegistry = z.array(TableDef).superRefine((tables, ctx) => {
  const names = tables.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) ctx.addIssue({ code: 'custom', message: `table "${dup}" is registered twice` });
});

/** Columns as they land downstream: dropped columns removed, hashed ones turned into text. */
export interface LandedColumn {
  name: string;
  type: ColumnType;
  /** Present when the column holds personal data (hashed or kept): infra tags these with a policy tag. */
  pii?: { kind: z.infer<typeof PiiKind>; policy: 'hash' | 'keep' };
}

export function landedColumns(table: TableDef): LandedColumn[] {
  return table.columns
    .filter((c) => c.pii?.policy !== 'drop')
    .map((c) =>
      c.pii
        ? { name: c.name, type: c.pii.policy === 'hash' ? 'text' : c.type, pii: { kind: c.pii.kind, policy: c.pii.policy as 'hash' | 'keep' } }
        : { name: c.name, type: c.type },
    );
}

/**
 * Ingestion columns added to every raw table. They make a slice addressable
 * (municipality + window key) and tell which run and snapshot a row came from.
 */
export const INGESTION_COLUMNS = [
  { name: '_municipality_ibge', type: 'text', description: 'IBGE code (7 digits) of the municipality the row was extracted for' },
  { name: '_run_id', type: 'text', description: 'Run that extracted the row' },
  { name: '_extracted_at', type: 'timestamp', description: 'Start of the source snapshot (UTC) the row was read in' },
] as const satisfies readonly { name: string; type: ColumnType; description: string }[];
