import fs from 'node:fs';
import { DuckDBInstance, DuckDBTypeId, type DuckDBValue } from '@duckdb/node-api';
import { localPaths } from '../../shared/local/runtime';
import { CommandError, EXIT } from './cli';
import { currentHolder, describeHolder } from './run-lock';

/**
 * Read-only access to the local warehouse for `status` and `query`. DuckDB allows one writer and no
 * reader beside it, so while a run holds the file the reader says who holds it (from the run lock)
 * instead of a stack trace. Numbers come back as JSON numbers whenever the number is exact (DuckDB's
 * JSON rendering gives BIGINT, HUGEINT and DECIMAL as strings).
 */

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
]);

/** The number a JSON string stands for, when a JSON number holds it exactly; otherwise the string. */
export function exactNumber(v: unknown): unknown {
  if (typeof v !== 'string' || !/^-?\d+(\.\d+)?$/.test(v)) return v;
  const n = Number(v);
  const canonical = v.includes('.') ? v.replace(/\.?0+$/, '') : v;
  return String(n) === canonical ? n : v;
}

export interface ReadOnlyWarehouse {
  file: string;
  query(sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]>;
  close(): void;
}

export class NoWarehouseError extends Error {}

/** Opens `<dataDir>/warehouse.duckdb` read-only, or explains why it cannot (exit code 3 when busy). */
export async function openWarehouseForReading(dataDir: string): Promise<ReadOnlyWarehouse> {
  const file = localPaths(dataDir).warehouse;
  if (!fs.existsSync(file)) throw new NoWarehouseError(`no warehouse at ${file}: run \`npm start${dataDir === '.local' ? '' : ` -- --data-dir ${dataDir}`}\` first`);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  } catch (err) {
    if (!/lock/i.test((err as Error).message)) throw err;
    const holder = currentHolder(dataDir);
    throw new CommandError(
      `${file} is in use by ${holder ? describeHolder(holder) : 'another process'}: DuckDB allows no reader beside a writer; try again when it ends`,
      EXIT.busy,
    );
  }
  const conn = await instance.connect();
  return {
    file,
    async query(sql, params = []) {
      const reader = await conn.runAndReadAll(sql, params);
      const numeric = reader.columnNames().filter((_, i) => NUMERIC.has(reader.columnTypes()[i]!.typeId));
      return reader.getRowObjectsJson().map((row) => {
        const out: Record<string, unknown> = { ...row };
        for (const c of numeric) out[c] = exactNumber(out[c]);
        return out;
      });
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}
