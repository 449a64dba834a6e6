import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DuckDbWarehouse } from '../../shared/local/duckdb-warehouse';
import { EXIT } from '../../scripts/lib/cli';
import { LOCK_FILE } from '../../scripts/lib/run-lock';

/**
 * The commands as a person runs them: real processes, real npm, the real pipeline. The README's
 * `npm start`, `npm run status` and `npm run query` lines run exactly as written, in a scratch project
 * whose scripts point at this checkout, so `.local/` is the scratch project's: `npm start` seeds the
 * embedded PostgreSQL and runs the daily workflow, then the readers read what it landed.
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

/** The README's sh-block command lines (comments removed, `a && b` split), as written. */
function readmeLines(pattern: RegExp): string[] {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .flatMap((l) => l.replace(/\s+#.*$/, '').split('&&'))
    .map((l) => l.trim())
    .filter((l) => pattern.test(l));
}
const readmeReaderLines = () => readmeLines(/^npm run (query|status)\b/);
let started: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-commands-'));
  dataDir = path.join(project, '.local');
  const scripts = Object.fromEntries(['start', 'query', 'status'].map((s) => [s, `${tsx} ${path.join(root, 'scripts', `${s}.ts`)}`]));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'cli-scratch', private: true, scripts }));
  const [start] = readmeLines(/^npm start$/);
  started = await run('sh', ['-c', start!]);
}, 600_000);
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

describe('the README quick start, as written', () => {
  it('`npm start` runs the daily workflow, ends with the Done line and exits 0', () => {
    expect({ code: started.code, stderr: started.stderr.includes('failed') ? started.stderr : '' }).toEqual({ code: EXIT.ok, stderr: '' });
    expect(started.stdout).toMatch(/\[5\/5\] \d{7} /);
    expect(started.stdout).toMatch(/\nDone\. loaded=5 failed=0 late=0 of 5\n/);
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('the README has reader examples to run', () => expect(readmeReaderLines().length).toBeGreaterThanOrEqual(3));

  it.each(readmeReaderLines().map((l) => [l]))(
    '`%s` exits 0 with output',
    async (line) => {
      const r = await run('sh', ['-c', line]);
      expect({ code: r.code, stderr: r.stderr.includes('failed') ? r.stderr : '' }).toEqual({ code: EXIT.ok, stderr: '' });
      expect(r.stdout.trim().length).toBeGreaterThan(0);
    },
    60_000,
  );

  it('--json prints numbers as JSON numbers', async () => {
    const r = await run('sh', [
      '-c',
      'npm run --silent query -- --json "select count(*) as n, count(*) > 0 as some, 1.50::DECIMAL(4,2) as d, 12345678901234567890::HUGEINT as big from raw.tb_fat_cidadao_pec"',
    ]);
    expect(r.code).toBe(EXIT.ok);
    const row = JSON.parse(r.stdout);
    expect(row).toEqual({ n: expect.any(Number), some: true, d: 1.5, big: '12345678901234567890' });
    expect(row.n).toBeGreaterThan(0);
    const status = await script('status', ['--json', '--data-dir', dataDir]);
    const doc = JSON.parse(status.stdout);
    expect(doc.latestDailyRun).toMatchObject({ planned: 5, loaded: 5, failed: 0, late: 0, alerts: 0 });
    expect(doc.municipalities).toHaveLength(5);
    for (const m of doc.municipalities) expect(m).toMatchObject({ status: 'loaded', attempts: 1, rows: expect.any(Number), mismatches: 0 });
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
