import fs from 'node:fs';
import type { LocalPostgres } from '../../shared/local/postgres-server';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __pecTestPostgres?: { server: LocalPostgres; dir: string } }).__pecTestPostgres;
  if (!state) return;
  await state.server.stop();
  fs.rmSync(state.dir, { recursive: true, force: true });
}
