import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ENV, ENV_HELP, type EnvKey } from '../../shared/contracts/config';
import { FUNCTIONS, type FunctionKey } from '../../shared/contracts/functions';
import { TOPICS } from '../../shared/contracts/messages';
import { FUNCTION_CONFIGS } from '../../shared/adapters/gcp/function-config';
import { LEDGER_TABLES } from '../../shared/ledger/schema';
import type { OwnedTable } from '../../shared/ledger/table-schema';
import { EXIT_HELP, flagName, isRequired } from './cli';
import { COMMANDS } from './commands';

/**
 * Documentation tables that restate code are generated from the code's single definitions and
 * written between markers in the committed pages; `npm run docs:generate -- --check` and a unit test
 * fail when a page no longer says what the code says. Prose around the markers stays hand-written.
 */

const FUNCTION_KEYS = Object.keys(FUNCTIONS) as FunctionKey[];

/** A variable's default as its function's schema applies it ("(required)" when it has none). */
export function envDefault(key: EnvKey): string {
  for (const f of FUNCTION_KEYS) {
    const field = (FUNCTION_CONFIGS[f].shape as Record<string, z.ZodType>)[key];
    if (!field) continue;
    const r = field.safeParse(undefined);
    if (!r.success) return '(required)';
    return r.data === '' ? '`""`' : `\`${String(r.data)}\``;
  }
  return '(not read by a function)';
}

// Pipes would end the cell; angle brackets outside code would be read as HTML tags.
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/<([^>`]*)>(?=[^`]*$)/g, '&lt;$1&gt;');

/** Every variable any function reads: which function reads it, its default and meaning. */
export function renderEnvTable(): string {
  const keys = [...new Set(FUNCTION_KEYS.flatMap((f) => FUNCTIONS[f].env as readonly EnvKey[]))];
  const head = `| variable | default | ${FUNCTION_KEYS.map((f) => FUNCTIONS[f].name).join(' | ')} | meaning |`;
  const rule = `|---|---|${FUNCTION_KEYS.map(() => ':-:').join('|')}|---|`;
  const rows = keys.map((k) => {
    const marks = FUNCTION_KEYS.map((f) => ((FUNCTIONS[f].env as readonly EnvKey[]).includes(k) ? '✓' : ''));
    return `| \`${ENV[k]}\` | ${envDefault(k)} | ${marks.join(' | ')} | ${cell(ENV_HELP[k])} |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** One function's variables, for its README. */
export function renderFunctionEnvTable(f: FunctionKey): string {
  const rows = (FUNCTIONS[f].env as readonly EnvKey[]).map((k) => `| \`${ENV[k]}\` | ${envDefault(k)} | ${cell(ENV_HELP[k])} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Each function's trigger and sizing (FUNCTIONS), for the deploy-facing table. */
export function renderFunctionSizing(): string {
  const rows = FUNCTION_KEYS.map((f) => {
    const s = FUNCTIONS[f];
    const trigger = s.trigger.kind === 'http' ? 'HTTP' : `Pub/Sub \`${TOPICS[s.trigger.topic]}\``;
    const vcpu = 'vcpu' in s ? String(s.vcpu) : 'from memory';
    return `| \`${s.name}\` | ${trigger} | ${s.memoryMb} MiB | ${vcpu} | ${s.timeoutSeconds} s | ${s.maxInstances} |`;
  });
  return ['| function | trigger | memory | vCPU | timeout | max instances |', '|---|---|--:|--:|--:|--:|', ...rows].join('\n');
}

function renderLedgerTable(t: OwnedTable): string {
  const rows = t.columns.map((c) => `| \`${c.name}\` | ${c.type}${c.required ? ', required' : ''} | ${cell(c.description ?? '')} |`);
  return [`**\`${t.dataset}.${t.name}\`** — ${t.description ?? ''}`, '', '| column | type | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The run ledger's tables, column by column (shared/ledger/schema.ts). */
export function renderLedgerTables(): string {
  return LEDGER_TABLES.map(renderLedgerTable).join('\n\n');
}

/** Every command's flags (scripts/lib/commands.ts): what `--help` prints, as tables. */
export function renderCommands(): string {
  return Object.values(COMMANDS)
    .map((cmd) => {
      const rows = Object.entries(cmd.flags).map(([k, f]) => {
        const d =
          f.type === 'boolean'
            ? ''
            : isRequired(f)
              ? 'required'
              : (() => {
                  const v = f.schema.safeParse(undefined);
                  return v.success && v.data !== undefined ? `\`${String(v.data)}\`` : '';
                })();
        return `| \`${flagName(k)}${f.type === 'string' ? ` ${f.value}` : ''}\` | ${d} | ${cell(f.help)} |`;
      });
      const pos = cmd.positional ? [`| \`"<${cmd.positional.name}>"\` | ${cmd.positional.required ? 'required' : ''} | ${cell(cmd.positional.help)} |`] : [];
      return [`### \`${cmd.usage}\``, '', cmd.summary, '', '| flag | default | meaning |', '|---|---|---|', ...pos, ...rows, ...(cmd.notes ?? []).flatMap((n) => ['', n])].join(
        '\n',
      );
    })
    .join('\n\n');
}

/** The exit codes every command shares (scripts/lib/cli.ts EXIT). */
export function renderExitCodes(): string {
  return ['| code | meaning |', '|---|---|', ...Object.entries(EXIT_HELP).map(([c, h]) => `| ${c} | ${cell(h)} |`)].join('\n');
}

export interface GeneratedBlock {
  /** Repository-relative path of the page. */
  file: string;
  id: string;
  render(): string;
}

export const GENERATED_BLOCKS: GeneratedBlock[] = [
  { file: 'docs/configuration.md', id: 'function-env', render: renderEnvTable },
  { file: 'docs/configuration.md', id: 'function-sizing', render: renderFunctionSizing },
  { file: 'docs/ledger.md', id: 'ledger-columns', render: renderLedgerTables },
  { file: 'docs/operations.md', id: 'commands', render: renderCommands },
  { file: 'docs/operations.md', id: 'exit-codes', render: renderExitCodes },
  ...FUNCTION_KEYS.map((f) => ({ file: `functions/${FUNCTIONS[f].name}/README.md`, id: 'env', render: () => renderFunctionEnvTable(f) })),
];

const begin = (id: string) => `<!-- BEGIN GENERATED ${id}: npm run docs:generate, do not edit -->`;
const end = (id: string) => `<!-- END GENERATED ${id} -->`;

/** The page with its block replaced by what the code says now; throws if the markers are missing. */
export function applyBlock(text: string, block: GeneratedBlock): string {
  const b = text.indexOf(begin(block.id));
  const e = text.indexOf(end(block.id));
  if (b < 0 || e < b) throw new Error(`${block.file}: markers for "${block.id}" not found (expected ${begin(block.id)} … ${end(block.id)})`);
  return `${text.slice(0, b)}${begin(block.id)}\n${block.render()}\n${text.slice(e)}`;
}

/** Every page holding a generated block, as it is on disk and as it should be. */
export function generatedPages(root: string): { file: string; current: string; expected: string }[] {
  const byFile = new Map<string, GeneratedBlock[]>();
  for (const b of GENERATED_BLOCKS) byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);
  return [...byFile].map(([file, blocks]) => {
    const current = fs.readFileSync(path.join(root, file), 'utf8');
    return { file, current, expected: blocks.reduce(applyBlock, current) };
  });
}
