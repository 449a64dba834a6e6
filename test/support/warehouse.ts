import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import type { TableDef } from '../../shared/contracts/tables';

/**
 * Row count and an order-independent hash of every raw table, optionally for one municipality.
 * `contentOnly` leaves out the ingestion columns (run id, snapshot time), to compare the data of
 * two different runs.
 */
export async function fingerprint(
  w: DuckDbWarehouse,
  tables: readonly TableDef[],
  municipality?: string,
  options: { contentOnly?: boolean } = {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const cols = options.contentOnly ? '* EXCLUDE (_run_id, _extracted_at)' : '*';
    const [r] = await w.query(
      `SELECT count(*)::VARCHAR AS n, coalesce(sum(hash(x)), 0)::VARCHAR AS h
       FROM (SELECT ${cols} FROM raw."${t.name}" ${municipality ? 'WHERE _municipality_ibge = $1' : ''}) AS x`,
      municipality ? [municipality] : [],
    );
    out[t.name] = `${r!.n}:${r!.h}`;
  }
  return out;
}
