import type { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import type { TableDef } from '../../shared/contracts/tables';

/** Row count and an order-independent hash of every raw table, optionally for one municipality. */
export async function fingerprint(w: DuckDbWarehouse, tables: readonly TableDef[], municipality?: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const [r] = await w.query(
      `SELECT count(*)::VARCHAR AS n, coalesce(sum(hash(x)), 0)::VARCHAR AS h FROM raw."${t.name}" AS x ${municipality ? 'WHERE _municipality_ibge = $1' : ''}`,
      municipality ? [municipality] : [],
    );
    out[t.name] = `${r!.n}:${r!.h}`;
  }
  return out;
}
