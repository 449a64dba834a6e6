/**
 * npm run build:functions — one deployable folder per cloud function:
 *
 *   dist/functions/<name>/index.js        the entry point and everything it imports, bundled by esbuild
 *   dist/functions/<name>/index.js.map    with --sourcemap (set NODE_OPTIONS=--enable-source-maps to use it)
 *   dist/functions/<name>/package.json    main + the packages left out of the bundle (see EXTERNAL)
 *   dist/functions/<name>/municipalities.yaml   with --registry: the registry, for functions that read it
 *                                               (infra-cdktf's synth copies the environment's registry
 *                                               there itself, so a deployment never mixes registries)
 *
 * then prints each bundle's size and how long Node takes to load it (the cold-start share that
 * is ours), measured by loading the bundle in a fresh process with a placeholder configuration.
 *
 *   npm run build:functions                              bundles only (what `npm run synth` expects)
 *   npm run build:functions -- --registry path/to.yaml   also ship this registry (deploying without infra-cdktf)
 *   npm run build:functions -- --sourcemap               also write source maps (10–20 MB each: opt-in)
 *   npm run build:functions -- --no-measure              skip the load-time measurement
 *   npm run build:functions -- --out DIR                 write the bundles to DIR instead of dist/functions
 *                                                        (the emulator tier builds its own copy, so it never
 *                                                        replaces dist/functions under a running synth)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { ENV } from '../shared/contracts/config';
import { FUNCTIONS, type FunctionKey } from '../shared/contracts/functions';
import { loadRegistryFile } from '../shared/run/registry-file';
import { EXIT, runCommand, type Parsed } from './lib/cli';
import { BUILD_FUNCTIONS } from './lib/commands';

const ROOT = path.resolve(__dirname, '..');
const DEFAULT_OUT = path.join(ROOT, 'dist', 'functions');
const REGISTRY_NAME = 'municipalities.yaml'; // the default of MUNICIPALITY_REGISTRY_FILE

/**
 * Left out of the bundle and installed by Cloud Build from package.json:
 * - the functions framework must be the very module the runtime starts (`functions-framework
 *   --target=…` looks the function up in its own registry);
 * - pg-native is an optional dependency of pg that the project never uses (no native build on Cloud Build).
 */
const EXTERNAL = ['@google-cloud/functions-framework', 'pg-native'];

/**
 * @google-cloud/pino-logging-gcp-config imports the whole Cloud Logging client (≈ 1.1 MB minified,
 * plus its own gRPC stack) only to detect the service name and project when they are not given.
 * shared/log.ts always gives both, so the bundle gets a stand-in that fails loudly if ever used;
 * the config's deep imports of small utilities (event ids, diagnostics) stay real.
 */
const stubCloudLoggingClient: Plugin = {
  name: 'stub-cloud-logging-client',
  setup(b) {
    b.onResolve({ filter: /^@google-cloud\/logging$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      loader: 'js',
      contents: `const no = () => { throw new Error('@google-cloud/logging is not bundled: createLogger must pass serviceContext and traceGoogleCloudProjectId'); };
module.exports = { Logging: class { constructor() { no(); } }, detectServiceContext: async () => no() };`,
    }));
  },
};

interface Row {
  name: string;
  bytes: number;
  gzipBytes: number;
  registry: boolean;
  loadMs?: number;
  error?: string;
}

function rootPackage(): { dependencies: Record<string, string>; engines?: Record<string, string> } {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
}

/** A placeholder environment that passes each function's configuration schema (nothing is contacted at load). */
function placeholderEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };
  env[ENV.projectId] = 'pec-pipeline-build';
  env[ENV.environment] = 'build';
  env[ENV.stagingBucket] = 'pec-staging-build';
  env[ENV.pseudonymKeySecret] = 'pec-pseudonym-key';
  env[ENV.registryFile] = path.join(dir, REGISTRY_NAME);
  // Externals (the functions framework) come from the repository's node_modules, as Cloud Build would install them.
  env.NODE_PATH = path.join(ROOT, 'node_modules');
  env.METADATA_SERVER_DETECTION = 'none';
  return env;
}

/** Median of `runs` fresh-process loads of index.js, in ms (require time only, not Node's own start-up). */
function measureLoad(dir: string, registryForMeasure: string | undefined, runs = 3): { ms?: number; error?: string } {
  const env = placeholderEnv(dir);
  if (registryForMeasure) env[ENV.registryFile] = registryForMeasure;
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(path.join(dir, 'index.js'))});const ms=Number(process.hrtime.bigint()-t)/1e6;process.stdout.write('LOAD_MS='+ms+'\\n',()=>process.exit(0))`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') };
    const m = /LOAD_MS=([\d.]+)/.exec(r.stdout);
    if (!m) return { error: `no timing in the output: ${r.stdout.slice(-300)}` };
    times.push(Number(m[1]));
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)] };
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

async function main(args: Parsed<typeof BUILD_FUNCTIONS.flags>): Promise<number> {
  const registryFile = args.registry;
  // Validate before shipping it: a broken registry would only show at the function's cold start.
  if (registryFile) loadRegistryFile(registryFile);

  const pkg = rootPackage();
  const OUT = args.out ? path.resolve(args.out) : DEFAULT_OUT;
  // The folder is replaced: refuse one holding anything but an earlier build's function folders.
  const names = new Set<string>(Object.values(FUNCTIONS).map((f) => f.name));
  const foreign = fs.existsSync(OUT) ? fs.readdirSync(OUT).filter((e) => !names.has(e)) : [];
  if (foreign.length > 0) throw new Error(`--out ${OUT} holds other files (${foreign.slice(0, 3).join(', ')}): give an empty or new folder`);
  fs.rmSync(OUT, { recursive: true, force: true });
  const rows: Row[] = [];
  // For measuring load time without a real registry: a one-municipality placeholder.
  const placeholderRegistry = path.join(ROOT, 'dist', 'placeholder-registry.yaml');
  fs.mkdirSync(path.dirname(placeholderRegistry), { recursive: true });
  fs.writeFileSync(
    placeholderRegistry,
    'municipalities:\n  - ibge: "3550308"\n    name: Placeholder\n    network: tls\n    connection: { host: pec.example.org, password: { secret: pec-db-3550308 } }\n',
  );

  for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
    const spec = FUNCTIONS[key];
    const dir = path.join(OUT, spec.name);
    await build({
      entryPoints: [path.join(ROOT, 'functions', spec.name, 'index.ts')],
      outfile: path.join(dir, 'index.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      // Names stay readable in stack traces and OpenTelemetry spans.
      keepNames: true,
      sourcemap: args.sourcemap ? 'external' : false,
      external: EXTERNAL,
      legalComments: 'external',
      logLevel: 'warning',
      plugins: [stubCloudLoggingClient],
    });
    const deps = Object.fromEntries(EXTERNAL.filter((e) => pkg.dependencies[e]).map((e) => [e, pkg.dependencies[e]!]));
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      `${JSON.stringify({ name: `pec-${spec.name}`, private: true, main: 'index.js', engines: { node: '20' }, dependencies: deps }, null, 2)}\n`,
    );
    const needsRegistry = (spec.env as readonly string[]).includes('registryFile');
    if (needsRegistry && registryFile) fs.copyFileSync(registryFile, path.join(dir, REGISTRY_NAME));
    const code = fs.readFileSync(path.join(dir, 'index.js'));
    const row: Row = { name: spec.name, bytes: code.length, gzipBytes: gzipSync(code).length, registry: needsRegistry && !!registryFile };
    if (!args.noMeasure) {
      const m = measureLoad(dir, needsRegistry && !registryFile ? placeholderRegistry : undefined);
      row.loadMs = m.ms;
      row.error = m.error;
    }
    rows.push(row);
  }
  fs.rmSync(placeholderRegistry, { force: true });

  const header = ['function', 'index.js', 'gzipped', 'registry', 'module load (median of 3)'];
  const table = rows.map((r) => [
    r.name,
    kib(r.bytes),
    kib(r.gzipBytes),
    r.registry ? 'yes' : needsNote(r),
    r.loadMs !== undefined ? `${r.loadMs.toFixed(0)} ms` : r.error ? `FAILED: ${r.error}` : 'not measured',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\nBuilt ${rows.length} functions into ${path.relative(process.cwd(), OUT) || OUT}/\n`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const t of table) console.log(line(t));
  if (!registryFile && rows.some((r) => needsNote(r) === 'at synth'))
    console.log(
      `\n"at synth": infra-cdktf copies the environment's registry in as ${REGISTRY_NAME} (or pass --registry FILE). Load times measured with a one-municipality placeholder.`,
    );
  return rows.some((r) => r.error) ? EXIT.failed : EXIT.ok;
}

function needsNote(r: Row): string {
  const spec = Object.values(FUNCTIONS).find((f) => f.name === r.name)!;
  return (spec.env as readonly string[]).includes('registryFile') ? 'at synth' : '-';
}

runCommand(BUILD_FUNCTIONS, main);
