import type { DuckDbWarehouse } from '../local/duckdb-warehouse';
import { bigQueryTableSpec, duckDbCreateTable, type BigQueryTableSpec, type OwnedTable } from '../ledger/table-schema';
import { DIABETES, HYPERTENSION, followUpRefreshStatements, followUpTable, type FollowUpSpec } from './follow-up';
import type { SqlDialect } from './sql-dialect';

/**
 * The marts Power BI reads, in the `marts` dataset. Each is rebuilt from the raw tables at the end
 * of every run (the DAG's refreshMarts step), as one transaction per mart. Documented column by
 * column in docs/marts.md (a test checks that every column is there).
 */
export interface Mart {
  name: string;
  table: OwnedTable;
  /** Statements of one refresh, to run in one transaction, in the given dialect. */
  refreshStatements(dialect: SqlDialect): string[];
}

const followUp = (spec: FollowUpSpec): Mart => ({
  name: spec.name,
  table: followUpTable(spec),
  refreshStatements: (dialect) => followUpRefreshStatements(spec, dialect),
});

export const MARTS: readonly Mart[] = [followUp(HYPERTENSION), followUp(DIABETES)];
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
  return ['BEGIN TRANSACTION', ...mart.refreshStatements('bigquery'), 'COMMIT TRANSACTION'].join(';\n') + ';';
}

export async function ensureMartTables(warehouse: DuckDbWarehouse): Promise<void> {
  for (const m of MARTS) await warehouse.execute(duckDbCreateTable(m.table));
}

/** Rebuild one mart in the local warehouse, in one transaction; returns its row count. */
export async function refreshMartDuckDb(warehouse: DuckDbWarehouse, mart: Mart): Promise<number> {
  await warehouse.execute(duckDbCreateTable(mart.table));
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
