/**
 * `npm run bench -- --bad-morning [--municipalities N] [--no-doc]`: N synthetic municipalities (default
 * 650) on one embedded PostgreSQL, run twice by the real local pipeline with the same options — once
 * clean, once with the bad-morning fault mix of scripts/bench/lib/bad-morning-mix.ts (the same mix the
 * 60-municipality integration test asserts). Each run is its own child process, so its peak RSS
 * (process.resourceUsage().maxRSS) is its own. Reports: healthy municipalities loaded, each faulty
 * one's final state and class against the one injected, the faulty run's time against the clean one's,
 * peak memory; writes the "Bad morning" section of docs/benchmarks.md (that section only).
 *
 * The sources, reference and pipeline come from the fault harness (test/faults/support/harness.ts):
 * one definition of a faultable local pipeline, pointed at this script's PostgreSQL through
 * PIPELINE_TEST_PG_URL.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_SUBSCRIPTION } from '../../shared/local/runtime';
import { startLocalPostgres } from '../../shared/local/postgres-server';
import {
  FaultLab,
  REQUEST,
  buildReference,
  diffFromReference,
  duplicateKeys,
  emptySourceSlices,
  seedSource,
  type LabOptions,
  type Reference,
} from '../../test/faults/support/harness';
import type { Source } from '../../test/support/local-pipeline';
import type { TestDatabase } from '../../test/support/pg';
import { registryFor } from '../../test/support/local-pipeline';
import {
  EXPECTED,
  FAULT_SHARES,
  WRONG_PASSWORD_SECRET,
  expectedOutcomes,
  faultedRegistry,
  injectMissingColumn,
  injectOverflow,
  injectStatementTimeout,
  morningPlan,
  observedOutcomes,
  refusingPort,
  tripledDeliveries,
  type Fault,
  type MorningPlan,
} from './lib/bad-morning-mix';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const SECTION = '## Bad morning';
const PER_INSTALLATION = 10;
const log = (s: string) => process.stderr.write(`[bad-morning ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

type SourceName = 'main' | 'slow' | 'drift' | 'overflow';
interface ChildConfig {
  mode: 'clean' | 'bad';
  n: number;
  pgUrl: string;
  sources: { name: SourceName; db: Pick<TestDatabase, 'name' | 'url' | 'readerRole' | 'readerPassword'>; municipalities: { ibge: string; name: string }[] }[];
  reference?: Reference;
  out: string;
}
interface ChildResult {
  mode: 'clean' | 'bad';
  runS: number;
  drainS: number;
  maxRssMb: number;
  cpuS: number;
  outcomes: Record<string, string>;
  deadLetters: number;
  extractDeliveries: number;
  rerunSent?: boolean;
  healthyDiff?: Record<string, unknown>;
  duplicateKeys?: string[];
  setAsideRecords?: number;
  reference?: Reference;
}

/** The same options for both runs: the production local subscription, a deadline no run reaches, load waves every 3 s. */
function runOptions(): LabOptions {
  return {
    settings: { statementTimeoutMs: 1_500 },
    subscription: { ...LOCAL_SUBSCRIPTION },
    timing: { deadlineMs: 3 * 3_600_000, loadTimeoutMs: 3_600_000, pollEveryMs: 200, loadWaveEveryMs: 3_000 },
  };
}

/** Times runOnce and drain of the pipelines it opens (buildReference runs through it too). */
class TimedLab extends FaultLab {
  runS = 0;
  override async pipeline(sources: Source[], options: LabOptions = {}) {
    const p = await super.pipeline(sources, options);
    const runOnce = p.runOnce.bind(p);
    p.runOnce = async (...args: Parameters<typeof runOnce>) => {
      const t0 = performance.now();
      try {
        return await runOnce(...args);
      } finally {
        this.runS = (performance.now() - t0) / 1000;
      }
    };
    return p;
  }
}

async function child(c: ChildConfig): Promise<void> {
  process.env.PIPELINE_TEST_PG_URL = c.pgUrl;
  const plan = morningPlan(c.n);
  const sources = c.sources.map((s) => ({ db: s.db as TestDatabase, municipalities: s.municipalities }));
  const lab = new TimedLab();
  const ru0 = process.resourceUsage();
  const result: Partial<ChildResult> = { mode: c.mode };
  if (c.mode === 'clean') {
    result.reference = await buildReference(lab, sources, REQUEST, runOptions());
    result.runS = lab.runS;
    result.drainS = 0;
  } else {
    let rerunSent = false;
    const p = await lab.pipeline(sources, {
      ...runOptions(),
      registry: faultedRegistry(registryFor(sources), plan, await refusingPort()),
      onEvent: (e) => {
        // One rerun in the middle: as soon as the first municipality is staged.
        if (e.kind === 'extract_staged' && !rerunSent && e.runId.startsWith('daily-')) {
          rerunSent = true;
          void p.bus.publish('runRequests', { trigger: 'rerun', municipalities: [plan.rerun], ...REQUEST });
        }
      },
    });
    fs.writeFileSync(path.join(p.paths.secrets, WRONG_PASSWORD_SECRET), 'not-the-password');
    p.bus.duplicate = tripledDeliveries(plan);
    try {
      const run = await p.runOnce(REQUEST);
      result.runS = lab.runS;
      const t0 = performance.now();
      await p.drain();
      result.drainS = (performance.now() - t0) / 1000;
      result.rerunSent = rerunSent;
      result.outcomes = await observedOutcomes(p.warehouse, run.runId);
      result.healthyDiff = await diffFromReference(p.warehouse, c.reference!, { municipalities: plan.healthy });
      result.duplicateKeys = await duplicateKeys(p.warehouse);
      result.setAsideRecords = (await p.warehouse.query(`SELECT count(*)::INTEGER AS n FROM ops.set_aside_values`))[0]!.n as number;
      result.deadLetters = p.bus.deadLetters.length;
      result.extractDeliveries = p.deliveries.filter((d) => d.subscription === 'extract').length;
    } finally {
      await p.dispose();
    }
  }
  const ru = process.resourceUsage();
  result.maxRssMb = ru.maxRSS / 1024;
  result.cpuS = (ru.userCPUTime - ru0.userCPUTime + ru.systemCPUTime - ru0.systemCPUTime) / 1e6;
  result.outcomes ??= {};
  result.deadLetters ??= 0;
  result.extractDeliveries ??= 0;
  fs.writeFileSync(c.out, JSON.stringify(result));
}

function runChild(config: ChildConfig, file: string): Promise<ChildResult> {
  fs.writeFileSync(file, JSON.stringify(config));
  return new Promise((resolve, reject) => {
    const cp = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    cp.once('error', reject);
    cp.once('exit', (code, signal) =>
      code === 0 ? resolve(JSON.parse(fs.readFileSync(config.out, 'utf8')) as ChildResult) : reject(new Error(`the ${config.mode} run exited with ${code ?? signal}`)),
    );
  });
}

export interface BadMorningOptions {
  municipalities: number;
  doc: boolean;
}

export async function badMorning(o: BadMorningOptions): Promise<number> {
  const plan = morningPlan(o.municipalities);
  const load0 = os.loadavg();
  const started = new Date();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-bad-morning-'));
  fs.chmodSync(tmp, 0o755); // as root PostgreSQL runs as `nobody`: its data directory must be reachable
  const server = await startLocalPostgres({ dataDir: path.join(tmp, 'pg'), superuserPassword: 'bench-superuser', fast: true });
  process.env.PIPELINE_TEST_PG_URL = server.url();
  const dbs: TestDatabase[] = [];
  try {
    const t0 = performance.now();
    const size = { citizens: 80, months: 4 };
    const groups: Record<SourceName, { ibge: string; name: string; uf: string }[]> = { main: [], slow: [], drift: [], overflow: [] };
    for (const [i, m] of plan.ibges.entries()) groups[plan.sourceOf(m)].push({ ibge: m, name: `Municipio ${i}`, uf: 'SP' });
    const sources: ChildConfig['sources'] = [];
    // Healthy municipalities on servers of PER_INSTALLATION each, like the fan-out benchmark: the
    // pipeline reads one municipality at a time per server (SourceLease), so one server for hundreds
    // would measure that lease queue, not a morning.
    const chunks: [SourceName, { ibge: string; name: string; uf: string }[]][] = [];
    for (let i = 0; i < groups.main.length; i += PER_INSTALLATION) chunks.push(['main', groups.main.slice(i, i + PER_INSTALLATION)]);
    for (const name of ['slow', 'drift', 'overflow'] as const) chunks.push([name, groups[name]]);
    log(`seeding ${plan.ibges.length} municipalities on ${chunks.length} databases…`);
    for (const [k, [name, ms]] of chunks.entries()) {
      // A database where some municipality would have an empty table in the window is seeded again
      // with the next seed (deterministic): the clean reference refuses empty tables.
      let db = await seedSource(`pec_bad_${name}`, 61 + k, ms, size);
      for (let retry = 1; ; retry++) {
        const empty = await emptySourceSlices(
          db,
          ms.map((m) => m.ibge),
        );
        if (empty.length === 0) break;
        if (retry > 5) throw new Error(`database ${k}: ${empty.join(', ')} stay empty in the window after ${retry} seeds`);
        log(`database ${k}: no rows in the window for ${empty.join(', ')}: seeding it again with another seed`);
        await db.drop();
        db = await seedSource(`pec_bad_${name}`, 61 + k + 1000 * retry, ms, size);
      }
      dbs.push(db);
      sources.push({ name, db: { name: db.name, url: db.url, readerRole: db.readerRole, readerPassword: db.readerPassword }, municipalities: ms });
    }
    const seedS = (performance.now() - t0) / 1000;
    log(`seeded in ${seedS.toFixed(0)} s; the clean run…`);
    const base = { n: o.municipalities, pgUrl: server.url(), sources };
    const clean = await runChild({ ...base, mode: 'clean', out: path.join(tmp, 'clean.json') }, path.join(tmp, 'clean-config.json'));
    log(`clean run: ${clean.runS.toFixed(1)} s, peak RSS ${clean.maxRssMb.toFixed(0)} MB; injecting the faults…`);
    const db = (n: SourceName) => dbs[sources.findIndex((s) => s.name === n)]!;
    await injectStatementTimeout(db('slow').client, db('slow').readerRole);
    await injectMissingColumn(db('drift').client);
    const overflowRows = await injectOverflow(db('overflow').client);
    log('the bad morning…');
    const bad = await runChild({ ...base, mode: 'bad', reference: clean.reference, out: path.join(tmp, 'bad.json') }, path.join(tmp, 'bad-config.json'));
    const load1 = os.loadavg();
    const report = render(plan, clean, bad, { seedS, overflowRows, started, load: [load0, load1], n: o.municipalities });
    process.stdout.write(`${report}\n`);
    if (o.doc) {
      writeSection(report);
      log(`wrote the "${SECTION.slice(3)}" section of docs/benchmarks.md`);
    }
    return report.includes('**all as injected**') ? 0 : 1;
  } finally {
    for (const d of dbs) await d.client.end().catch(() => {});
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const faultLabel: Record<Fault, string> = {
  unreachable: 'unreachable (connection refused)',
  wrong_password: 'wrong password',
  statement_timeout: 'statement timeout (a table slower than 1.5 s)',
  missing_column: `schema drift (a missing column)`,
  overflow: 'a value the warehouse type cannot hold',
  tripled: 'every extract message delivered three times',
  rerun: 'rerun in the middle of the run',
  none: 'none (healthy)',
};

function render(plan: MorningPlan, clean: ChildResult, bad: ChildResult, m: { seedS: number; overflowRows: number; started: Date; load: number[][]; n: number }): string {
  const expected = expectedOutcomes(plan);
  const mismatches = plan.ibges.filter((x) => bad.outcomes[x] !== expected[x]);
  const healthyLoaded = plan.healthy.filter((x) => bad.outcomes[x] === 'loaded').length;
  const rows = (Object.keys(EXPECTED) as Fault[]).map((f) => {
    const ms = plan.of(f);
    const got = new Map<string, number>();
    for (const x of ms) got.set(bad.outcomes[x] ?? '(no ledger row)', (got.get(bad.outcomes[x] ?? '(no ledger row)') ?? 0) + 1);
    const share = f in FAULT_SHARES ? ` (≥ ${(FAULT_SHARES[f as keyof typeof FAULT_SHARES] * 100).toFixed(0)} %)` : '';
    return `| ${faultLabel[f]}${share} | ${ms.length} | \`${EXPECTED[f]}\` | ${[...got].map(([k, v]) => `\`${k}\` × ${v}`).join(', ')} |`;
  });
  const la = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  const diffTables = Object.keys(bad.healthyDiff ?? {});
  return [
    SECTION,
    '',
    `\`npm run bench -- --bad-morning --municipalities ${m.n}\`, ${m.started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores, Node ${process.version}.`,
    `Load average (1 / 5 / 15 min) at the start ${la(m.load[0]!)}, at the end ${la(m.load[1]!)}: the machine was shared with other`,
    'jobs, so the times below are indicative only and must be re-measured on a quiet machine.',
    '',
    `${m.n} synthetic municipalities (80 citizens, 4 months each; healthy ones ${PER_INSTALLATION} per database; seeded in ${m.seedS.toFixed(0)} s on one embedded PostgreSQL), run twice by the`,
    'real local pipeline (fan-out → extract → load waves into DuckDB → report) with the same options (the production local',
    `subscription: ${LOCAL_SUBSCRIPTION.maxConcurrency} concurrent extractions, ${LOCAL_SUBSCRIPTION.maxDeliveryAttempts} delivery attempts; statement timeout 1.5 s; load waves every 3 s):`,
    'first clean, then with the fault mix of `scripts/bench/lib/bad-morning-mix.ts` (the same mix, at 60 municipalities,',
    'is asserted by `test/integration/bad-morning.test.ts`). Each run is its own process.',
    '',
    '| injected fault | municipalities | expected final state/class | got |',
    '| --- | ---: | --- | --- |',
    ...rows,
    '',
    `- Healthy municipalities (no fault, tripled or rerun) loaded: **${healthyLoaded} of ${plan.healthy.length}**; their slices against the clean run's, row by row: ${diffTables.length === 0 ? '**identical**' : `**differ** in ${diffTables.join(', ')}`}; keys held twice: ${(bad.duplicateKeys ?? []).length === 0 ? 'none' : bad.duplicateKeys!.join(', ')}.`,
    `- Every municipality against what was injected: ${mismatches.length === 0 ? '**all as injected**' : `**${mismatches.length} mismatch(es)**: ${mismatches.map((x) => `${x} (${plan.faultOf[x]}: expected \`${expected[x]}\`, got \`${bad.outcomes[x] ?? 'no ledger row'}\`)`).join('; ')}`}.`,
    `- Set aside: ${m.overflowRows} value(s) injected, ${bad.setAsideRecords ?? 0} record(s) in \`ops.set_aside_values\`. The mid-run rerun was ${bad.rerunSent ? 'sent' : '**not sent**'}; ${bad.extractDeliveries} extract deliveries, ${bad.deadLetters} dead letters.`,
    '',
    '| run | runOnce (s) | then drain (s) | CPU (s) | peak RSS (MB) |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| clean | ${clean.runS.toFixed(1)} | – | ${clean.cpuS.toFixed(1)} | ${clean.maxRssMb.toFixed(0)} |`,
    `| bad morning | ${bad.runS.toFixed(1)} | ${bad.drainS.toFixed(1)} | ${bad.cpuS.toFixed(1)} | ${bad.maxRssMb.toFixed(0)} |`,
    '',
    `The bad morning took **${(bad.runS / clean.runS).toFixed(2)}×** the clean run's time. CPU and peak RSS are each run's own process (process.resourceUsage();`,
    'the clean one includes exporting the reference to Parquet). `runOnce` ends with the report; `drain` waits for the rerun and',
    'any redelivery still queued.',
  ].join('\n');
}

/** Where the "Bad morning" section sits in the doc: [start, end) offsets, or undefined. */
function sectionBounds(doc: string): [number, number] | undefined {
  const at = doc.indexOf(`\n${SECTION}\n`);
  if (at < 0) return undefined;
  const next = doc.indexOf('\n## ', at + SECTION.length + 1);
  return [at + 1, next >= 0 ? next + 1 : doc.length];
}

/** Replaces (or appends at the end) the "Bad morning" section only: the rest of the file belongs to the other benchmarks. */
function writeSection(section: string): void {
  const doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '';
  const bounds = sectionBounds(doc);
  const before = bounds ? doc.slice(0, bounds[0]) : doc;
  const after = bounds ? doc.slice(bounds[1]) : '';
  fs.writeFileSync(DOC, `${before.trimEnd()}\n\n${section}\n${after ? `\n${after}` : ''}`);
}

/** Everything after this line of docs/benchmarks.md is kept by a full `npm run bench`. */
export const KEPT_MARKER = '<!-- npm run bench rewrites what is above this line and keeps what is below it -->';

/**
 * The other benchmarks' report, followed by what the doc keeps: every section below KEPT_MARKER
 * (measurements of their own, e.g. profiles and function sizing) or, without the marker, the
 * "Bad morning" section alone. A full `npm run bench` rewrites the file but runs neither.
 */
export function withKeptSections(report: string): string {
  const doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '';
  const marker = doc.indexOf(`\n${KEPT_MARKER}\n`);
  if (marker >= 0) return `${report.trimEnd()}\n\n${doc.slice(marker + 1).trimEnd()}\n`;
  const bounds = sectionBounds(doc);
  return bounds ? `${report.trimEnd()}\n\n${doc.slice(bounds[0], bounds[1]).trimEnd()}\n` : report;
}

if (process.argv[2] === '--child') {
  child(JSON.parse(fs.readFileSync(process.argv[3]!, 'utf8')) as ChildConfig).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
