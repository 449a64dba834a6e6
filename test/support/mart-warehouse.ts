import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { PEC_TABLES } from '../../shared/tables/pec-tables';

/**
 * A hand-made local warehouse for the indicator tests: raw tables from the registry, rows inserted as
 * one municipality's loaded data (the ingestion columns filled as a load would), nothing else.
 */
export type Row = Record<string, DuckDBValue>;

export interface MartWarehouse {
  w: DuckDbWarehouse;
  /** Rows into raw.<table>, as municipality `ibge`'s loaded data. */
  insert(table: string, rows: Row[]): Promise<void>;
  dispose(): void;
}

export async function openMartWarehouse(prefix: string, ibge: string): Promise<MartWarehouse> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
  await w.ensureRawTables(PEC_TABLES);
  return {
    w,
    async insert(table, rows) {
      for (const r of rows) {
        const cols = [...Object.keys(r), '_municipality_ibge', '_run_id', '_extracted_at'];
        const values = [...Object.values(r), ibge, 'fixture', '2026-11-22 06:00:00'];
        await w.execute(`INSERT INTO raw.${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
      }
    },
    dispose() {
      w.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
