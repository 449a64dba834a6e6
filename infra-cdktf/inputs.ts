import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../shared/contracts/config';
import { FUNCTIONS, type FunctionKey } from '../shared/contracts/functions';
import { MunicipalityRegistry } from '../shared/contracts/municipalities';
import { parseEnvironmentConfig, type EnvironmentConfig, type EnvironmentName } from './config';
import type { WorkflowSource } from './modules/orchestration';
import { BUNDLED_REGISTRY_PATH } from './naming';
import type { PipelineStackInputs } from './stack';

/**
 * Everything the app reads from disk, and nothing else: the stack itself takes plain values. Every
 * problem names the file it comes from.
 */

function readYaml(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError([`${what} ${file} cannot be read`]);
  }
  try {
    return YAML.parse(text);
  } catch (err) {
    throw new ConfigError([`${what} ${file} is not valid YAML: ${(err as Error).message}`]);
  }
}

export function readEnvironmentConfig(repoRoot: string, env: EnvironmentName): EnvironmentConfig {
  const file = path.join(repoRoot, 'infra-cdktf', 'environments', `${env}.yaml`);
  try {
    return parseEnvironmentConfig(env, readYaml(file, 'environment config'));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `${path.relative(repoRoot, file)}: ${p}`));
    throw err;
  }
}

export function readRegistry(file: string): MunicipalityRegistry {
  const r = MunicipalityRegistry.safeParse(readYaml(file, 'municipality registry'));
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message}`));
  return r.data;
}

const WORKFLOW_FILE = /^([a-z][a-z0-9-]{0,40})\.workflows\.yaml$/;

/** Every workflows/*.workflows.yaml present now; none is fine (the stack then warns that nothing is scheduled). */
export function readWorkflows(dir: string): WorkflowSource[] {
  if (!fs.existsSync(dir)) return [];
  const problems: string[] = [];
  const out: WorkflowSource[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.workflows.yaml')) continue;
    const m = WORKFLOW_FILE.exec(file);
    if (!m) {
      problems.push(`${file}: workflow file names are <lower-case-name>.workflows.yaml`);
      continue;
    }
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    try {
      YAML.parse(source);
    } catch (err) {
      problems.push(`${file}: not valid YAML: ${(err as Error).message}`);
      continue;
    }
    out.push({ name: m[1]!, source });
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `workflows/${p}`));
  return out;
}

export interface BundleOptions {
  repoRoot: string;
  env: EnvironmentName;
  /** The registry the stack is built from: copied into the bundles that read one. */
  registryFile: string;
  /** Where bundles + registry are assembled before being zipped. */
  stagingDir: string;
  /** Synthesize without built bundles (stand-in code that only fails): for review and PR checks. */
  placeholder: boolean;
}

/**
 * Each function's deployable directory: `npm run build:functions` output (dist/functions/<name>/)
 * plus, for the functions that read it, the very registry the network paths were built from, so a
 * deployment can never pair one registry's functions with another's VPN tunnels.
 */
export function prepareBundles(o: BundleOptions): Record<FunctionKey, string> {
  const missing: string[] = [];
  const dirs = {} as Record<FunctionKey, string>;
  for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
    const spec = FUNCTIONS[key];
    const built = path.join(o.repoRoot, 'dist', 'functions', spec.name);
    const target = path.join(o.stagingDir, o.env, spec.name);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target, { recursive: true });
    if (fs.existsSync(built) && fs.readdirSync(built).length > 0) fs.cpSync(built, target, { recursive: true });
    else if (o.placeholder) writePlaceholder(target, spec.entryPoint);
    else missing.push(path.relative(o.repoRoot, built));
    if ((spec.env as readonly string[]).includes('registryFile')) {
      const dest = path.join(target, BUNDLED_REGISTRY_PATH);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(o.registryFile, dest);
    }
    dirs[key] = target;
  }
  if (missing.length > 0)
    throw new ConfigError([
      `function bundles not built: ${missing.join(', ')}. Run \`npm run build:functions\` first ` +
        '(or `npm run synth -- --placeholder-bundles` to synthesize for review only; never deploy that)',
    ]);
  return dirs;
}

function writePlaceholder(dir: string, entryPoint: string): void {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'pec-placeholder', version: '0.0.0', private: true, main: 'index.js' }, null, 2));
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    `// Placeholder written by infra-cdktf --placeholder-bundles: the real bundle was not built.\nexports.${entryPoint} = () => { throw new Error('placeholder bundle deployed'); };\n`,
  );
}

export interface LoadOptions {
  repoRoot: string;
  stagingDir: string;
  placeholder: boolean;
}

export function loadStackInputs(env: EnvironmentName, o: LoadOptions): PipelineStackInputs {
  const config = readEnvironmentConfig(o.repoRoot, env);
  const registryFile = path.resolve(o.repoRoot, config.registryFile);
  const registry = readRegistry(registryFile);
  return {
    config,
    registry,
    workflows: readWorkflows(path.join(o.repoRoot, 'workflows')),
    bundles: prepareBundles({ repoRoot: o.repoRoot, env, registryFile, stagingDir: o.stagingDir, placeholder: o.placeholder }),
    placeholderBundles: o.placeholder,
  };
}
