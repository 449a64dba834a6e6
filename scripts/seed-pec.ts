import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { z } from 'zod';
import { seedPec, SeedOptions } from './synthetic-pec/generate';
import { quoteIdentifier, readOnlyRoleSql } from './synthetic-pec/schema';

/**
 * Seeds a synthetic PEC database.
 *
 *   npx tsx scripts/seed-pec.ts --url postgres://postgres:pw@127.0.0.1:5432/esus \
 *     --ibge 3550308 --name "São Paulo" --uf SP --citizens 1500 --seed 42 [--pec-version 5.2]
 *
 * Several municipalities in one installation: repeat --ibge/--name/--uf, or give comma lists.
 * Options: --months 14, --end-date 2026-11-21, --dw-processed-at 2026-11-10T03:00:00Z,
 * --only-consultations N (benchmarks: dimensions, citizens and exactly N consultations),
 * --create-database (create the database named in --url first), --read-only-role esus_leitura
 * with the password in the PEC_READ_ONLY_PASSWORD environment variable.
 */

const USAGE = `usage: npx tsx scripts/seed-pec.ts --url postgres://user:pw@host:port/db --ibge 3550308 --name "São Paulo" --uf SP
       [--citizens 1500] [--seed 42] [--months 14] [--end-date YYYY-MM-DD] [--pec-version 5.5|5.2]
       [--dw-processed-at ISO-TIMESTAMP] [--only-consultations N] [--create-database]
       [--read-only-role NAME (password from PEC_READ_ONLY_PASSWORD)]`;

const list = (values: string[] | undefined) =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
const integer = (label: string) =>
  z
    .string()
    .regex(/^-?\d+$/, `${label} must be an integer`)
    .transform(Number);

const Args = z
  .strictObject({
    url: z
      .string({ message: '--url is required' })
      .refine((u) => URL.canParse(u) && /^postgres(ql)?:$/.test(new URL(u).protocol), '--url must be a postgres:// URL')
      .refine((u) => !URL.canParse(u) || new URL(u).pathname.length > 1, '--url must name a database'),
    ibge: z.array(z.string()).min(1, 'at least one --ibge is required'),
    name: z.array(z.string()),
    uf: z.array(z.string()),
    citizens: integer('--citizens').optional(),
    seed: integer('--seed').default(42),
    months: integer('--months').optional(),
    'end-date': z.string().optional(),
    'pec-version': z.string().optional(),
    'dw-processed-at': z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), '--dw-processed-at must be an ISO timestamp')
      .transform((s) => new Date(s))
      .optional(),
    'only-consultations': integer('--only-consultations').optional(),
    'create-database': z.boolean().default(false),
    'read-only-role': z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, '--read-only-role must be a lower-case role name')
      .optional(),
  })
  .superRefine((a, ctx) => {
    if (a.name.length !== a.ibge.length || a.uf.length !== a.ibge.length)
      ctx.addIssue({ code: 'custom', message: `give one --name and one --uf per --ibge (got ${a.ibge.length} ibge, ${a.name.length} name, ${a.uf.length} uf)` });
    if (a['read-only-role'] && !process.env.PEC_READ_ONLY_PASSWORD)
      ctx.addIssue({ code: 'custom', message: '--read-only-role needs the password in the PEC_READ_ONLY_PASSWORD environment variable' });
  });

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const OPTIONS = {
  url: { type: 'string' },
  ibge: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  uf: { type: 'string', multiple: true },
  citizens: { type: 'string' },
  seed: { type: 'string' },
  months: { type: 'string' },
  'end-date': { type: 'string' },
  'pec-version': { type: 'string' },
  'dw-processed-at': { type: 'string' },
  'only-consultations': { type: 'string' },
  'create-database': { type: 'boolean' },
  'read-only-role': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseCommandLine() {
  try {
    return parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  } catch (err) {
    return fail((err as Error).message);
  }
}

async function main(): Promise<void> {
  const parsed = parseCommandLine();
  const { help, ...values } = parsed.values;
  if (help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const args = Args.safeParse({ ...values, ibge: list(values.ibge), name: list(values.name), uf: list(values.uf) });
  if (!args.success) fail(z.prettifyError(args.error));
  const a = args.data;

  const options = SeedOptions.safeParse({
    seed: a.seed,
    municipalities: a.ibge.map((ibge, i) => ({ ibge, name: a.name[i]!, uf: a.uf[i]!.toUpperCase() })),
    citizens: a.citizens,
    months: a.months,
    endDate: a['end-date'],
    pecVersion: a['pec-version'],
    dwProcessedAt: a['dw-processed-at'],
    onlyTable: a['only-consultations'] === undefined ? undefined : { name: 'tb_fat_atendimento_individual', rows: a['only-consultations'] },
  });
  if (!options.success) fail(z.prettifyError(options.error));

  const url = new URL(a.url);
  const database = decodeURIComponent(url.pathname.slice(1));
  if (a['create-database']) {
    const adminUrl = new URL(a.url);
    adminUrl.pathname = '/postgres';
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
    } finally {
      await admin.end();
    }
  }

  const client = new Client({ connectionString: a.url, application_name: 'seed-pec' });
  await client.connect();
  try {
    const summary = await seedPec(client, options.data);
    if (a['read-only-role']) await client.query(readOnlyRoleSql(a['read-only-role'], process.env.PEC_READ_ONLY_PASSWORD!, database));
    const width = Math.max(...Object.keys(summary.rowsPerTable).map((t) => t.length));
    process.stdout.write(`seeded ${database}: PEC ${summary.pecVersion}, history ${summary.historyStart} .. ${summary.endDate}, DW processed ${summary.dwProcessedAt}\n`);
    for (const m of summary.municipalities) process.stdout.write(`  ${m.ibge} ${m.name}/${m.uf}: co_dim_municipio ${m.municipioIds.join(', ')}, ${m.citizens} citizen records\n`);
    for (const [table, rows] of Object.entries(summary.rowsPerTable)) process.stdout.write(`  ${table.padEnd(width)} ${rows.toLocaleString('en-US').padStart(12)}\n`);
    const slowest = Object.entries(summary.timingsMs)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 4);
    process.stdout.write(`  slowest steps: ${slowest.map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`).join(', ')}\n`);
    process.stdout.write(
      `${summary.totalRows.toLocaleString('en-US')} rows in ${(summary.durationMs / 1000).toFixed(1)} s (${summary.rowsPerSecond.toLocaleString('en-US')} rows/s)\n`,
    );
  } finally {
    await client.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`seed-pec failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
