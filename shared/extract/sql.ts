import {
  COLUMN_TYPES,
  INGESTION_COLUMNS,
  NUMERIC_MAX,
  pinnedNumeric,
  quoteIdent,
  TEXT_MAX_BYTES,
  type ColumnDef,
  type ColumnType,
  type ConformCheck,
  type SetAsideReason,
  type TableDef,
} from '../contracts/tables';
import type { SourceColumn } from './source';
import type { DateWindow } from '../contracts/identifiers';
import { TerminalError } from '../errors';

/**
 * Every SQL text the extractor sends is built here, from registry identifiers and from values the
 * code itself produced and checked (dimension ids read from the source, validated dates). Nothing a
 * message or a user typed is ever interpolated; COPY cannot take bind parameters, hence the checks.
 */

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
/** The leading output column of a COPY whose table has values to conform (csv-rows.ts strips it). */
export const SET_ASIDE_COLUMN = '_set_aside';

export const yyyymmdd = (isoDate: string): string => intLiteral(isoDate.replaceAll('-', ''));

export interface ResolvedColumns {
  /** SELECT list, hashed columns first (the CSV transform relies on that). */
  selectList: string[];
  /** Landed columns in file order, ingestion columns last. */
  columns: { name: string; type: ColumnType }[];
  hashedCount: number;
  warnings: string[];
  /**
   * The COPY's first output column when some column needs a conformance check: NULL for a row
   * whose values all conform (the fast path: one unquoted empty field), otherwise a JSON array
   * `[[primary key…], [column, reason, original, bytes] | null, …]`. Not part of the staged file.
   */
  setAsideSql: string | null;
  /** Columns checked at extraction (0: no `_set_aside` column at all). */
  checkedColumns: string[];
  /** Source columns the registry does not know (neither a name nor an alias): drift to report. */
  unknownColumns: string[];
  /** Columns whose source type is not one the registry type reads exactly (type drift), e.g. `nu_peso: numeric read as double`. */
  typeDrift: string[];
}

/**
 * Source types each registry type reads exactly (values beyond the landed range are caught by the
 * checks above). Any other source type is type drift: staged as PostgreSQL prints it and reported,
 * because the value may not load or may change (numeric read as double rounds).
 */
const EXACT_SOURCES: Record<ColumnType, readonly string[] | 'any'> = {
  bigint: ['bigint', 'integer', 'smallint'],
  integer: ['integer', 'smallint', 'bigint', 'numeric'],
  smallint: ['smallint', 'integer', 'bigint', 'numeric'],
  text: 'any', // every PostgreSQL type has a text form, and STRING/VARCHAR hold it exactly
  numeric: ['numeric', 'bigint', 'integer', 'smallint'],
  double: ['double precision', 'real', 'integer', 'smallint'],
  date: ['date'],
  timestamp: ['timestamp without time zone'],
};

/** What the extractor knows of a source column; a bare name set means "unknown type: check everything". */
type Available = ReadonlySet<string> | ReadonlyMap<string, SourceColumn>;

interface Check {
  /** SQL condition true when the value cannot land exactly. */
  bad: string;
  /** SQL text expression naming the reason (a SET_ASIDE_REASONS key). */
  reason: string;
  /** SQL text expression of what the record keeps of the original value. */
  original: string;
  /** SQL expression: the original value's length in bytes. */
  bytes: string;
  /** What is staged when the value conforms, when not the column itself (e.g. a cast). */
  value?: string;
}

const TEXT_TYPES = new Set(['text', 'character varying', 'character']);
const str = (reason: SetAsideReason) => `'${reason}'`;

/**
 * The check a value of registry type `type`, read from a source column `src`, needs before it can
 * be staged (COLUMN_TYPES' `conform`), or undefined when the source type already guarantees it —
 * so the common case costs PostgreSQL nothing. `e` is the quoted source column.
 */
export function conformCheck(type: ColumnType, e: string, src: SourceColumn | undefined, pinned?: { precision: number; scale: number }): Check | undefined {
  const dt = src?.dataType;
  const checks: readonly ConformCheck[] = COLUMN_TYPES[type].conform;
  for (const check of checks) {
    switch (check) {
      case 'numeric': {
        if (dt !== undefined && dt !== 'numeric') return undefined; // integers always fit; other types are not numeric text
        // The landed column: the registry's pinned numeric(p,s), else the contract's maximum.
        const scale = pinned?.scale ?? NUMERIC_MAX.scale;
        const digits = pinned ? pinned.precision - pinned.scale : NUMERIC_MAX.integerDigits;
        if (src?.precision != null && src.scale != null && src.scale <= scale && src.precision - src.scale <= digits) return undefined;
        return {
          // NaN sorts above every number in PostgreSQL, so test it first; a value that rounds at
          // the column's scale is set aside rather than rounded (trailing zeros round to themselves).
          bad: `(${e} = 'NaN' OR abs(${e}) >= 1e${digits} OR ${e} <> round(${e}, ${scale}))`,
          reason: `CASE WHEN ${e} = 'NaN' THEN ${str('numeric_nan')} WHEN abs(${e}) >= 1e${digits} THEN ${str('numeric_out_of_range')} ELSE ${str('numeric_scale')} END`,
          original: `${e}::text`,
          bytes: `octet_length(${e}::text)`,
        };
      }
      case 'int32':
      case 'int16': {
        const [lo, hi] = check === 'int32' ? ['-2147483648', '2147483647'] : ['-32768', '32767'];
        // Only a source column wider than the registry type can overflow it (known types only: the
        // registry's own type needs no check).
        if (dt !== 'bigint' && dt !== 'numeric' && !(dt === 'integer' && check === 'int16')) return undefined;
        // A numeric source may also hold fractions (and NaN, which sorts above every number).
        const bad = dt === 'numeric' ? `(${e} < ${lo} OR ${e} > ${hi} OR ${e} <> trunc(${e}))` : `(${e} < ${lo} OR ${e} > ${hi})`;
        // An integral numeric prints as e.g. `12.000`: stage it as integer digits.
        return { bad, reason: str('integer_out_of_range'), original: `${e}::text`, bytes: `octet_length(${e}::text)`, ...(dt === 'numeric' ? { value: `${e}::bigint` } : {}) };
      }
      case 'date':
        if (dt !== undefined && dt !== 'date') return undefined;
        return {
          bad: `(${e} < DATE '0001-01-01' OR ${e} > DATE '9999-12-31')`,
          reason: `CASE WHEN isfinite(${e}) THEN ${str('date_out_of_range')} ELSE ${str('date_infinite')} END`,
          original: `${e}::text`,
          bytes: `octet_length(${e}::text)`,
        };
      case 'timestamp':
        if (dt !== undefined && dt !== 'timestamp without time zone') return undefined;
        return {
          bad: `(${e} < TIMESTAMP '0001-01-01 00:00:00' OR ${e} > TIMESTAMP '9999-12-31 23:59:59.999999')`,
          reason: `CASE WHEN isfinite(${e}) THEN ${str('timestamp_out_of_range')} ELSE ${str('timestamp_infinite')} END`,
          original: `${e}::text`,
          bytes: `octet_length(${e}::text)`,
        };
      case 'text_length':
        if (dt !== undefined && !TEXT_TYPES.has(dt)) return undefined; // numbers, dates… printed as text are short
        // varchar(n) holds at most 4n bytes of UTF-8.
        if (src?.maxChars != null && src.maxChars * 4 <= TEXT_MAX_BYTES) return undefined;
        // octet_length of a TOASTed value reads its header, not the value.
        return { bad: `octet_length(${e}) > ${TEXT_MAX_BYTES}`, reason: str('text_too_long'), original: `left(${e}, 1000)`, bytes: `octet_length(${e})` };
    }
  }
  return undefined;
}

/**
 * Maps registry columns onto what this source actually has (PEC versions drift): the registry
 * name, else the first alias present, else NULL with a warning (`whenMissing: null`), else the
 * table fails with a schema error naming the columns (`whenMissing: fail`). Dropped columns are
 * never selected. Columns whose values may fall outside the landed type get a conformance check
 * (see `conformCheck`) feeding the leading `_set_aside` column.
 */
export function resolveColumns(table: TableDef, available: Available): ResolvedColumns {
  const names = new Set(available.keys());
  const typeOf = (name: string): SourceColumn | undefined => (available instanceof Map ? available.get(name) : undefined);
  const warnings: string[] = [];
  const missing: string[] = [];
  /** The source column a registry column reads, or undefined (absent). */
  const sourceName = (c: ColumnDef): string | undefined => (names.has(c.name) ? c.name : c.aliases.find((a) => names.has(a)));
  const expr = (c: ColumnDef): string | undefined => {
    const src = sourceName(c);
    if (src === c.name) return quoteIdent(c.name);
    if (src) return `${quoteIdent(src)} AS ${quoteIdent(c.name)}`;
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
  const checked: { name: string; check: Check }[] = [];
  const typeDrift: string[] = [];
  for (const c of plain) {
    const e = expr(c);
    if (!e) continue;
    const src = sourceName(c);
    const dt = src ? typeOf(src)?.dataType : undefined;
    const exact = EXACT_SOURCES[c.type];
    if (dt !== undefined && exact !== 'any' && !exact.includes(dt)) typeDrift.push(`${c.name}: source ${dt} read as registry ${c.type}`);
    let check = src ? conformCheck(c.type, quoteIdent(src), typeOf(src), pinnedNumeric(c)) : undefined;
    // Personal data kept in clear (policy `keep`) is protected by a policy tag on its own column;
    // set_aside_values has none, so the record names the value but does not copy it.
    if (check && c.pii) check = { ...check, original: 'NULL::text' };
    if (check) {
      checked.push({ name: c.name, check });
      selectList.push(`CASE WHEN ${check.bad} THEN NULL ELSE ${check.value ?? quoteIdent(src!)} END AS ${quoteIdent(c.name)}`);
    } else selectList.push(e);
  }
  if (missing.length > 0)
    throw new TerminalError(`${table.name}: column(s) ${missing.join(', ')} absent from the source and the registry does not allow NULL-filling them`, 'source_schema');
  let setAsideSql: string | null = null;
  if (checked.length > 0) {
    const pk = table.primaryKey.map((k) => `${quoteIdent(sourceName(table.columns.find((c) => c.name === k)!) ?? k)}::text`);
    const items = checked.map(({ name, check }) => `CASE WHEN ${check.bad} THEN json_build_array('${name}', ${check.reason}, ${check.original}, ${check.bytes}) END`);
    setAsideSql = `CASE WHEN ${checked.map((c) => c.check.bad).join(' OR ')} THEN json_build_array(json_build_array(${pk.join(', ')}), ${items.join(', ')})::text END AS ${quoteIdent(SET_ASIDE_COLUMN)}`;
  }
  const known = new Set([...table.columns.flatMap((c) => [c.name, ...c.aliases]), ...(table.ignoredColumns ?? [])]);
  return {
    selectList,
    columns: [
      ...hashed.map((c) => ({ name: c.name, type: 'text' as const })),
      ...plain.map((c) => ({ name: c.name, type: c.type })),
      ...INGESTION_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    ],
    hashedCount: hashed.length,
    warnings,
    setAsideSql,
    checkedColumns: checked.map((c) => c.name),
    unknownColumns: [...names].filter((n) => !known.has(n)).sort(),
    typeDrift,
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
  // The set-aside description leads the row: the CSV transform reads and strips one field.
  const lead = resolved.setAsideSql ? [resolved.setAsideSql] : [];
  const select = `SELECT ${[...lead, ...resolved.selectList, ...ingestionList].join(', ')} FROM public.${quoteIdent(table.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  return `COPY (${select}) TO STDOUT WITH (FORMAT csv)`;
}
