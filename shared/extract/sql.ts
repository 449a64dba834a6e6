import { COLUMN_TYPES, INGESTION_COLUMNS, type ColumnDef, type ColumnType, type TableDef } from '../contracts/tables';
import type { DateWindow } from '../contracts/identifiers';
import { TerminalError } from '../errors';

/**
 * Every SQL text the extractor sends is built here, from registry identifiers and from values the
 * code itself produced and checked (dimension ids read from the source, validated dates). Nothing a
 * message or a user typed is ever interpolated; COPY cannot take bind parameters, hence the checks.
 */

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new Error(`refusing to quote a non-registry identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** An integer literal from a value that must already be an integer (bigint ids arrive as strings). */
export function intLiteral(value: string | number): string {
  const s = String(value);
  if (!/^-?\d{1,19}$/.test(s)) throw new Error(`refusing a non-integer SQL literal: ${JSON.stringify(s)}`);
  return s;
}

export function dateLiteral(isoDate: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) throw new Error(`refusing a non-date SQL literal: ${JSON.stringify(isoDate)}`);
  return `DATE '${isoDate}'`;
}

/** "2026-11-22" → 20261122, the tb_dim_tempo key form. */
export const yyyymmdd = (isoDate: string): string => intLiteral(isoDate.replaceAll('-', ''));

export interface ResolvedColumns {
  /** SELECT list, hashed columns first (the CSV transform relies on that). */
  selectList: string[];
  /** Landed columns in file order, ingestion columns last. */
  columns: { name: string; type: ColumnType }[];
  hashedCount: number;
  warnings: string[];
}

/**
 * Maps registry columns onto what this source actually has (PEC versions drift): the registry
 * name, else the first alias present, else NULL with a warning (`whenMissing: null`), else the
 * table fails with a schema error (`whenMissing: fail`). Dropped columns are never selected.
 */
export function resolveColumns(table: TableDef, available: ReadonlySet<string>): ResolvedColumns {
  const warnings: string[] = [];
  const missing: string[] = [];
  const expr = (c: ColumnDef): string | undefined => {
    if (available.has(c.name)) return quoteIdent(c.name);
    const alias = c.aliases.find((a) => available.has(a));
    if (alias) return `${quoteIdent(alias)} AS ${quoteIdent(c.name)}`;
    if (c.whenMissing === 'null') {
      warnings.push(`${table.name}.${c.name} is absent from this PEC version: filled with NULL`);
      return `NULL::${COLUMN_TYPES[c.type].postgres} AS ${quoteIdent(c.name)}`;
    }
    missing.push(c.name);
    return undefined;
  };
  const hashed = table.columns.filter((c) => c.pii?.policy === 'hash');
  const plain = table.columns.filter((c) => !c.pii || c.pii.policy === 'keep');
  const selectList: string[] = [];
  for (const c of hashed) {
    const e = expr(c);
    // Hash the text form; a column aliased or NULL-filled keeps its output name.
    if (e) selectList.push(e.includes(' AS ') ? e.replace(/ AS ("[a-z0-9_]+")$/, '::text AS $1') : `${e}::text AS ${quoteIdent(c.name)}`);
  }
  for (const c of plain) {
    const e = expr(c);
    if (e) selectList.push(e);
  }
  if (missing.length > 0)
    throw new TerminalError(`${table.name}: column(s) ${missing.join(', ')} absent from the source and the registry does not allow NULL-filling them`, 'source_schema');
  return {
    selectList,
    columns: [
      ...hashed.map((c) => ({ name: c.name, type: 'text' as const })),
      ...plain.map((c) => ({ name: c.name, type: c.type })),
      ...INGESTION_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    ],
    hashedCount: hashed.length,
    warnings,
  };
}

/** A text literal for a value the code validated against `pattern` (IBGE code, run id). */
function checkedText(value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new Error(`refusing an unchecked SQL text literal: ${JSON.stringify(value)}`);
  return `'${value}'::text`;
}

/**
 * COPY of one table for one municipality (and window), in PostgreSQL CSV. The ingestion columns
 * are computed by PostgreSQL at the end of each row, so every staged file says which municipality,
 * run and snapshot its rows belong to, and one load job can take a whole run's files of a table.
 */
export function copySql(
  table: TableDef,
  resolved: ResolvedColumns,
  municipioIds: readonly string[],
  window: DateWindow | null,
  ingestion: { ibge: string; runId: string },
): string {
  const where: string[] = [];
  if (table.municipality.kind === 'column') {
    if (municipioIds.length === 0) throw new Error('no municipality ids to filter on');
    where.push(`${quoteIdent(table.municipality.column)} IN (${municipioIds.map(intLiteral).join(', ')})`);
  }
  if (table.mode.kind === 'window') {
    if (!window) throw new Error(`${table.name} is windowed but no window was given`);
    const col = quoteIdent(table.mode.column);
    const lit = table.mode.keyFormat === 'yyyymmdd' ? yyyymmdd : dateLiteral;
    // Closed start, open end: consecutive windows neither overlap nor leave a gap.
    where.push(`${col} >= ${lit(window.start)} AND ${col} < ${lit(window.end)}`);
  }
  const ingestionList = [
    `${checkedText(ingestion.ibge, /^\d{7}$/)} AS "_municipality_ibge"`,
    `${checkedText(ingestion.runId, /^[a-z0-9][a-z0-9-]{2,62}$/)} AS "_run_id"`,
    // now() is the transaction start: the snapshot every table of this municipality is read in.
    `(now() AT TIME ZONE 'UTC') AS "_extracted_at"`,
  ];
  const select = `SELECT ${[...resolved.selectList, ...ingestionList].join(', ')} FROM public.${quoteIdent(table.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  return `COPY (${select}) TO STDOUT WITH (FORMAT csv)`;
}
