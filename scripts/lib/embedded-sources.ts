import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { startLocalPostgres, type LocalPostgres } from '../../shared/local/postgres-server';
import type { LocalPaths } from '../../shared/local/runtime';
import { LocalSecrets } from '../../shared/local/secrets';
import { readOnlyRoleSql } from '../synthetic-pec/schema';
import { seedPec } from '../synthetic-pec/generate';
import { addDays } from '../../shared/run/plan-run';
import type { PecVersion } from '../synthetic-pec/schema';

/**
 * The embedded default: synthetic PEC databases on a PostgreSQL server this project starts itself.
 * Four sources, five municipalities: three single-municipality PECs (one on an older PEC version,
 * with drifted column names) and one installation that holds two municipalities. Each source has
 * its own read-only role and password, and only that role may connect to that database, as
 * separate municipal servers would behave.
 */
export interface EmbeddedSource {
  database: string;
  pecVersion: PecVersion;
  seed: number;
  municipalities: { ibge: string; name: string; uf: string }[];
}

export const EMBEDDED_SOURCES: EmbeddedSource[] = [
  { database: 'pec_3509502', pecVersion: '5.5', seed: 1, municipalities: [{ ibge: '3509502', name: 'Campinas', uf: 'SP' }] },
  { database: 'pec_3548500', pecVersion: '5.5', seed: 2, municipalities: [{ ibge: '3548500', name: 'Santos', uf: 'SP' }] },
  { database: 'pec_3552205', pecVersion: '5.2', seed: 3, municipalities: [{ ibge: '3552205', name: 'Sorocaba', uf: 'SP' }] },
  {
    database: 'pec_pr_consorcio',
    pecVersion: '5.5',
    seed: 4,
    municipalities: [
      { ibge: '4106902', name: 'Curitiba', uf: 'PR' },
      { ibge: '4119905', name: 'Ponta Grossa', uf: 'PR' },
    ],
  },
];

const roleOf = (db: string) => `esus_leitura_${db.replace(/^pec_/, '')}`;
const secretOf = (db: string) => `pec-db-password-${db.replace(/_/g, '-')}`;

export interface EmbeddedEnvironment {
  server: LocalPostgres;
  registry: MunicipalityRegistry;
  seededNow: boolean;
}

/** Starts the embedded server and seeds the sources on first use; later runs reuse them. */
export async function startEmbeddedSources(
  paths: LocalPaths,
  options: {
    citizens: number;
    endDate: string;
    log: (line: string) => void;
    /** Each seeding step as it ends (a table loaded, constraints, analyze): the seeding's progress. */
    onSeedStep?: (database: string, step: { label: string; rows?: number; ms: number }) => void;
  },
): Promise<EmbeddedEnvironment> {
  const secrets = new LocalSecrets(paths.secrets);
  const superFile = path.join(paths.secrets, 'postgres-superuser');
  if (!fs.existsSync(superFile)) secrets.put('postgres-superuser', randomBytes(18).toString('base64url'));
  const superuserPassword = fs.readFileSync(superFile, 'utf8');
  const server = await startLocalPostgres({ dataDir: paths.postgres, superuserPassword, fast: true, log: options.log });

  const marker = path.join(paths.root, 'seeded.json');
  // Loopback stands in for the VPN path: no TLS, like a PEC reached through a tunnel.
  const registry = MunicipalityRegistry.parse({
    municipalities: EMBEDDED_SOURCES.flatMap((s) =>
      s.municipalities.map((m) => ({
        ibge: m.ibge,
        name: m.name,
        cohort: 'embedded',
        network: 'vpn',
        connection: { host: '127.0.0.1', port: server.port, database: s.database, user: roleOf(s.database), password: { secret: secretOf(s.database) } },
        installation: s.database.replace(/_/g, '-'),
      })),
    ),
  });

  if (fs.existsSync(marker)) return { server, registry, seededNow: false };

  const admin = new Client({ connectionString: server.url() });
  await admin.connect();
  try {
    for (const s of EMBEDDED_SOURCES) {
      const t0 = Date.now();
      await admin.query(`DROP DATABASE IF EXISTS ${s.database}`);
      await admin.query(`CREATE DATABASE ${s.database}`);
      await admin.query(`REVOKE CONNECT ON DATABASE ${s.database} FROM PUBLIC`);
      const db = new Client({ connectionString: server.url(s.database) });
      await db.connect();
      try {
        // The PEC's nightly DW job processed the data at the start of the run day (00:00 São Paulo),
        // so the first run sees a fresh source; later days see it age (and the stale-source alert).
        const dwProcessedAt = new Date(`${addDays(options.endDate, 1)}T03:00:00Z`);
        const summary = await seedPec(
          db,
          { seed: s.seed, municipalities: s.municipalities, citizens: options.citizens, endDate: options.endDate, pecVersion: s.pecVersion, dwProcessedAt },
          (step) => options.onSeedStep?.(s.database, step),
        );
        const password = randomBytes(18).toString('base64url');
        await db.query(readOnlyRoleSql(roleOf(s.database), password, s.database));
        secrets.put(secretOf(s.database), password);
        const rows = Object.values(summary.rowsPerTable as Record<string, number>).reduce((a, b) => a + b, 0);
        options.log(
          `seeded ${s.database} (${s.municipalities.map((m) => m.name).join(' + ')}, PEC ${s.pecVersion}): ${rows.toLocaleString('en-US')} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
      } finally {
        await db.end();
      }
    }
  } finally {
    await admin.end();
  }
  fs.writeFileSync(marker, JSON.stringify({ seededAt: new Date().toISOString(), sources: EMBEDDED_SOURCES.map((s) => s.database) }, null, 2));
  return { server, registry, seededNow: true };
}
