import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../shared/contracts/config';
import { EnvironmentName } from './config';
import { readEnvironmentConfig } from './inputs';
import { ceilings, ceilingTable, limitsDocument, rowsFor, table } from './limits-report';
import type { NetworkMix } from './synthetic';

/**
 * npm run limits -- [--municipalities 650] [--network vpn|tls|mix] [--env prod]
 *   prints, for a registry of that size shaped like a real one, every Google limit the stack
 *   touches with the count, and where the design stops on the way to all 5,570 municipalities.
 * npm run limits -- --write-doc     regenerates docs/limits.md.
 */
const repoRoot = path.resolve(__dirname, '..');
export const LIMITS_DOC = path.join(repoRoot, 'docs', 'limits.md');
export const WORKFLOW_FILE = path.join(repoRoot, 'workflows', 'daily.workflows.yaml');

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function main(argv: string[]): void {
  const env = EnvironmentName.parse(arg(argv, 'env') ?? 'prod');
  const base = readEnvironmentConfig(repoRoot, env);
  const wf = fs.readFileSync(WORKFLOW_FILE, 'utf8');
  if (argv.includes('--write-doc')) {
    fs.writeFileSync(LIMITS_DOC, limitsDocument(readEnvironmentConfig(repoRoot, 'prod'), wf));
    console.log(`wrote ${path.relative(process.cwd(), LIMITS_DOC)}`);
    return;
  }
  const n = Number(arg(argv, 'municipalities') ?? 650);
  if (!Number.isInteger(n) || n < 1 || n > 8000) throw new ConfigError([`--municipalities must be a whole number from 1 to 8000, got ${arg(argv, 'municipalities')}`]);
  const mix = (arg(argv, 'network') ?? 'mix') as NetworkMix;
  if (!['vpn', 'tls', 'mix'].includes(mix)) throw new ConfigError([`--network must be vpn, tls or mix, got ${mix}`]);
  console.log(`# ${n} municipalities, network ${mix}, ${env} config\n\n${table(rowsFor(base, n, mix, wf))}\n`);
  console.log(`# Where the design stops on the way to 5,570 (network ${mix})\n\n${ceilingTable(ceilings(base, mix, wf))}`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
