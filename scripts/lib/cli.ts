import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * The one command-line layer of every `npm run` entry point. Each flag is declared once (name, type,
 * default, help, validation); `--help`, the error messages and the docs' flag tables
 * (docs/operations.md, generated) all come from that declaration. Parsing is node:util parseArgs:
 * built in, and it already knows `--flag=value`, `--` and short-flag edge cases; what it lacks —
 * typed values, defaults, errors that list the valid flags — is the ~150 lines below.
 */

/** Exit codes, the same for every command (documented in --help and docs/operations.md). */
export const EXIT = {
  /** Everything the command was asked to do happened. */
  ok: 0,
  /** It ran, and something failed or did not finish: a municipality not loaded, a query error. */
  failed: 1,
  /** The command line was wrong: nothing was done. */
  usage: 2,
  /** Another command holds the data dir's run lock, or the warehouse is in use: nothing was done. */
  busy: 3,
  /** Interrupted (Ctrl-C / SIGTERM). */
  interrupted: 130,
} as const;

export const EXIT_HELP: Record<number, string> = {
  [EXIT.ok]: 'done: everything asked for happened',
  [EXIT.failed]: 'ran, and something failed or did not finish (the output says which municipality, state and class)',
  [EXIT.usage]: 'wrong command line: nothing was done',
  [EXIT.busy]: 'another command holds the data dir (run lock or warehouse): nothing was done',
  [EXIT.interrupted]: 'interrupted (Ctrl-C)',
};

export interface Flag<T = unknown> {
  type: 'string' | 'boolean';
  help: string;
  /** Shown in help after the flag name, e.g. FILE, YYYY-MM-DD. */
  value?: string;
  /** Validates and converts the raw value; carries the default (`.default(…)`) and optionality. */
  schema: z.ZodType<T>;
}

/** A flag taking a value. `schema` decides type, default and whether it is required. */
export function valueFlag<T>(schema: z.ZodType<T>, help: string, value = 'VALUE'): Flag<T> {
  return { type: 'string', help, value, schema };
}

/** A flag without a value: present means true. */
export function switchFlag(help: string): Flag<boolean> {
  return { type: 'boolean', help, schema: z.boolean().default(false) };
}

export interface Command<F extends Record<string, Flag>> {
  /** How the user types it, e.g. "npm run rerun". */
  usage: string;
  summary: string;
  flags: F;
  /** Free arguments (e.g. the SQL of `query`), joined with spaces; none allowed when absent. */
  positional?: { name: string; help: string; required: boolean };
  examples?: string[];
  /** Notes printed after the flags (what the exit codes mean for this command, etc.). */
  notes?: string[];
}

export type Parsed<F extends Record<string, Flag>> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never } & { positional: string };

/** A command-line mistake: exit code 2 and a message naming the flag and what is wrong. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `dataDir` → `--data-dir`. */
export const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function describeDefault(flag: Flag): string | undefined {
  if (flag.type === 'boolean') return undefined;
  const r = flag.schema.safeParse(undefined);
  if (!r.success) return 'required';
  return r.data === undefined ? undefined : `default ${JSON.stringify(r.data)}`;
}

export function isRequired(flag: Flag): boolean {
  return flag.type === 'string' && !flag.schema.safeParse(undefined).success;
}

/** The text `--help` prints, built from the declaration. */
export function helpText<F extends Record<string, Flag>>(cmd: Command<F>): string {
  const flags = Object.entries(cmd.flags).map(([k, f]) => {
    const d = describeDefault(f);
    return [`${flagName(k)}${f.type === 'string' ? ` ${f.value}` : ''}`, `${f.help}${d ? ` (${d})` : ''}`];
  });
  flags.push(['--help', 'this text']);
  const width = Math.max(...flags.map(([n]) => n!.length));
  const pos = cmd.positional ? ` ${cmd.positional.required ? '' : '['}"<${cmd.positional.name}>"${cmd.positional.required ? '' : ']'}` : '';
  return [
    `usage: ${cmd.usage}${Object.keys(cmd.flags).length ? ' -- [flags]' : ''}${pos}`,
    '',
    cmd.summary,
    ...(cmd.positional ? ['', `  <${cmd.positional.name}>  ${cmd.positional.help}`] : []),
    '',
    'flags:',
    ...flags.map(([n, h]) => `  ${n!.padEnd(width)}  ${h}`),
    ...(cmd.examples?.length ? ['', 'examples:', ...cmd.examples.map((e) => `  ${e}`)] : []),
    ...(cmd.notes?.length ? ['', ...cmd.notes] : []),
    '',
    'exit codes:',
    ...Object.entries(EXIT_HELP).map(([c, h]) => `  ${c.padStart(3)}  ${h}`),
  ].join('\n');
}

/** Nearest valid flag by edit distance, for "did you mean". */
function nearest(name: string, valid: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  const best = valid.map((v) => [v, dist(name, v)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(name.length / 3)) ? best[0] : undefined;
}

/**
 * Parses `argv` (what follows `npm run x --`). Returns undefined when `--help` was asked (the help is
 * printed); throws UsageError for anything wrong, before any work starts.
 */
export function parseCommand<F extends Record<string, Flag>>(cmd: Command<F>, argv: string[], out: (s: string) => void = (s) => console.log(s)): Parsed<F> | undefined {
  const byName = new Map(Object.entries(cmd.flags).map(([k, f]) => [flagName(k).slice(2), { key: k, flag: f }]));
  const valid = [...byName.keys(), 'help'].map((n) => `--${n}`);
  const usage = `${cmd.usage} -- --help`;
  const fail = (m: string): never => {
    throw new UsageError(m, usage);
  };
  // strict: false so that unknown flags reach us as tokens and can be named with the valid ones.
  const { tokens } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: Object.fromEntries([...byName].map(([n, { flag }]) => [n, { type: flag.type }]).concat([['help', { type: 'boolean' }]])),
  });
  // --help anywhere wins over mistakes elsewhere on the line: the user is asking how to fix them.
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) {
    out(helpText(cmd));
    return undefined;
  }
  const raw: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') continue;
    const spec = byName.get(t.name);
    if (!spec) {
      const guess = nearest(t.name, [...byName.keys()]);
      fail(`unknown flag ${t.rawName}${guess ? ` (did you mean --${guess}?)` : ''}; valid flags: ${valid.join(', ')}`);
    }
    const { key, flag } = spec!;
    if (key in raw) fail(`${t.rawName} is given twice`);
    if (flag.type === 'boolean') {
      if (t.inlineValue) fail(`${t.rawName} takes no value (got "${String(t.value)}")`);
      raw[key] = true;
      continue;
    }
    // parseArgs (non-strict) takes the next argument as the value even when it is another flag.
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) {
      fail(`${t.rawName} needs a value: ${flag.value}`);
    }
    raw[key] = t.value;
  }
  if (positionals.length && !cmd.positional) fail(`unexpected argument ${JSON.stringify(positionals[0])}: ${cmd.usage} takes flags only (${valid.join(', ')})`);
  const result: Record<string, unknown> = { positional: positionals.join(' ').trim() };
  if (cmd.positional?.required && !result.positional) fail(`missing <${cmd.positional.name}>: ${cmd.positional.help}`);
  for (const [key, flag] of Object.entries(cmd.flags)) {
    if (raw[key] === undefined && isRequired(flag)) fail(`${flagName(key)} is required: ${flag.help}`);
    const r = flag.schema.safeParse(raw[key]);
    if (!r.success) fail(`${flagName(key)} ${JSON.stringify(raw[key])}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    result[key] = r.data;
  }
  return result as Parsed<F>;
}

/**
 * Runs a command's main with the exit-code conventions: usage errors → 2 with the message and a
 * pointer to --help; the process exits only once stdout has drained (a piped `--json` output is
 * never cut short).
 */
export function runCommand<F extends Record<string, Flag>>(cmd: Command<F>, main: (args: Parsed<F>) => Promise<number>): void {
  const exit = (code: number) => {
    process.exitCode = code;
    // Let pending writes to a pipe finish, then leave even if a handle (a pool, a timer) lingers.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  };
  let args: Parsed<F> | undefined;
  try {
    args = parseCommand(cmd, process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${cmd.usage}: ${err.message}\n(see: ${err.usage})`);
      return exit(EXIT.usage);
    }
    throw err;
  }
  if (!args) return exit(EXIT.ok);
  main(args).then(exit, (err: unknown) => {
    const e = err as Error & { exitCode?: number };
    console.error(`${cmd.usage} failed: ${e.message}`);
    exit(typeof e.exitCode === 'number' ? e.exitCode : EXIT.failed);
  });
}

/** An error that carries its exit code (e.g. EXIT.busy when the data dir is locked). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The command as the user typed it ("npm start -- --reset"), for the run lock and messages. */
export function commandLine(cmd: { usage: string }, argv: string[] = process.argv.slice(2)): string {
  return `${cmd.usage}${argv.length ? ` -- ${argv.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}` : ''}`;
}
