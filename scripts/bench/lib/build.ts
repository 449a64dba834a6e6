import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { BUILD_DIR } from './proc';

export const WORKERS = ['extract', 'naive', 'fanout', 'load', 'micro'] as const;

/**
 * Bundles the workers into plain JavaScript (dependencies stay in node_modules), so a measured
 * child runs like a deployed function: no TypeScript loader in the process, nothing compiled on
 * the fly inside the measurement.
 */
export async function buildWorkers(): Promise<void> {
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(WORKERS.map((w) => [w, path.join(__dirname, '..', 'workers', `${w}.ts`)])),
    outdir: BUILD_DIR,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
}
