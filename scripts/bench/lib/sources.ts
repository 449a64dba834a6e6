import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ibgeCheckDigit } from '../../../shared/contracts/ibge';
import { startLocalPostgres, type LocalPostgres } from '../../../shared/local/postgres-server';
import { seedPec } from '../../synthetic-pec/generate';
import { readOnlyRoleSql } from '../../synthetic-pec/schema';
import type { PgConn } from './psql';

/** The benchmark's own PostgreSQL server, in a throwaway directory. */
export async function startBenchPostgres(root: string): Promise<{ server: LocalPostgres; admin: Client }> {
  fs.mkdirSync(root, { recursive: true });
  fs.chmodSync(root, 0o755); // as root the server runs as `nobody`, which must reach its data dir
  const server = await startLocalPostgres({ dataDir: path.join(root, 'pg', 'data'), superuserPassword: randomBytes(12).toString('hex'), fast: true });
  const admin = new Client({ connectionString: server.url() });
  await admin.connect();
  // Every table is vacuumed and analyzed explicitly after seeding; autovacuum workers would only
  // add noise to the server-CPU column (their CPU lands in the postmaster's child counters).
  await admin.query('ALTER SYSTEM SET autovacuum = off');
  await admin.query('SELECT pg_reload_conf()');
  return { server, admin };
}

/** A valid, unique São Paulo IBGE code for synthetic municipality number i. */
export function syntheticIbge(i: number): string {
  const six = `35${String(1000 + i).padStart(4, '0')}`;
  return six + ibgeCheckDigit(six);
}

async function createSource(server: LocalPostgres, admin: Client, database: string, seed: (c: Client) => Promise<void>): Promise<PgConn> {
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC`);
  const db = new Client({ connectionString: server.url(database) });
  await db.connect();
  try {
    await seed(db);
    // Like a long-lived PEC table: hint bits set, visibility map and statistics current.
    await db.query('VACUUM ANALYZE');
    const user = `reader_${database}`;
    const password = randomBytes(12).toString('hex');
    await db.query(readOnlyRoleSql(user, password, database));
    return { host: '127.0.0.1', port: server.port, user, password, database };
  } finally {
    await db.end();
  }
}

export interface FactSource {
  conn: PgConn;
  ibge: string;
  rows: number;
  citizens: number;
  seedSeconds: number;
}

/** One municipality whose consultation table holds exactly `rows` rows (seedPec's onlyTable mode). */
export async function seedFactSource(server: LocalPostgres, admin: Client, rows: number, citizens: number): Promise<FactSource> {
  const ibge = '3509502';
  const t0 = performance.now();
  const conn = await createSource(server, admin, `bench_fact_${rows}`, async (db) => {
    await seedPec(db, { seed: 11, municipalities: [{ ibge, name: 'Campinas', uf: 'SP' }], citizens, onlyTable: { name: 'tb_fat_atendimento_individual', rows } });
  });
  return { conn, ibge, rows, citizens, seedSeconds: (performance.now() - t0) / 1000 };
}

export interface FanOutSources {
  municipalities: { ibge: string; name: string; conn: PgConn }[];
  databases: number;
  seedSeconds: number;
  rows: number;
}

/**
 * `count` small municipalities on installations of `perInstallation` each (one database per
 * installation, like a consortium's shared PEC server), all on the benchmark's server.
 */
export async function seedFanOutSources(
  server: LocalPostgres,
  admin: Client,
  o: { count: number; perInstallation: number; citizens: number; endDate: string; log: (l: string) => void },
): Promise<FanOutSources> {
  const t0 = performance.now();
  const municipalities: FanOutSources['municipalities'] = [];
  let rows = 0;
  const databases = Math.ceil(o.count / o.perInstallation);
  for (let d = 0; d < databases; d++) {
    const members = Array.from({ length: Math.min(o.perInstallation, o.count - d * o.perInstallation) }, (_, k) => {
      const i = d * o.perInstallation + k;
      return { ibge: syntheticIbge(i), name: `Municipio ${String(i + 1).padStart(3, '0')}`, uf: 'SP' };
    });
    const conn = await createSource(server, admin, `bench_inst_${String(d).padStart(3, '0')}`, async (db) => {
      const s = await seedPec(db, { seed: 100 + d, municipalities: members, citizens: o.citizens, endDate: o.endDate });
      rows += s.totalRows;
    });
    for (const m of members) municipalities.push({ ibge: m.ibge, name: m.name, conn });
    if ((d + 1) % 10 === 0 || d === databases - 1) o.log(`seeded ${municipalities.length}/${o.count} municipalities (${d + 1} databases)`);
  }
  return { municipalities, databases, seedSeconds: (performance.now() - t0) / 1000, rows };
}
