import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The superuser URL of the PostgreSQL server global setup started for this test run. */
export function testServerUrl(database = 'postgres'): string {
  const base = process.env.PIPELINE_TEST_PG_URL;
  if (!base) throw new Error('PIPELINE_TEST_PG_URL is not set: run tests through jest (global setup starts PostgreSQL)');
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

export function testServerPort(): number {
  return Number(new URL(testServerUrl()).port);
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A read-only login role for this database only, like a PEC's esus_leitura. */
  readerRole: string;
  readerPassword: string;
  client: Client;
  drop(): Promise<void>;
}

/** A fresh, uniquely named database; `setup` runs as superuser before the reader role is granted. */
export async function createTestDatabase(prefix: string, setup: (c: Client) => Promise<void>): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: testServerUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query(`REVOKE CONNECT ON DATABASE ${name} FROM PUBLIC`);
  await admin.end();
  const client = new Client({ connectionString: testServerUrl(name) });
  await client.connect();
  await setup(client);
  const readerRole = `reader_${name}`;
  const readerPassword = randomBytes(12).toString('hex');
  await client.query(`CREATE ROLE ${readerRole} LOGIN PASSWORD '${readerPassword}'`);
  await client.query(`GRANT CONNECT ON DATABASE ${name} TO ${readerRole}`);
  await client.query(`GRANT USAGE ON SCHEMA public TO ${readerRole}`);
  await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${readerRole}`);
  return {
    name,
    url: testServerUrl(name),
    readerRole,
    readerPassword,
    client,
    async drop() {
      await client.end();
      const a = new Client({ connectionString: testServerUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name}`);
      await a.query(`DROP ROLE IF EXISTS ${readerRole}`);
      await a.end();
    },
  };
}
