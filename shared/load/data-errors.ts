/**
 * A staged file a warehouse cannot load (a value its column type cannot hold, a malformed row) is a
 * deterministic data error: terminal for that one slice, never retried, never a reason to hold back
 * another municipality's slices. Both warehouses' error texts quote the offending row or value
 * (DuckDB: "Original Line: …"; BigQuery: "Could not parse 'NaN' as …"), which may carry pseudonyms
 * or a birth date, so the message that reaches outcomes and logs is rebuilt from the parts that
 * name WHERE (municipality, table, column, line or byte offset, file), never WHAT.
 */

export interface DataErrorWhere {
  table: string;
  municipality: string;
}

/** DuckDB errors that say the CSV content itself cannot be loaded (conversion, malformed rows). */
export function isDuckDbDataError(message: string): boolean {
  return /^(Conversion Error|Invalid Input Error): CSV Error on Line/.test(message) || /^Conversion Error:/.test(message);
}

/** Identifier-like tokens only: a column name taken from an error text must not smuggle a value out. */
const safe = (s: string | undefined): string | undefined => (s && /^[A-Za-z0-9_.\-/:]{1,300}$/.test(s) ? s : undefined);

/**
 * "Conversion Error: CSV Error on Line: 3\nOriginal Line: <row>\nError when converting column "b".
 * Could not convert string "NaN" to 'DECIMAL'…  file = /x/part-00000.csv.gz …" →
 * "tb_x/3550308: column b on line 3 of /x/part-00000.csv.gz: value not convertible to DECIMAL".
 */
export function duckDbDataErrorMessage(where: DataErrorWhere, raw: string): string {
  const line = /CSV Error on Line: (\d+)/.exec(raw)?.[1];
  const column = safe(/Error when converting column "([^"]+)"/.exec(raw)?.[1] ?? /column "?([A-Za-z0-9_]+)"? is being converted/i.exec(raw)?.[1]);
  // The group always matches when the pattern does: one `?.` covers "no type named".
  const type = safe(/ to '([A-Z0-9_(), ]+)'/.exec(raw)?.[1].replace(/[(), ]+/g, '_'));
  const file = safe(/\n\s*file = (\S+)/.exec(raw)?.[1]);
  const kind = /Expected Number of Columns/i.test(raw)
    ? 'wrong number of columns'
    : /unterminated quote/i.test(raw)
      ? 'unterminated quote'
      : type
        ? `value not convertible to ${type}`
        : 'row cannot be read';
  return `${where.table}/${where.municipality}: ${column ? `column ${column} ` : ''}${line ? `on line ${line} ` : ''}${file ? `of ${file}` : 'of its staged files'}: ${kind} (row content withheld)`;
}

/**
 * BigQuery load-job errors: "Error while reading data, error message: Could not parse 'NaN' as
 * NUMERIC for field nu_x (position 3) starting at location 123 with message '…'" with the file in
 * `location`. Keeps field, position, byte offset and file; drops every quoted value.
 */
export function bigQueryDataErrorMessage(where: DataErrorWhere, errors: readonly { message?: string; location?: string }[]): string {
  const details = errors
    .map((e) => {
      const m = e.message ?? '';
      // Two shapes: "Could not parse 'v' as T for field f (position p) starting at location o", and the
      // newer "line_number: 3 byte_offset_to_start_of_line: o column_index: p column_name: "f" column_type: T value: "v"".
      const field = safe(/for field ([A-Za-z0-9_]+)/.exec(m)?.[1] ?? /column_name: "?([A-Za-z0-9_]+)"?/.exec(m)?.[1]);
      const position = /\(position (\d+)\)/.exec(m)?.[1] ?? /column_index: (\d+)/.exec(m)?.[1];
      const offset = /starting at location (\d+)/.exec(m)?.[1] ?? /byte_offset_to_start_of_line: (\d+)/.exec(m)?.[1];
      const line = /line_number: (\d+)/.exec(m)?.[1];
      const type = safe(/ as ([A-Z0-9_]+) for field/.exec(m)?.[1] ?? /column_type: ([A-Z0-9_]+)/.exec(m)?.[1]);
      const file = safe(e.location) ?? safe(/File: (\S+)/.exec(m)?.[1]);
      if (!field && !offset && !file) return undefined;
      const at = [field && `column ${field}`, position && `(position ${position})`, line && `on line ${line}`, offset && `at byte ${offset}`, file && `of ${file}`];
      return `${at.filter(Boolean).join(' ')}${type ? `: value not convertible to ${type}` : ''}`;
    })
    .filter((d): d is string => !!d);
  return `${where.table}/${where.municipality}: ${details.length > 0 ? [...new Set(details)].slice(0, 3).join('; ') : 'staged files cannot be loaded'} (row content withheld)`;
}

/**
 * For a warehouse error that is not classified as a data error but may still quote data (an
 * unexpected CSV failure): drops DuckDB's "Original Line:" row and any quoted value it converts,
 * keeping the rest of the diagnosis. True when something was withheld (the raw error must then not
 * travel as a cause either).
 */
export function redactRowContent(message: string): { message: string; redacted: boolean } {
  const out = message
    .replace(/^Original Line:.*/gm, 'Original Line: (row content withheld)')
    .replace(/(Could not convert string |Could not parse |value: )(["'])(?:(?!\2).)*\2/g, '$1(value withheld)');
  return { message: out, redacted: out !== message };
}
