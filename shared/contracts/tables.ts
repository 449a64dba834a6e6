import { z } from 'zod';
import { SqlIdentifier } from './identifiers';

/**
 * The table registry contract: one entry per extracted PEC table. The extractor, the loaders,
 * the BigQuery schemas in infra-cdktf and the tests all read the same entries.
 */

/**
 * The type contract: for every source column type the registry uses, how it is staged (PostgreSQL
 * `COPY … (FORMAT csv)` text, session settings of SourceSession), the BigQuery and DuckDB types it
 * lands as, the exact range all three hold, and what the extractor does with a value outside it.
 * docs/types.md is rendered from this table (scripts/render-types-doc.ts); a test keeps them equal.
 *
 * The range is the intersection of what BigQuery and DuckDB hold, so a value lands identically in
 * the cloud and locally. `conform` names the check the extractor applies in the COPY query (see
 * shared/extract/sql.ts): a value failing it is staged as NULL and recorded in set_aside_values.
 */
export interface TypeContract {
  postgres: string;
  duckdb: string;
  bigquery: string;
  /** How the value is written in the staged CSV. */
  staged: string;
  /** What lands exactly, in both warehouses. */
  range: string;
  /** What happens to a source value outside `range`. */
  outside: string;
  /** Checks applied at extraction (see `setAsideChecks` in shared/extract/sql.ts). */
  conform: readonly ConformCheck[];
  /** A documented way the local warehouse differs from BigQuery, pinned by a test. */
  localOnly?: string;
}

/**
 * Largest text value staged (UTF-8 bytes). DuckDB's CSV reader refuses a line over its
 * `max_line_size` (2 MiB by default); BigQuery's CSV limit is 100 MB per row. With CSV quoting a
 * value can double, so 1 MiB per value keeps a row of one long text within DuckDB's default;
 * `STAGED_LINE_MAX_BYTES` covers rows with several (checked per table by the registry).
 */
export const TEXT_MAX_BYTES = 1_048_576;
/** Longest staged CSV line the loaders must accept (DuckDB `max_line_size`; BigQuery allows 100 MB). */
export const STAGED_LINE_MAX_BYTES = 16 * 1_048_576;

/** Reasons a value is set aside; the `reason` column of set_aside_values. */
export const SET_ASIDE_REASONS = {
  numeric_nan: 'numeric NaN: NUMERIC/DECIMAL have no NaN',
  numeric_out_of_range:
    'numeric with more integer digits than its column holds: 30 or more beyond NUMERIC(38,9)/DECIMAL(38,9), or p − s for a column the registry pins to numeric(p,s)',
  numeric_scale: 'numeric with a non-zero digit after the column’s scale (the 9th decimal, or s for a pinned numeric(p,s)): the warehouse would round it',
  integer_out_of_range: 'integer outside the registry type’s range, or a fraction or NaN (the source column is wider than the registry says)',
  date_infinite: 'date ±infinity: BigQuery DATE has no infinity',
  date_out_of_range: 'date before 0001-01-01 (BC) or after 9999-12-31: outside BigQuery DATE',
  timestamp_infinite: 'timestamp ±infinity: BigQuery DATETIME has no infinity',
  timestamp_out_of_range: 'timestamp before 0001-01-01 (BC) or after 9999-12-31 23:59:59.999999: outside BigQuery DATETIME',
  text_too_long: `text longer than ${TEXT_MAX_BYTES} bytes of UTF-8: staged rows must stay within the loaders’ line limits`,
} as const;
export type SetAsideReason = keyof typeof SET_ASIDE_REASONS;
export type ConformCheck = 'numeric' | 'int32' | 'int16' | 'date' | 'timestamp' | 'text_length';

/** The widest numeric both warehouses hold exactly: NUMERIC(38,9) in BigQuery, DECIMAL(38,9) in DuckDB. */
export const NUMERIC_MAX = { precision: 38, scale: 9, integerDigits: 29 } as const;

export const COLUMN_TYPES = {
  bigint: {
    postgres: 'bigint',
    duckdb: 'BIGINT',
    bigquery: 'INT64',
    staged: 'decimal digits, optional leading `-`',
    range: '-9223372036854775808 … 9223372036854775807 (the same 64-bit range everywhere)',
    outside: 'cannot occur: PostgreSQL bigint has the same range',
    conform: [],
  },
  integer: {
    postgres: 'integer',
    duckdb: 'INTEGER',
    bigquery: 'INT64',
    staged: 'decimal digits, optional leading `-`',
    range: '-2147483648 … 2147483647 (BigQuery holds more; DuckDB INTEGER is the limit)',
    outside: 'only when the source column is wider than the registry says (e.g. bigint): NULL + set aside (`integer_out_of_range`)',
    conform: ['int32'],
  },
  smallint: {
    postgres: 'smallint',
    duckdb: 'SMALLINT',
    bigquery: 'INT64',
    staged: 'decimal digits, optional leading `-`',
    range: '-32768 … 32767',
    outside: 'only when the source column is wider than the registry says: NULL + set aside (`integer_out_of_range`)',
    conform: ['int16'],
  },
  text: {
    postgres: 'text',
    duckdb: 'VARCHAR',
    bigquery: 'STRING',
    staged:
      'as is; quoted when empty or holding `,` `"` CR LF (inner `"` doubled); NULL is an unquoted empty field, so NULL and `\'\'` stay apart; backslashes are plain characters',
    range: `any UTF-8 text up to ${TEXT_MAX_BYTES} bytes (PostgreSQL text cannot hold NUL)`,
    outside: 'longer text: NULL + set aside (`text_too_long`), the record keeps the first 1000 characters',
    conform: ['text_length'],
  },
  // Unconstrained PEC numerics hold measurements (blood pressure, weights). NUMERIC(38,9) in
  // BigQuery and DECIMAL(38,9) in DuckDB hold exactly the same values, so the two warehouses
  // agree; BIGNUMERIC would hold more in BigQuery but DuckDB's DECIMAL stops at 38 digits, and a
  // STRING would cost every mart a cast. Values beyond it are set aside, never rounded.
  numeric: {
    postgres: 'numeric',
    duckdb: 'DECIMAL(38,9)',
    bigquery: 'NUMERIC',
    staged: 'PostgreSQL numeric text (plain decimal, no exponent), e.g. `-0.5`, `99.10`',
    range: '±99999999999999999999999999999.999999999: at most 29 integer digits and 9 decimals (trailing zeros beyond the 9th decimal are fine)',
    outside:
      'NaN, 30+ integer digits, or a non-zero digit after the 9th decimal: NULL + set aside (`numeric_nan`, `numeric_out_of_range`, `numeric_scale`). Skipped when the source column is numeric(p,s) with s ≤ 9 and p − s ≤ 29',
    conform: ['numeric'],
  },
  double: {
    postgres: 'double precision',
    duckdb: 'DOUBLE',
    bigquery: 'FLOAT64',
    staged: 'shortest exact decimal (extra_float_digits = 3 on 9.6/10); `NaN`, `Infinity`, `-Infinity`, `-0`',
    range: 'every IEEE-754 binary64 value, bit for bit, including NaN, ±Infinity and -0',
    outside:
      'cannot occur. NaN and ±Infinity are staged as PostgreSQL prints them; DuckDB reads them (tested), BigQuery FLOAT64 holds them but its CSV reader’s acceptance of these spellings is not tested here (no BigQuery in the test suite)',
    conform: [],
    localOnly:
      'DuckDB stores a column segment whose non-NULL values are all zeros of either sign as a constant: after a checkpoint every zero in that segment takes one sign (-0 may read back as 0, or 0 as -0). BigQuery keeps the sign. Only the sign of zero is affected',
  },
  date: {
    postgres: 'date',
    duckdb: 'DATE',
    bigquery: 'DATE',
    staged: '`YYYY-MM-DD` (DateStyle ISO)',
    range: '0001-01-01 … 9999-12-31 (BigQuery DATE)',
    outside: 'BC dates, dates after 9999-12-31 and ±infinity: NULL + set aside (`date_out_of_range`, `date_infinite`). DuckDB would read `0044-03-15 BC` as the AD date',
    conform: ['date'],
  },
  timestamp: {
    postgres: 'timestamp',
    duckdb: 'TIMESTAMP',
    bigquery: 'DATETIME',
    staged: '`YYYY-MM-DD HH:MM:SS[.ffffff]` (DateStyle ISO, microseconds)',
    range: '0001-01-01 00:00:00 … 9999-12-31 23:59:59.999999, microsecond precision (BigQuery DATETIME)',
    outside: 'BC timestamps, years after 9999 and ±infinity: NULL + set aside (`timestamp_out_of_range`, `timestamp_infinite`)',
    conform: ['timestamp'],
  },
} as const satisfies Record<string, TypeContract>;
export const ColumnType = z.enum(Object.keys(COLUMN_TYPES) as [keyof typeof COLUMN_TYPES, ...(keyof typeof COLUMN_TYPES)[]]);
export type ColumnType = z.infer<typeof ColumnType>;

/**
 * What happens to a personal-data column (LGPD):
 * - `hash`: keyed HMAC-SHA-256 with the pipeline's secret key, its first 128 bits as 32 lower-case hex
 *   characters (shared/extract/pseudonymizer.ts says why); the same value gives the same pseudonym in
 *   every table and municipality, so pseudonyms still join. Lands as text.
 * - `drop`: never selected from the source; the column does not exist downstream.
 * - `keep`: lands in clear text; the column gets a policy tag in BigQuery. Needs a written reason.
 */
export const PiiPolicy = z.enum(['hash', 'drop', 'keep']);
/** Characters in a `hash` pseudonym: the first 16 bytes of HMAC-SHA-256, as lower-case hex. */
export const PSEUDONYM_LENGTH = 32;
/** A pseudonym as a regular expression source (JavaScript, and DuckDB's/BigQuery's RE2): for checks of landed data. */
export const PSEUDONYM_PATTERN = `[0-9a-f]{${PSEUDONYM_LENGTH}}`;
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
    /**
     * A `numeric` column may pin its precision and scale (e.g. a blood pressure as numeric(5,1)): it
     * lands as DECIMAL(p,s) / NUMERIC(p,s), and values beyond it are set aside like any other value
     * the type cannot hold. Within the contract's maximum (NUMERIC_MAX); without them, DECIMAL(38,9).
     */
    precision: z.number().int().min(1).max(38).optional(),
    scale: z.number().int().min(0).optional(),
    description: z.string().optional(),
  })
  .refine((c) => c.pii?.policy !== 'keep' || (c.pii.reason ?? '').length >= 10, {
    message: 'a personal-data column kept in clear text needs a reason',
    path: ['pii', 'reason'],
  })
  .superRefine((c, ctx) => {
    if (c.precision === undefined && c.scale === undefined) return;
    const issue = (path: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message: `${c.name}: ${message}` });
    if (c.type !== 'numeric') return issue('precision', `precision/scale apply to numeric columns only, not ${c.type}`);
    if (c.precision === undefined || c.scale === undefined) return issue(c.precision === undefined ? 'precision' : 'scale', 'a pinned numeric needs both precision and scale');
    if (c.scale > NUMERIC_MAX.scale) issue('scale', `scale ${c.scale} is above the contract's maximum ${NUMERIC_MAX.scale}`);
    if (c.scale > c.precision) issue('scale', `scale ${c.scale} is above the precision ${c.precision}`);
    if (c.precision - c.scale > NUMERIC_MAX.integerDigits)
      issue('precision', `${c.precision - c.scale} integer digits (precision − scale) are above the contract's maximum ${NUMERIC_MAX.integerDigits}`);
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
    /**
     * Source columns the registry knows and deliberately does not extract. Any other source column
     * the registry does not name is reported as drift (a newer PEC version) once per run and
     * municipality; listing it here, or extracting it, is how the registry follows the PEC.
     */
    ignoredColumns: z.array(SqlIdentifier).optional(),
  })
  .superRefine((t, ctx) => {
    const names = t.columns.map((c) => c.name);
    for (const ignored of t.ignoredColumns ?? [])
      if (t.columns.some((c) => c.name === ignored || c.aliases.includes(ignored)))
        ctx.addIssue({ code: 'custom', message: `column "${ignored}" is both extracted and ignored`, path: ['ignoredColumns'] });
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `column "${dup}" is listed twice`, path: ['columns'] });
    for (const k of t.primaryKey) {
      const col = t.columns.find((c) => c.name === k);
      if (!col) ctx.addIssue({ code: 'custom', message: `primary key column "${k}" is not in columns`, path: ['primaryKey'] });
      else if (col.pii && col.pii.policy !== 'keep') ctx.addIssue({ code: 'custom', message: `primary key column "${k}" cannot be hashed or dropped`, path: ['primaryKey'] });
    }
    // Every text value may double when CSV-quoted: the widest possible row must still load.
    const texts = t.columns.filter((c) => c.type === 'text' && c.pii?.policy !== 'hash' && c.pii?.policy !== 'drop').length;
    if (texts * 2 * TEXT_MAX_BYTES + 65_536 > STAGED_LINE_MAX_BYTES)
      ctx.addIssue({ code: 'custom', message: `${texts} text columns could stage a row longer than ${STAGED_LINE_MAX_BYTES} bytes`, path: ['columns'] });
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
  /** A numeric column the registry pins to numeric(p,s) (not for hashed columns, which land as text). */
  numeric?: { precision: number; scale: number };
}

export function landedColumns(table: TableDef): LandedColumn[] {
  return table.columns
    .filter((c) => c.pii?.policy !== 'drop')
    .map((c): LandedColumn => {
      const landed: LandedColumn = c.pii
        ? { name: c.name, type: c.pii.policy === 'hash' ? 'text' : c.type, pii: { kind: c.pii.kind, policy: c.pii.policy as 'hash' | 'keep' } }
        : { name: c.name, type: c.type };
      const pinned = pinnedNumeric(c);
      return pinned && landed.type === 'numeric' ? { ...landed, numeric: pinned } : landed;
    });
}

/** The precision and scale a numeric column is pinned to, if the registry pins it. */
export function pinnedNumeric(c: { type: ColumnType; precision?: number; scale?: number }): { precision: number; scale: number } | undefined {
  return c.type === 'numeric' && c.precision !== undefined && c.scale !== undefined ? { precision: c.precision, scale: c.scale } : undefined;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A registry identifier (table or column name) quoted for SQL; anything else is refused. PostgreSQL
 * (extract) and DuckDB (the local warehouse) quote alike, so both use this one.
 */
export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new Error(`refusing to quote a non-registry identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** The DuckDB type a landed column is created with: COLUMN_TYPES', or DECIMAL(p,s) for a pinned numeric. */
export function duckDbColumnType(c: { type: ColumnType; numeric?: { precision: number; scale: number } }): string {
  return c.numeric ? `DECIMAL(${c.numeric.precision},${c.numeric.scale})` : COLUMN_TYPES[c.type].duckdb;
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

/**
 * Values the extractor could not stage exactly (see COLUMN_TYPES `outside`): one row per value set
 * aside, staged per municipality next to the tables and loaded by the ordinary load path into
 * raw.set_aside_values (read through the view ops.set_aside_values). Its slices are keyed by the
 * UTC day of the extraction snapshot: a rerun of the same day replaces that day's records, other
 * days' records stay (the record of what was set aside is history, like the ledger).
 */
export const SET_ASIDE_TABLE: TableDef = TableDef.parse({
  name: 'set_aside_values',
  description: 'Source values the warehouse types cannot hold exactly: staged as NULL and recorded here',
  primaryKey: ['source_table', 'column_name', 'primary_key', 'extracted_on'],
  municipality: { kind: 'installation' },
  mode: { kind: 'window', column: 'extracted_on', keyFormat: 'date' },
  columns: [
    { name: 'source_table', type: 'text', description: 'registry table the value belongs to' },
    { name: 'column_name', type: 'text', description: 'registry column name' },
    { name: 'primary_key', type: 'text', description: 'the row’s primary key values, as a JSON array of text' },
    { name: 'reason', type: 'text', description: 'one of SET_ASIDE_REASONS (docs/types.md)' },
    {
      name: 'original_value',
      type: 'text',
      description:
        'the value as PostgreSQL prints it (text: first 1000 characters); NULL for personal data (kept-in-clear columns are protected by their own policy tag, which this table has not)',
    },
    { name: 'original_bytes', type: 'bigint', description: 'length of the original value in bytes of UTF-8' },
    { name: 'extracted_on', type: 'date', description: 'UTC day of the extraction snapshot (the slice key)' },
  ],
});

/** Every table the loaders land: the registry's, then the pipeline's own set_aside_values. */
export function landedTables(registry: readonly TableDef[]): TableDef[] {
  return [...registry.filter((t) => t.name !== SET_ASIDE_TABLE.name), SET_ASIDE_TABLE];
}
