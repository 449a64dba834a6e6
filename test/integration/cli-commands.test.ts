import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DuckDbLedger } from '../../shared/ledger/duckdb-ledger';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { EXIT } from '../../scripts/lib/cli';
import { LOCK_FILE } from '../../scripts/lib/run-lock';

/**
 * The commands as a person runs them: real processes, real npm, a real DuckDB file. The README's
 * `npm run query` / `npm run status` lines run exactly as written, in a scratch project whose
 * scripts point at this checkout and whose `.local/` holds a small warehouse this test builds (the
 * full `npm start` example is parsed by test/unit/cli.test.ts, not run here: it seeds PostgreSQL).
 */
const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
let project: string;
let dataDir: string;

function run(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Without the cloud variables: rerun and backfill would otherwise publish to a deployed topic.
    const { GOOGLE_CLOUD_PROJECT: _p, TOPIC_PREFIX: _t, ...env } = process.env;
    const p = spawn(cmd, args, { cwd: options.cwd ?? project, env: { ...env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
const script = (name: string, args: string[]) => run(tsx, [path.join(root, 'scripts', `${name}.ts`), ...args]);

/** The `npm run query` / `npm run status` lines of the README's sh blocks, as written. */
function readmeReaderLines(): string[] {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => /^npm run (query|status)\b/.test(l));
}

beforeAll(async () => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-commands-'));
  dataDir = path.join(project, '.local');
  const scripts = Object.fromEntries(['query', 'status'].map((s) => [s, `${tsx} ${path.join(root, 'scripts', `${s}.ts`)}`]));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'cli-scratch', private: true, scripts }));
  const w = await DuckDbWarehouse.open(path.join(dataDir, 'warehouse.duckdb'));
  await DuckDbLedger.open(w);
  await w.execute(`CREATE TABLE raw.tb_fat_atendimento_individual AS SELECT '3509502' AS _municipality_ibge, range AS co_seq FROM range(7)`);
  await w.execute(`CREATE TABLE raw.tb_fat_cidadao_pec AS SELECT '3509502' AS _municipality_ibge, range AS co_seq FROM range(3)`);
  await w.execute(`INSERT INTO ops.municipality_runs (run_id, municipality, status, attempts, rows, updated_at) VALUES ('daily-20261122', '3509502', 'loaded', 1, 8509, now())`);
  w.close();
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

describe('npm run query and status, as the README writes them', () => {
  it('the README has reader examples to run', () => expect(readmeReaderLines().length).toBeGreaterThanOrEqual(3));

  it.each(readmeReaderLines().map((l) => [l]))('`%s` exits 0 with output', async (line) => {
    const r = await run('sh', ['-c', line]);
    expect({ code: r.code, stderr: r.stderr.includes('failed') ? r.stderr : '' }).toEqual({ code: EXIT.ok, stderr: '' });
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  }, 60_000);

  it('--json prints numbers as JSON numbers', async () => {
    const r = await run('sh', ['-c', 'npm run --silent query -- --json "select count(*) as n, sum(co_seq) as s, 1.50::DECIMAL(4,2) as d from raw.tb_fat_cidadao_pec"']);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.stdout)).toEqual({ n: 3, s: 3, d: 1.5 });
    const status = await script('status', ['--json', '--data-dir', dataDir]);
    expect(JSON.parse(status.stdout).municipalities[0]).toMatchObject({ municipality: '3509502', attempts: 1, rows: 8509, mismatches: 0 });
  }, 60_000);

  it('--json piped to another command is complete (3,001 rows)', async () => {
    const r = await run('sh', ['-c', `npm run --silent query -- --json "select range as i, repeat('x', 50) as pad from range(3001)" | wc -l`]);
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim())).toBe(3001);
    const direct = await script('query', ['--data-dir', dataDir, '--json', 'select range as i from range(3001)']);
    const lines = direct.stdout.trim().split('\n');
    expect(lines).toHaveLength(3001);
    expect(JSON.parse(lines.at(-1)!)).toEqual({ i: 3000 });
  }, 60_000);

  it('a bad command line exits 2 naming the problem; --help exits 0', async () => {
    const bad = await script('query', ['--warehouse', 'x.duckdb', 'select 1']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain('unknown flag --warehouse');
    const help = await script('status', ['--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('--data-dir DIR');
    const sqlError = await script('query', ['--data-dir', dataDir, 'select * from no_such_table']);
    expect(sqlError.code).toBe(EXIT.failed);
    expect(sqlError.stderr).toMatch(/^query failed: .*no_such_table/m);
  }, 60_000);
});

describe('one run per data dir', () => {
  it('while a run holds the warehouse, query and status say who holds it (exit 3, no stack trace)', async () => {
    fs.writeFileSync(path.join(dataDir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'npm start', since: new Date().toISOString() }));
    const writer = await DuckDbWarehouse.open(path.join(dataDir, 'warehouse.duckdb'));
    try {
      for (const r of [await script('query', ['--data-dir', dataDir, 'select 1']), await script('status', ['--data-dir', dataDir])]) {
        expect(r.code).toBe(EXIT.busy);
        expect(r.stderr).toContain(`is in use by \`npm start\` (pid ${process.pid}, since`);
        expect(r.stderr).not.toMatch(/^\s+at /m);
      }
    } finally {
      writer.close();
      fs.rmSync(path.join(dataDir, LOCK_FILE));
    }
  }, 60_000);

  it('a second npm start --reset, rerun or backfill on a held data dir exits 3 and deletes nothing', async () => {
    const held = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-held-'));
    try {
      fs.writeFileSync(path.join(held, 'sentinel'), 'state of the running run');
      fs.writeFileSync(path.join(held, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'npm start', since: new Date().toISOString() }));
      for (const [name, args] of [
        ['start', ['--reset']],
        ['rerun', ['--municipality', '3509502']],
        ['backfill', ['--municipality', '3509502', '--from', '2026-01', '--to', '2026-02']],
      ] as const) {
        const r = await script(name, [...args, '--data-dir', held]);
        expect({ name, code: r.code }).toEqual({ name, code: EXIT.busy });
        expect(r.stderr).toContain(`in use by \`npm start\` (pid ${process.pid}`);
        expect(fs.readFileSync(path.join(held, 'sentinel'), 'utf8')).toBe('state of the running run');
        expect(JSON.parse(fs.readFileSync(path.join(held, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      }
    } finally {
      fs.rmSync(held, { recursive: true, force: true });
    }
  }, 120_000);
});
