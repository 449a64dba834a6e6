import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../shared/contracts/config';
import { App } from './cdk';
import { ENVIRONMENTS, EnvironmentName } from './config';
import { loadStackInputs } from './inputs';
import { PipelineStack } from './stack';

/**
 * The CDK app: one stack per environment (`dev`, `prod`), synthesized to infra-cdktf/cdktf.out.
 *
 *   npm run synth                                  both stacks; needs `npm run build:functions` first
 *   npm run synth -- --env dev                     one stack
 *   npm run synth -- --placeholder-bundles         without built bundles: review/PR checks only
 *
 * The cdktf CLI runs this file too (infra-cdktf/cdktf.json), e.g. `cdktf deploy dev`.
 */
function main(argv: string[]): void {
  const repoRoot = path.resolve(__dirname, '..');
  const placeholder = argv.includes('--placeholder-bundles') || process.env.PEC_PLACEHOLDER_BUNDLES === '1';
  const envArg = argv.indexOf('--env');
  const envs = envArg >= 0 ? [EnvironmentName.parse(argv[envArg + 1])] : [...ENVIRONMENTS];
  // The cdktf CLI passes its output directory in CDKTF_OUTDIR.
  const outdir = process.env.CDKTF_OUTDIR ? path.resolve(process.env.CDKTF_OUTDIR) : path.join(repoRoot, 'infra-cdktf', 'cdktf.out');
  const stagingDir = path.join(repoRoot, 'infra-cdktf', '.bundles');

  const app = new App({ outdir });
  for (const env of envs) new PipelineStack(app, env, loadStackInputs(env, { repoRoot, stagingDir, placeholder }));
  app.synth();
  // cdktf records warnings in the manifest; the CLI prints them, a plain `tsx main.ts` run would not.
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { annotations?: { level: string; message: string }[] }>;
  };
  for (const [stack, m] of Object.entries(manifest.stacks))
    for (const a of m.annotations ?? []) if (a.level !== '@cdktf/info') console.warn(`${stack}: ${a.level.replace('@cdktf/', '')}: ${a.message}`);
  if (placeholder) console.warn('WARNING: synthesized with placeholder function bundles: do not deploy this output.');
  console.log(`synthesized ${envs.join(', ')} → ${path.relative(process.cwd(), outdir) || '.'}`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
