/**
 * The marts are written once, in SQL that DuckDB and BigQuery both accept (CTEs, window functions,
 * CASE, `||`, COALESCE/NULLIF, CAST … AS INT64/STRING/DATE, FLOOR, MOD, SUBSTR, UNION DISTINCT).
 * The only thing that differs is how a table is named, and that lives here.
 *
 * BigQuery SQL is a template: `{{raw}}`, `{{marts}}` and `{{ops}}` stand for `project.dataset`, filled in by
 * whoever runs it (the workflow with `text.replace_all`, or `bindBigQueryDatasets`), so the committed
 * workflow file does not depend on a project id.
 */
export type SqlDialect = 'duckdb' | 'bigquery';

export const DATASET_PLACEHOLDERS = { raw: '{{raw}}', marts: '{{marts}}', ops: '{{ops}}' } as const;

export function tableRef(dialect: SqlDialect, dataset: keyof typeof DATASET_PLACEHOLDERS, table: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${JSON.stringify(table)}`);
  return dialect === 'duckdb' ? `${dataset}.${table}` : `\`${DATASET_PLACEHOLDERS[dataset]}.${table}\``;
}

/**
 * Fills the dataset placeholders of a BigQuery template: `project.dataset` for raw, marts and ops
 * (the marts' refresh reads the loader's slice ledger in ops: refresh-scope.ts).
 */
export function bindBigQueryDatasets(sql: string, datasets: { project: string; raw: string; marts: string; ops: string }): string {
  for (const [k, v] of Object.entries({ project: datasets.project, raw: datasets.raw, marts: datasets.marts, ops: datasets.ops }))
    if (!/^[a-z][a-z0-9_-]*$/i.test(v)) throw new Error(`${k} ${JSON.stringify(v)} is not a valid BigQuery name`);
  return sql
    .replaceAll(DATASET_PLACEHOLDERS.raw, `${datasets.project}.${datasets.raw}`)
    .replaceAll(DATASET_PLACEHOLDERS.marts, `${datasets.project}.${datasets.marts}`)
    .replaceAll(DATASET_PLACEHOLDERS.ops, `${datasets.project}.${datasets.ops}`);
}

/** A string literal for a code the project defines (CID, CIAP, SIGTAP codes): never user input. */
export function sqlLiteral(s: string): string {
  if (!/^[A-Za-z0-9 ._-]*$/.test(s)) throw new Error(`refusing to inline ${JSON.stringify(s)} into SQL`);
  return `'${s}'`;
}

/** A PEC day key (YYYYMMDD integer) as a DATE, in SQL both engines accept. */
export function dayKeyDate(expr: string): string {
  const s = `CAST(${expr} AS STRING)`;
  return `CAST(SUBSTR(${s}, 1, 4) || '-' || SUBSTR(${s}, 5, 2) || '-' || SUBSTR(${s}, 7, 2) AS DATE)`;
}

/** Whole days from `from` to `to` (DATE expressions): the one function the two engines spell differently. */
export function daysBetween(dialect: SqlDialect, from: string, to: string): string {
  return dialect === 'duckdb' ? `date_diff('day', ${from}, ${to})` : `DATE_DIFF(${to}, ${from}, DAY)`;
}

/** CAST to a double-precision float: FLOAT64 in BigQuery, DOUBLE in DuckDB (which has no FLOAT64). */
export function asFloat(dialect: SqlDialect, expr: string): string {
  return `CAST(${expr} AS ${dialect === 'duckdb' ? 'DOUBLE' : 'FLOAT64'})`;
}
