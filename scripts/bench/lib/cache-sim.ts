import { Client } from 'pg';
import type { LocalPostgres } from '../../../shared/local/postgres-server';
import { PEC_TABLES } from '../../../shared/tables/pec-tables';
import { seedPec } from '../../synthetic-pec/generate';

export interface CacheHitRow {
  table: string;
  rows: number;
  values: number;
  distinct: number;
  /** Share of values the Pseudonymizer's cache would answer, by cache size. */
  hitRate: Record<number, number>;
}

/**
 * How often the pseudonym cache hits on a realistic municipality: every hashed column of every
 * table, read in physical order (what a full-table COPY returns), replayed through the cache's own
 * policy (a Map of at most N entries, emptied when full).
 */
export async function cacheHitRates(
  server: LocalPostgres,
  admin: Client,
  citizens: number,
  sizes: number[],
): Promise<{ citizens: number; seedSeconds: number; tables: CacheHitRow[] }> {
  const database = 'bench_cache_hits';
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const db = new Client({ connectionString: server.url(database) });
  await db.connect();
  try {
    const t0 = performance.now();
    await seedPec(db, { seed: 21, municipalities: [{ ibge: '3509502', name: 'Campinas', uf: 'SP' }], citizens });
    const seedSeconds = (performance.now() - t0) / 1000;
    const tables: CacheHitRow[] = [];
    for (const t of PEC_TABLES) {
      const hashed = t.columns.filter((c) => c.pii?.policy === 'hash').map((c) => `"${c.name}"::text`);
      if (hashed.length === 0 || t.municipality.kind !== 'column') continue;
      const { rows } = await db.query<unknown[]>({ text: `SELECT ${hashed.join(', ')} FROM public."${t.name}"`, rowMode: 'array' });
      const values = rows
        .flat()
        .filter((v): v is string => typeof v === 'string' && v !== '')
        .map((v) => v.trim());
      const hitRate: Record<number, number> = {};
      for (const limit of sizes) {
        let cache = new Set<string>();
        let hits = 0;
        for (const v of values) {
          if (cache.has(v)) hits++;
          else {
            if (cache.size >= limit) cache = new Set();
            cache.add(v);
          }
        }
        hitRate[limit] = values.length ? hits / values.length : 0;
      }
      tables.push({ table: t.name, rows: rows.length, values: values.length, distinct: new Set(values).size, hitRate });
    }
    return { citizens, seedSeconds, tables };
  } finally {
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  }
}
