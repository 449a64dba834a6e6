import { z } from 'zod';
import { ENV } from '../../shared/contracts/config';
import { IbgeCode } from '../../shared/contracts/ibge';
import { IsoDate } from '../../shared/contracts/identifiers';
import { type Command, type Flag, switchFlag, valueFlag } from './cli';

/**
 * Every `npm run` entry point's command line, declared once. The scripts parse with these, --help
 * prints them, the flag tables in docs/operations.md are generated from them, and the README's
 * examples are parsed with them in a test.
 */

/** Where local state lives: the same flag, the same default, for every local command. */
export const DATA_DIR = { dataDir: valueFlag(z.string().min(1).default('.local'), 'where local state lives: bucket/, warehouse.duckdb, secrets/, postgres/, logs/', 'DIR') };

/** Where the sources come from: every command that may start a run. */
const SESSION = {
  ...DATA_DIR,
  registry: valueFlag(z.string().min(1).optional(), 'your own PEC databases (docs/configuration.md) instead of the embedded synthetic ones', 'FILE'),
  citizens: valueFlag(z.coerce.number().int().min(50).max(500_000).default(1500), 'citizens per synthetic municipality, used only when seeding', 'N'),
};

/** Commands that can publish to the deployed run-requests topic instead of running locally. */
const CLOUD = {
  cloud: switchFlag(`publish to the deployed topic instead of running locally (also when ${ENV.projectId} and ${ENV.topicPrefix} are set)`),
  project: valueFlag(z.string().min(1).optional(), `Google Cloud project of the topic (default: ${ENV.projectId})`, 'ID'),
  topicPrefix: valueFlag(z.string().optional(), `prefix of the topic ids (default: ${ENV.topicPrefix})`, 'PREFIX'),
};

const tables = valueFlag(z.string().min(1).optional(), 'only these tables, comma-separated (default: every registry table)', 'T1,T2');
const YearMonth = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM');

export const START = {
  usage: 'npm start',
  summary: 'The daily run on this machine: the workflow the cloud deploys, through the same handlers, ending with the marts rebuilt and the run ledger written.',
  flags: {
    reset: switchFlag('start over: remove the data dir (sources, bucket, warehouse) first'),
    ...SESSION,
    date: valueFlag(IsoDate.optional(), 'the day the run is for (default: today in São Paulo)', 'YYYY-MM-DD'),
    deadlineMinutes: valueFlag(
      z.coerce
        .number()
        .positive()
        .max(24 * 60)
        .optional(),
      "extraction deadline in minutes (default: the workflow's, 180)",
      'N',
    ),
    staleAfterHours: valueFlag(
      z.coerce
        .number()
        .positive()
        .max(24 * 30)
        .optional(),
      'the stale_source alert threshold in hours (default 26)',
      'N',
    ),
  },
  examples: ['npm start', 'npm start -- --reset', 'npm start -- --registry registry.yaml --date 2026-11-22'],
} satisfies Command<Record<string, Flag>>;

export const STATUS = {
  usage: 'npm run status',
  summary: 'The latest state of every municipality from the run ledger, the latest daily run and its alerts. Read-only.',
  flags: { json: switchFlag('one JSON document, numbers as numbers'), ...DATA_DIR },
  examples: ['npm run status', 'npm run status -- --json'],
} satisfies Command<Record<string, Flag>>;

export const QUERY = {
  usage: 'npm run query',
  summary: 'Runs one SQL statement on the local warehouse (DuckDB, read-only) and prints a table.',
  flags: { json: switchFlag('one JSON object per row, numbers as numbers'), ...DATA_DIR },
  positional: { name: 'sql', help: 'the SQL to run (quote it)', required: true },
  examples: ['npm run query -- "select count(*) as n from raw.tb_fat_cidadao_pec"', 'npm run query -- --json "select * from marts.hypertension_follow_up"'],
} satisfies Command<Record<string, Flag>>;

export const RERUN = {
  usage: 'npm run rerun',
  summary: 'Replaces one municipality\'s slices and changes nothing else (one RunRequest with trigger "rerun").',
  flags: {
    municipality: valueFlag(IbgeCode, 'IBGE code of the municipality (7 digits)', 'IBGE'),
    date: valueFlag(IsoDate.optional(), 'the run date whose daily window is re-read (default: today in São Paulo)', 'YYYY-MM-DD'),
    tables,
    ...CLOUD,
    ...SESSION,
  },
  examples: [
    'npm run rerun -- --municipality 3509502',
    'npm run rerun -- --municipality 3509502 --date 2026-11-20 --tables tb_fat_vacinacao',
    'npm run rerun -- --municipality 3509502 --cloud',
  ],
  notes: ['Exits 1 unless the municipality ends `loaded`, naming its state and error class.'],
} satisfies Command<Record<string, Flag>>;

export const BACKFILL = {
  usage: 'npm run backfill',
  summary: "Loads a municipality's history one calendar month per run request (deterministic run ids: sending it again changes nothing).",
  flags: {
    municipality: valueFlag(IbgeCode, 'IBGE code of the municipality (7 digits)', 'IBGE'),
    from: valueFlag(YearMonth, 'first month', 'YYYY-MM'),
    to: valueFlag(YearMonth, 'last month (inclusive)', 'YYYY-MM'),
    tables,
    ...CLOUD,
    ...SESSION,
  },
  examples: ['npm run backfill -- --municipality 3509502 --from 2025-11 --to 2026-10', 'npm run backfill -- --municipality 3509502 --from 2025-11 --to 2026-10 --cloud'],
  notes: ['Exits 1 unless every month ends `loaded`, naming each one that did not.'],
} satisfies Command<Record<string, Flag>>;

export const DOCS_GENERATE = {
  usage: 'npm run docs:generate',
  summary: 'Rewrites the documentation tables that restate code (env vars, ledger columns, command flags) from their definitions.',
  flags: { check: switchFlag('only compare: exit 1 when a page is out of date') },
} satisfies Command<Record<string, Flag>>;

export const WORKFLOWS_GENERATE = {
  usage: 'npm run workflows:generate',
  summary: 'Writes workflows/daily.workflows.yaml from the workflow specification (shared/workflow/daily.ts).',
  flags: { check: switchFlag('only compare: exit 1 when the committed file is out of date') },
} satisfies Command<Record<string, Flag>>;

export const BUILD_FUNCTIONS = {
  usage: 'npm run build:functions',
  summary: 'One deployable folder per cloud function in dist/functions/, with sizes and module-load times.',
  flags: {
    registry: valueFlag(z.string().min(1).optional(), 'also ship this registry as municipalities.yaml (deploying without infra-cdktf)', 'FILE'),
    sourcemap: switchFlag('also write source maps (10–20 MB each)'),
    noMeasure: switchFlag('skip the load-time measurement'),
    out: valueFlag(z.string().min(1).optional(), 'build into this folder instead of dist/functions/ (an empty or earlier build folder)', 'DIR'),
  },
} satisfies Command<Record<string, Flag>>;

/** By the name after `npm run` (`start` for `npm start`): README examples are parsed with these. */
export const COMMANDS: Record<string, Command<Record<string, Flag>>> = {
  start: START,
  status: STATUS,
  query: QUERY,
  rerun: RERUN,
  backfill: BACKFILL,
  'docs:generate': DOCS_GENERATE,
  'workflows:generate': WORKFLOWS_GENERATE,
  'build:functions': BUILD_FUNCTIONS,
};
