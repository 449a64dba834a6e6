import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalPostgres } from '../shared/local/postgres-server';

/**
 * `npm run mutation:source [-- <stryker options>]`: starts the embedded PostgreSQL ONCE, runs
 * StrykerJS with stryker.source.config.mjs against it (PIPELINE_TEST_PG_URL, as the test suite's
 * global setup would set it), and stops the server when Stryker ends. Without this, every mutant's
 * jest run would start its own server (StrykerJS calls jest once per mutant, global setup included).
 */
async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-mutation-pg-'));
  fs.chmodSync(dir, 0o755);
  const server = await startLocalPostgres({ dataDir: path.join(dir, 'data'), superuserPassword: 'mutation-superuser', fast: true });
  try {
    const env = { ...process.env, PIPELINE_TEST_PG_URL: server.url() };
    const child = spawn('npx', ['stryker', 'run', 'stryker.source.config.mjs', ...process.argv.slice(2)], { stdio: 'inherit', env });
    const stop = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
