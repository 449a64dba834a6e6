import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { EXIT, helpText, parseCommand, UsageError, type Command, type Flag } from '../../scripts/lib/cli';
import { BACKFILL, COMMANDS, QUERY, RERUN, START, STATUS } from '../../scripts/lib/commands';
import { acquireRunLock, currentHolder, LOCK_FILE } from '../../scripts/lib/run-lock';
import { exactNumber } from '../../scripts/lib/read-warehouse';

const root = path.resolve(__dirname, '../..');

/** Shell words of one command line: double and single quotes, no expansion (what the docs use). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m; (m = re.exec(line));) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return words;
}

/** Every `npm start` / `npm run <x>` line inside a ```sh block of a page, comments removed. */
function npmExamples(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.split('\n'))
    .flatMap((l) => l.split('&&'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => /^npm (start|run \S+)/.test(l));
}

/** Every `npm start -- …` / `npm run x -- …` invocation written inline in a page's prose and tables. */
function inlineNpm(file: string): string[] {
  const text = fs
    .readFileSync(path.join(root, file), 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/\\`/g, '');
  return (
    [...text.matchAll(/`(npm (?:start|run [^\s`]+)[^`]*)`/g)]
      .map((m) => m[1]!.trim())
      // `npm run rerun` alone names a command; with ` -- ` it is an invocation, which must parse.
      .filter((l) => l.includes(' -- ') && !l.includes('<command>'))
  );
}

/** The command a line runs, and the arguments npm passes to it (what follows `--`). */
function commandOf(line: string): { name: string; argv: string[] } {
  const words = shellWords(line);
  const name = words[1] === 'start' ? 'start' : words[2]!;
  const dash = words.indexOf('--');
  return { name, argv: dash >= 0 ? words.slice(dash + 1) : [] };
}

const quiet = () => undefined;
const parse = <F extends Record<string, Flag>>(cmd: Command<F>, argv: string[]) => parseCommand(cmd, argv, quiet);
const usageError = (cmd: Command<Record<string, Flag>>, argv: string[]): string => {
  try {
    parse(cmd, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
};

describe('the command-line layer (scripts/lib/cli.ts)', () => {
  it.each(['README.md', 'docs/operations.md'].flatMap((f) => npmExamples(f).map((l) => [f, l])))('%s: `%s` parses', (_f, line) => {
    const { name, argv } = commandOf(line);
    if (!(name in COMMANDS)) return expect(['test', 'synth', 'bench', 'typecheck', 'test:faults']).toContain(name);
    expect(() => parse(COMMANDS[name]!, argv)).not.toThrow();
  });

  it.each(['README.md', 'docs/operations.md', 'docs/ledger.md', 'docs/configuration.md'].flatMap((f) => inlineNpm(f).map((l) => [f, l])))('%s: inline `%s` parses', (_f, line) => {
    const { name, argv } = commandOf(line);
    if (!(name in COMMANDS)) return expect(['test', 'synth', 'bench', 'typecheck', 'test:faults']).toContain(name);
    expect(() => parse(COMMANDS[name]!, argv)).not.toThrow();
  });

  it('the README shows examples of the daily commands', () => {
    const lines = npmExamples('README.md').map((l) => commandOf(l).name);
    for (const c of ['start', 'status', 'query']) expect(lines).toContain(c);
  });

  it('typed values and defaults come from the declaration', () => {
    expect(parse(START, [])).toMatchObject({ reset: false, dataDir: '.local', citizens: 1500, positional: '' });
    expect(parse(START, ['--reset', '--citizens=2000', '--data-dir', '/tmp/x'])).toMatchObject({ reset: true, citizens: 2000, dataDir: '/tmp/x' });
    expect(parse(RERUN, ['--municipality', '3509502', '--tables', 'a,b'])).toMatchObject({ municipality: '3509502', tables: 'a,b', cloud: false });
  });

  it('query takes the SQL as its argument, with or without --json and --data-dir (README example)', () => {
    expect(parse(QUERY, ['select 1'])).toMatchObject({ positional: 'select 1', json: false, dataDir: '.local' });
    expect(parse(QUERY, ['--json', 'select count(*) as n from t'])).toMatchObject({ positional: 'select count(*) as n from t', json: true });
    expect(parse(QUERY, ['--data-dir', 'd', 'select 1'])).toMatchObject({ positional: 'select 1', dataDir: 'd' });
    expect(usageError(QUERY, ['--json'])).toMatch(/missing <sql>/);
  });

  it('--help prints every flag with its default, and the exit codes', () => {
    let out = '';
    expect(parseCommand(START, ['--help'], (s) => (out = s))).toBeUndefined();
    expect(out).toBe(helpText(START));
    for (const f of ['--reset', '--data-dir DIR', '--registry FILE', '--date YYYY-MM-DD', '--deadline-minutes N']) expect(out).toContain(f);
    expect(out).toContain('(default ".local")');
    for (const code of Object.values(EXIT)) expect(out).toMatch(new RegExp(`^\\s+${code}  `, 'm'));
    // --help wins even over mistakes elsewhere on the line
    expect(parseCommand(RERUN, ['--bogus', '--help'], quiet)).toBeUndefined();
  });

  it('an unknown flag is named, with a guess and the valid flags', () => {
    const m = usageError(START, ['--dry-run']);
    expect(m).toContain('unknown flag --dry-run');
    expect(m).toContain('valid flags: --reset, --data-dir');
    expect(usageError(START, ['--rest'])).toContain('did you mean --reset?');
  });

  it('a missing required flag is named with what it is for; a bad value names the flag and the problem', () => {
    expect(usageError(RERUN, [])).toBe('--municipality is required: IBGE code of the municipality (7 digits)');
    expect(usageError(RERUN, ['--municipality', '3509501'])).toMatch(/^--municipality "3509501": .*check digit/);
    expect(usageError(BACKFILL, ['--municipality', '3509502', '--from', '2026-13', '--to', '2026-10'])).toMatch(/^--from "2026-13": must be a month as YYYY-MM/);
    expect(usageError(START, ['--citizens', 'many'])).toMatch(/^--citizens "many": /);
  });

  it('a flag without its value, a value for a switch, a flag twice and stray arguments are refused', () => {
    expect(usageError(STATUS, ['--data-dir'])).toBe('--data-dir needs a value: DIR');
    expect(usageError(STATUS, ['--data-dir', '--json'])).toBe('--data-dir needs a value: DIR');
    expect(usageError(STATUS, ['--json=yes'])).toMatch(/--json takes no value/);
    expect(usageError(STATUS, ['--json', '--json'])).toMatch(/given twice/);
    expect(usageError(START, ['reset'])).toMatch(/unexpected argument "reset"/);
  });
});

describe('numbers in --json output', () => {
  it('are JSON numbers when exact, strings when a JSON number would change them', () => {
    expect(exactNumber('3001')).toBe(3001);
    expect(exactNumber('-12.50')).toBe(-12.5);
    expect(exactNumber('12345678901234567890')).toBe('12345678901234567890');
    expect(exactNumber('0.1000000000000000000001')).toBe('0.1000000000000000000001');
    expect(exactNumber('3509502')).toBe(3509502);
    expect(exactNumber(null)).toBeNull();
  });
});

describe('the run lock', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a second holder is refused with who holds it; release lets the next one in', () => {
    const lock = acquireRunLock(dir, 'npm start');
    expect(currentHolder(dir)).toMatchObject({ pid: process.pid, command: 'npm start' });
    let err: (Error & { exitCode?: number }) | undefined;
    try {
      acquireRunLock(dir, 'npm run rerun -- --municipality 3509502');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.exitCode).toBe(EXIT.busy);
    expect(err?.message).toMatch(new RegExp(`in use by \`npm start\` \\(pid ${process.pid}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\): nothing was changed`));
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    acquireRunLock(dir, 'npm run backfill').release();
  });

  it('a lock left by a process that is gone is taken over', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid, host: os.hostname(), command: 'npm start', since: new Date().toISOString() }));
    expect(currentHolder(dir)).toBeUndefined();
    const lock = acquireRunLock(dir, 'npm start -- --reset');
    expect(currentHolder(dir)).toMatchObject({ pid: process.pid, command: 'npm start -- --reset' });
    lock.release();
  });
});
