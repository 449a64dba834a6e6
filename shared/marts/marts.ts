import type { DuckDbWarehouse } from '../local/duckdb-warehouse';
import { OWNED_COLUMN_TYPES, bigQueryTableSpec, duckDbCreateTable, type BigQueryTableSpec, type OwnedTable } from '../ledger/table-schema';
import { DIABETES, HYPERTENSION, followUpTable, type FollowUpSpec } from './follow-up';
import type { SqlDialect } from './sql-dialect';
import { FACT_TABLE, STAR_TABLES } from './star';

/**
 * The marts Power BI reads, in the `marts` dataset. Each is rebuilt from the raw tables at the end
 * of every run (the workflow's refreshMarts step), as one transaction per mart. Documented column by
 * column in docs/marts.md (a test checks that every column is there).
 */
export interface Mart {
  name: string;
  table: OwnedTable;
  /** Statements of one refresh, to run in one transaction, in the given dialect. */
  refreshStatements(dialect: SqlDialect): string[];
  /**
   * The mart whose refresh transaction rebuilds this one (from its rows); this mart's own refresh
   * is then empty. Kept in MARTS so its table, row access policies and docs come from here.
   */
  refreshedWith?: string;
}

const followUp = (spec: FollowUpSpec): Mart => ({
  name: spec.name,
  table: followUpTable(spec),
  refreshedWith: FACT_TABLE,
  refreshStatements: () => [],
});

export const MARTS: readonly Mart[] = [
  followUp(HYPERTENSION),
  followUp(DIABETES),
  // The star schema (shared/marts/star.ts, docs/powerbi.md).
  ...STAR_TABLES.map((t): Mart => ({ name: t.table.name, table: t.table, refreshedWith: t.refreshedWith, refreshStatements: (dialect) => t.refreshStatements(dialect) })),
];
export const MART_NAMES = MARTS.map((m) => m.name);

export function getMart(name: string): Mart {
  const m = MARTS.find((x) => x.name === name);
  if (!m) throw new Error(`unknown mart "${name}" (known: ${MART_NAMES.join(', ')})`);
  return m;
}

/** BigQuery schemas of the mart tables: infra-cdktf creates the tables (and their row access policies) from these. */
export function bigQueryMartTables(): BigQueryTableSpec[] {
  return MARTS.map((m) => bigQueryTableSpec(m.table));
}

/**
 * One BigQuery script per mart (a multi-statement transaction), with `{{raw}}`/`{{marts}}`
 * placeholders for `project.dataset`. The workflow embeds these texts.
 */
export function bigQueryRefreshScript(mart: Mart): string {
  return ['BEGIN TRANSACTION', ...mart.refreshStatements('bigquery').map(compactSql), 'COMMIT TRANSACTION'].join(';\n') + ';';
}

/**
 * The SQL without comments and runs of blanks: the workflow embeds every mart's script, and
 * Workflows limits a source to 128 KB. Safe for our SQL: no string literal holds `--` or relies
 * on repeated blanks (codes are checked by sqlLiteral).
 */
export function compactSql(sql: string): string {
  return sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Create the mart tables locally, and add the columns a newer definition has to a table an older
 * version created (what BigQuery does in place for a NULLABLE column).
 */
export async function ensureMartTables(warehouse: DuckDbWarehouse): Promise<void> {
  for (const m of MARTS) await ensureMartTable(warehouse, m);
}

async function ensureMartTable(warehouse: DuckDbWarehouse, mart: Mart): Promise<void> {
  await warehouse.execute(duckDbCreateTable(mart.table));
  for (const c of mart.table.columns.filter((x) => !x.required))
    await warehouse.execute(`ALTER TABLE marts.${mart.name} ADD COLUMN IF NOT EXISTS ${c.name} ${OWNED_COLUMN_TYPES[c.type].duckdb}`);
}

/** Rebuild one mart in the local warehouse, in one transaction; returns its row count. */
export async function refreshMartDuckDb(warehouse: DuckDbWarehouse, mart: Mart): Promise<number> {
  // This mart's table and those its transaction rebuilds too.
  for (const m of [mart, ...MARTS.filter((x) => x.refreshedWith === mart.name)]) await ensureMartTable(warehouse, m);
  // One execute call: the statements run back to back on the warehouse's single connection, so no
  // load can interleave with the transaction.
  const script = ['BEGIN TRANSACTION', ...mart.refreshStatements('duckdb'), 'COMMIT'].join(';\n');
  try {
    await warehouse.execute(script);
  } catch (err) {
    await warehouse.execute('ROLLBACK').catch(() => {});
    throw new Error(`refreshing marts.${mart.name} failed: ${(err as Error).message}`, { cause: err });
  }
  const [r] = await warehouse.query(`SELECT count(*)::INTEGER AS n FROM marts.${mart.name}`);
  return Number(r?.n ?? 0);
}
