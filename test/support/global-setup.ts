import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalPostgres } from '../../shared/local/postgres-server';

/**
 * One real PostgreSQL server per test run, started outside the test VMs. Tests create their own
 * uniquely named databases on it through PIPELINE_TEST_PG_URL.
 */
export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-test-pg-'));
  fs.chmodSync(dir, 0o755);
  const server = await startLocalPostgres({ dataDir: path.join(dir, 'data'), superuserPassword: 'test-superuser', fast: true });
  process.env.PIPELINE_TEST_PG_URL = server.url();
  (globalThis as { __pecTestPostgres?: unknown }).__pecTestPostgres = { server, dir };
}
