/**
 * npm start — the daily pipeline on this machine, through the same handlers the cloud runs.
 *
 *   npm start                         embedded PostgreSQL with synthetic PECs (seeded on first run)
 *   npm start -- --reset              start over: new sources, empty bucket and warehouse
 *   npm start -- --registry FILE      your own PEC databases (see README "Municipality registry")
 *   npm start -- --date 2026-11-22    the day the run is for (default: today in São Paulo)
 *   npm start -- --citizens 20000     size of each synthetic municipality (first seeding only)
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { IsoDate } from '../shared/contracts/identifiers';
import { createLogger } from '../shared/log';
import { addDays, saoPauloDate } from '../shared/run/plan-run';
import { createLocalPipeline, loadRegistryFile, localPaths } from '../shared/local/runtime';
import { effectiveDataDir } from '../shared/local/postgres-server';
import type { RunEvent, RunObserver } from '../shared/ports';
import { formatIssues } from '../shared/handlers/pubsub-handler';
import { startEmbeddedSources } from './lib/embedded-sources';
import { formatTable } from './lib/format';

const Args = z.strictObject({
  reset: z.boolean().default(false),
  registry: z.string().min(1).optional(),
  date: IsoDate.optional(),
  citizens: z.coerce.number().int().min(50).max(500_000).default(1500),
  dataDir: z.string().min(1).default('.local'),
});

function parseArgs(argv: string[]): z.infer<typeof Args> {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (key === 'reset') raw.reset = true;
    else raw[key] = argv[++i];
  }
  const r = Args.safeParse(raw);
  if (!r.success) throw new Error(formatIssues(r.error).replace(/^(\w+)/, '--$1'));
  return r.data;
}

/** Live progress: one line per transition (extracting → staged → loaded), readable in CI logs too. */
class ProgressPrinter implements RunObserver {
  readonly rows = new Map<string, { rows: number; bytes: number; seconds: number; status: string; detail?: string }>();
  constructor(private readonly names: Map<string, string>) {}
  private label(ibge: string) {
    return `${ibge} ${(this.names.get(ibge) ?? '').padEnd(14)}`;
  }
  record(e: RunEvent): void {
    if (e.kind === 'extract_started') console.log(`  ${this.label(e.municipality)} extracting${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
    if (e.kind === 'extract_continued') console.log(`  ${this.label(e.municipality)} continuing (${e.tablesDone} tables done, ${e.tablesLeft} left)`);
    if (e.kind === 'extract_staged') {
      const m = e.manifest;
      const rows = m.tables.reduce((n, t) => n + t.rows, 0);
      const bytes = m.tables.reduce((n, t) => n + t.parts.reduce((b, p) => b + p.bytes, 0), 0);
      const seconds = (Date.parse(m.finishedAt) - Date.parse(m.extractedAt)) / 1000;
      const warn = [...new Set(m.tables.flatMap((t) => t.warnings))].length + m.failedTables.length;
      this.rows.set(e.municipality, { rows, bytes, seconds, status: 'staged', detail: warn ? `${warn} warning(s)` : undefined });
      console.log(`  ${this.label(e.municipality)} ${e.alreadyDone ? 'already staged' : 'staged'} ${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(2)} MB, PEC ${m.pecVersion ?? '?'}`);
    }
    if (e.kind === 'extract_failed') {
      this.rows.set(e.municipality, { rows: 0, bytes: 0, seconds: 0, status: e.willRetry ? 'retrying' : 'failed', detail: e.errorClass });
      console.log(`  ${this.label(e.municipality)} ${e.willRetry ? 'failed, will retry' : 'FAILED'}: ${e.errorClass}: ${e.message}`);
    }
    if (e.kind === 'load_finished') {
      const byMunicipality = new Map<string, string[]>();
      for (const o of e.outcomes) byMunicipality.set(o.municipality, [...(byMunicipality.get(o.municipality) ?? []), o.status]);
      for (const [ibge, statuses] of byMunicipality) {
        const status = statuses.every((s) => s === 'already_loaded') ? 'already loaded' : statuses.includes('stale') ? 'loaded (some slices stale)' : 'loaded';
        const row = this.rows.get(ibge);
        if (row) row.status = status;
        console.log(`  ${this.label(ibge)} ${status}`);
      }
    }
    if (e.kind === 'load_failed') console.log(`  load ${e.willRetry ? 'failed, will retry' : 'FAILED'}: ${e.errorClass}: ${e.message}`);
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const paths = localPaths(args.dataDir);
  if (args.reset) {
    fs.rmSync(paths.root, { recursive: true, force: true });
    fs.rmSync(path.dirname(effectiveDataDir(paths.postgres)), { recursive: true, force: true });
    console.log(`reset: removed ${paths.root}`);
  }
  fs.mkdirSync(paths.logs, { recursive: true });
  const logFile = path.join(paths.logs, 'pipeline.jsonl');
  const logger = createLogger({ service: 'pec-pipeline-local', destination: fs.createWriteStream(logFile, { flags: 'a' }) as never });
  const runDate = args.date ?? saoPauloDate(new Date());

  let registry;
  let server;
  if (args.registry) {
    registry = loadRegistryFile(args.registry);
    console.log(`registry ${args.registry}: ${registry.municipalities.length} municipalities`);
  } else {
    console.log('starting the embedded PostgreSQL (synthetic PEC databases)…');
    const env = await startEmbeddedSources(paths, { citizens: args.citizens, endDate: addDays(runDate, -1), log: (l) => console.log(`  ${l}`) });
    registry = env.registry;
    server = env.server;
    if (!env.seededNow) console.log('  reusing the sources seeded earlier (npm start -- --reset to start over)');
  }

  const names = new Map(registry.municipalities.map((m) => [m.ibge, m.name]));
  const progress = new ProgressPrinter(names);
  const pipeline = await createLocalPipeline({ paths, registry, logger, observer: progress });
  const t0 = Date.now();
  try {
    console.log(`\nrun for ${runDate}: ${registry.municipalities.filter((m) => m.enabled).length} municipalities`);
    const run = await pipeline.runOnce({ runDate });
    console.log(`\nrun ${run.runId} finished in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const table = run.planned.map((ibge) => {
      const r = progress.rows.get(ibge);
      return {
        municipality: ibge,
        name: names.get(ibge) ?? '',
        rows: r?.rows ?? 0,
        'MB staged': ((r?.bytes ?? 0) / 1e6).toFixed(2),
        seconds: (r?.seconds ?? 0).toFixed(1),
        status: r ? `${r.status}${r.detail ? ` (${r.detail})` : ''}` : 'not extracted',
      };
    });
    console.log(formatTable(table));
    const dead = pipeline.bus.deadLetters.length;
    if (dead > 0) console.log(`\n${dead} message(s) dead-lettered: see ${logFile}`);
    console.log(`\nwarehouse: ${paths.warehouse}`);
    console.log(`bucket:    ${paths.bucket}`);
    console.log(`log:       ${logFile}`);
    console.log('\nquery it:');
    console.log('  npm run query -- "select _municipality_ibge, count(*) as consultations from raw.tb_fat_atendimento_individual group by 1 order by 1"');
    console.log('  npm run query -- --json "select count(*) as n from raw.tb_fat_cidadao_pec"');
    const failed = run.planned.length - run.extracted.length;
    return failed > 0 ? 1 : 0;
  } finally {
    pipeline.close();
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`npm start failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
