/**
 * `npm run bench -- --function-memory [--rows N,N] [--control-mb N]`: the extract function's peak
 * memory measured in a running function, as close to Cloud Run as one Linux machine allows.
 *
 * The deployable bundle (`npm run build:functions`) is served by the functions framework as Cloud
 * Run starts it (`--target=extract --signature-type=http`), inside a cgroup v1 memory cgroup limited
 * to the function's memory (FUNCTIONS.extract.memoryMb) and a cpu cgroup with the function's CPU as
 * a CFS quota (FUNCTIONS.extract.vcpu). It gets the variables the stack sets (ENV names), Cloud
 * Storage = the contract tests' fake server (resumable uploads checked and kept in this process, out
 * of the cgroup), Secret Manager = the emulator tier's fake gRPC server, the source = the bench's
 * embedded PostgreSQL with one municipality of N consultations. One Pub/Sub push body, as the stack's
 * push subscription sends it, must be answered 204; then the manifest is checked against the seeded
 * rows and every staged part's bytes against its SHA-256. A control run at `--control-mb` (80) must
 * not get past the limit: OOM-killed, or stalled thrashing at it (what this kernel does while it can
 * reclaim the node binary's code pages), proving the limit is enforced. Needs root and writable cgroup v1 controllers;
 * elsewhere (CI, cgroup v2, no root) it prints a SKIPPED line and exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { ENDPOINT_ENV, FUNCTION_CONFIGS } from '../../shared/adapters/gcp/function-config';
import { ENV } from '../../shared/contracts/config';
import { FUNCTIONS, nodeEnvironment } from '../../shared/contracts/functions';
import { Manifest } from '../../shared/contracts/manifest';
import { TOPICS } from '../../shared/contracts/messages';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { layout } from '../../shared/records/layout';
import { startFakeGcsServer, type FakeGcsServer } from '../../test/support/fake-gcs-server';
import { startFakeSecretManager } from '../../test/emulator/support/fake-secret-manager-server';
import { BUILD_DIR, clockTicks } from './lib/proc';
import { seedFactSource, startBenchPostgres, type FactSource } from './lib/sources';

const ROOT = path.resolve(__dirname, '..', '..');
const SPEC = FUNCTIONS.extract;
const PROJECT = 'pec-bench-fnmem';
const BUCKET = 'pec-staging-bench';
const KEY_SECRET = 'pec-pseudonym-key';
const PASSWORD_ENV = 'PEC_DB_PASSWORD';
const FACT_TABLE = 'tb_fat_atendimento_individual'; // the table seedFactSource fills
const WINDOW = { start: '2024-01-01', end: '2026-11-22' }; // the whole synthetic history, as the contest
const FRAMEWORK = path.join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
const MiB = 1024 * 1024;
const log = (s: string) => process.stderr.write(`[function-memory ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

export interface FunctionMemoryOptions {
  rows: number[];
  controlMb: number;
  /**
   * Send `tables: [the fact table]` instead of the daily message's every table: at 8 M rows the fact
   * table alone outlasts EXTRACT_TIME_BUDGET_MS at 0.333 vCPU, and the continuation it would publish
   * needs a Pub/Sub this bench does not run.
   */
  factTableOnly: boolean;
}

export interface FunctionRun {
  rows: number;
  limitMb: number;
  vcpu: number;
  /** The HTTP answer; 'killed': the connection died with the process; 'timeout': no answer in time. */
  status: number | 'killed' | 'timeout';
  /** RssAnon polled every 100 ms during the message: the peak of what reclaim cannot give back. */
  anonPeakMb?: number;
  /** SIGKILL by the kernel's OOM killer in this cgroup (memory.oom_control's oom_kill). */
  oomKills: number;
  /** cgroup: memory.max_usage_in_bytes (RSS + page cache + kernel memory charged to the cgroup). */
  cgroupPeakMb: number;
  /** cgroup: times usage hit the limit (reclaim of page cache counts too, not only OOM). */
  failcnt: number;
  /** The node process's VmHWM (peak resident set) from /proc/<pid>/status, read after the answer. */
  vmHwmMb?: number;
  /** Its RssAnon part. */
  anonAfterStartMb?: number;
  /** The process ended before it listened (e.g. OOM-killed while loading the bundle). */
  diedAtStart?: boolean;
  /** Spawn → the framework answers HTTP: the cold start at this CPU quota. */
  startS?: number;
  /** The node process's VmRSS once the framework listened (before the message). */
  rssAfterStartMb?: number;
  /** VmRSS's parts after the answer (current): anonymous memory and mapped files (the node binary, libraries). */
  rssNowMb?: { anon: number; file: number };
  /** memory.stat after the run (current, not peak): rss and cache of the cgroup. */
  statMb?: { rss: number; cache: number };
  /** cpu.stat: periods in which the quota throttled the function. */
  throttledPeriods?: number;
  cpuS?: number;
  requestS?: number;
  tableSeconds?: number;
  parts?: number;
  stagedMb?: number;
  verified?: string;
}

/** The memory cgroup this process is in (cgroup v1), from /proc/self/cgroup. */
function cgroupRoots(): { memory: string; cpu: string } | string {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (cgroups cannot be created)';
  const line = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => /^\d+:memory:/.test(l));
  if (!line) return 'no cgroup v1 memory controller in /proc/self/cgroup (cgroup v2 or none)';
  const memory = path.join('/sys/fs/cgroup/memory', line.split(':')[2]!);
  const cpu = '/sys/fs/cgroup/cpu';
  for (const [dir, file] of [
    [memory, 'memory.max_usage_in_bytes'],
    [cpu, 'cpu.cfs_quota_us'],
  ] as const) {
    const probe = path.join(dir, `fnmem-probe-${process.pid}`);
    try {
      fs.mkdirSync(probe);
      const ok = fs.existsSync(path.join(probe, file));
      fs.rmdirSync(probe);
      if (!ok) return `${dir} is not a cgroup v1 directory (no ${file})`;
    } catch (e) {
      return `cannot create a cgroup under ${dir}: ${(e as Error).message}`;
    }
  }
  return { memory, cpu };
}

interface Cgroups {
  memory: string;
  cpu: string;
  remove(): void;
}

function makeCgroups(roots: { memory: string; cpu: string }, label: string, limitMb: number, vcpu: number): Cgroups {
  const name = `bench-fnmem-${process.pid}-${label}`;
  const memory = path.join(roots.memory, name);
  const cpu = path.join(roots.cpu, name);
  const remove = () => {
    // rmdir fails while a process is inside: callers kill the function first. Both, even if one fails.
    for (const d of [memory, cpu])
      try {
        if (fs.existsSync(d)) fs.rmdirSync(d);
      } catch (e) {
        log(`WARNING: could not remove cgroup ${d}: ${(e as Error).message}`);
      }
  };
  try {
    fs.mkdirSync(memory);
    fs.mkdirSync(cpu);
    fs.writeFileSync(path.join(memory, 'memory.limit_in_bytes'), String(limitMb * MiB));
    const period = 100_000;
    fs.writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), String(period));
    fs.writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(vcpu * period)));
  } catch (e) {
    remove();
    throw e;
  }
  return { memory, cpu, remove };
}

const read = (file: string) => fs.readFileSync(file, 'utf8').trim();
const statOf = (file: string) =>
  Object.fromEntries(
    read(file)
      .split('\n')
      .map((l) => l.split(/\s+/) as [string, string]),
  );
const procKb = (pid: number, field: string): number | undefined => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
};

/** Drops a file's clean, unmapped pages from the page cache (GNU dd's documented idiom). */
function evict(file: string): void {
  spawnSync('sync', [file]);
  const r = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot evict ${file} from the page cache: ${r.stderr}`);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** The push body infra-cdktf's push subscription sends (functions/pubsub-push.ts reads it), POSTed without a client timeout. */
function push(port: number, topic: string, message: unknown, timeoutMs: number): Promise<number | 'timeout'> {
  const id = String(Date.now());
  const publishTime = new Date().toISOString();
  const body = JSON.stringify({
    message: { data: Buffer.from(JSON.stringify(message)).toString('base64'), attributes: {}, messageId: id, message_id: id, publishTime, publish_time: publishTime },
    subscription: `projects/${PROJECT}/subscriptions/${topic}-push`,
    deliveryAttempt: 1,
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/projects/${PROJECT}/topics/${topic}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve('timeout');
    });
    req.end(body);
  });
}

/**
 * True once the framework accepts connections, false if the process died first. A TCP connect, not
 * an HTTP request: any request to an HTTP function runs it (a GET would be handled as a bad message).
 */
async function listening(child: ChildProcess, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

interface Harness {
  bundle: string;
  /** A private copy of the node binary (see evict). */
  node: string;
  gcs: FakeGcsServer;
  env: Record<string, string>;
  roots: { memory: string; cpu: string };
}

/** One function instance in fresh cgroups, one message, its peak; the instance and the cgroups are gone afterwards. */
async function runOnce(h: Harness, source: FactSource, label: string, limitMb: number, vcpu: number, expectOom: boolean, factTableOnly: boolean): Promise<FunctionRun> {
  // Page cache is charged to the cgroup of the process that first reads a page. The machine's
  // /usr/bin/node (~95 MiB, ~40 MiB of it resident in a running function) and the freshly built
  // bundle are already cached by other processes, so the function would get them for free; on Cloud
  // Run the container pays for its own. Evicted here, they are faulted in, and charged, by the function.
  for (const f of [h.node, ...fs.readdirSync(h.bundle).map((n) => path.join(h.bundle, n))]) evict(f);
  const cg = makeCgroups(h.roots, label, limitMb, vcpu);
  const port = await freePort();
  const runId = `bench-fnmem-${label}`;
  let child: ChildProcess | undefined;
  const lines: string[] = [];
  try {
    // The wrapper joins both cgroups, then execs node (same pid): everything the function allocates,
    // from module loading on, is charged to them. renice: the bench itself runs at nice 19, the
    // function at the normal priority it has on Cloud Run (its CPU is capped by the quota anyway).
    const script = `echo $$ > ${cg.memory}/cgroup.procs && echo $$ > ${cg.cpu}/cgroup.procs && renice -n 0 -p $$ >/dev/null && exec "$0" "$@"`;
    child = spawn('sh', ['-c', script, h.node, FRAMEWORK, `--target=${SPEC.entryPoint}`, '--signature-type=http', `--port=${port}`, '--source=.'], {
      cwd: h.bundle,
      env: h.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => lines.push(...d.toString('utf8').split('\n').filter(Boolean)));
    const pid = child.pid!;
    const tStart = performance.now();
    const up = await listening(child, port, 180_000);
    const startS = up ? (performance.now() - tStart) / 1000 : undefined;
    const rssAfterStartMb = up ? (procKb(pid, 'VmRSS') ?? 0) / 1024 : undefined;
    const anonAfterStartMb = up ? (procKb(pid, 'RssAnon') ?? 0) / 1024 : undefined;
    const t0 = performance.now();
    let status: FunctionRun['status'] = 'killed';
    // Peak anonymous memory (the part page-cache reclaim cannot give back), polled while the message runs.
    let anonPeakKb = 0;
    const poll = setInterval(() => (anonPeakKb = Math.max(anonPeakKb, procKb(pid, 'RssAnon') ?? 0)), 100);
    if (up) {
      const message = { runId, municipality: source.ibge, window: WINDOW, trigger: 'daily', ...(factTableOnly ? { tables: [FACT_TABLE] } : {}) };
      // A limit too small for the page cache the function needs makes it thrash rather than die: bounded.
      status = await push(port, `${TOPICS.extractRequests}`, message, expectOom ? 600_000 : 1_800_000).catch(() => 'killed' as const);
    }
    clearInterval(poll);
    const requestS = (performance.now() - t0) / 1000;
    const vmHwmKb = procKb(pid, 'VmHWM');
    const rssNow = { anon: (procKb(pid, 'RssAnon') ?? NaN) / 1024, file: (procKb(pid, 'RssFile') ?? NaN) / 1024 };
    const cpuStat = statOf(path.join(cg.cpu, 'cpu.stat'));
    const usage = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ') : undefined;
    const cpuS = usage ? (Number(usage[11]) + Number(usage[12])) / clockTicks() : undefined; // utime + stime, every thread
    const mstat = statOf(path.join(cg.memory, 'memory.stat'));
    const run: FunctionRun = {
      rows: source.rows,
      limitMb,
      vcpu,
      status,
      oomKills: Number(statOf(path.join(cg.memory, 'memory.oom_control')).oom_kill ?? 0),
      cgroupPeakMb: Number(read(path.join(cg.memory, 'memory.max_usage_in_bytes'))) / MiB,
      failcnt: Number(read(path.join(cg.memory, 'memory.failcnt'))),
      vmHwmMb: vmHwmKb === undefined ? undefined : vmHwmKb / 1024,
      rssAfterStartMb,
      anonAfterStartMb,
      diedAtStart: !up,
      startS,
      rssNowMb: rssNow,
      anonPeakMb: anonPeakKb / 1024,
      statMb: { rss: Number(mstat.total_rss ?? mstat.rss) / MiB, cache: Number(mstat.total_cache ?? mstat.cache) / MiB },
      throttledPeriods: Number(cpuStat.nr_throttled),
      cpuS,
      requestS,
    };
    if (status === 204) Object.assign(run, verify(h.gcs, runId, source));
    else if (!expectOom) log(`the function answered ${status}; its last lines:\n${lines.slice(-20).join('\n')}`);
    return run;
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
    cg.remove();
  }
}

/** The run succeeded as a run: manifest rows = the seeded rows, every part's bytes = its SHA-256 and row count. */
function verify(gcs: FakeGcsServer, runId: string, source: FactSource): Pick<FunctionRun, 'tableSeconds' | 'parts' | 'stagedMb' | 'verified'> {
  const objects = gcs.objects(BUCKET);
  const raw = objects.get(layout.manifest(runId, source.ibge));
  if (!raw) throw new Error(`no manifest ${layout.manifest(runId, source.ibge)} after a 204`);
  const manifest = Manifest.parse(JSON.parse(raw.data.toString('utf8')));
  if (manifest.failedTables.length > 0) throw new Error(`failed tables: ${JSON.stringify(manifest.failedTables)}`);
  const fact = manifest.tables.find((t) => t.table === FACT_TABLE);
  if (!fact || fact.rows !== source.rows || fact.sourceRows !== source.rows)
    throw new Error(`tb_fat_atendimento_individual: manifest rows ${fact?.rows} / source rows ${fact?.sourceRows}, seeded ${source.rows}`);
  let parts = 0;
  let bytes = 0;
  for (const t of manifest.tables) {
    let lines = 0;
    for (const p of t.parts) {
      const o = objects.get(p.key);
      if (!o) throw new Error(`part ${p.key} listed in the manifest is not in the bucket`);
      if (createHash('sha256').update(o.data).digest('hex') !== p.sha256 || o.data.length !== p.bytes) throw new Error(`part ${p.key}: bytes or SHA-256 differ from the manifest`);
      const csv = gunzipSync(o.data);
      for (let i = csv.indexOf(10); i >= 0; i = csv.indexOf(10, i + 1)) lines++;
      parts++;
      bytes += o.data.length;
    }
    // One header line per part; the fact table's CSV has no quoted newlines (synthetic text has none).
    if (t.table === fact.table && lines - t.parts.length !== t.rows) throw new Error(`${t.table}: ${lines - t.parts.length} CSV rows in the parts, manifest says ${t.rows}`);
  }
  // Out of this process's memory before the next size (the fake keeps objects in memory).
  for (const k of [...objects.keys()]) if (k.startsWith(layout.runPrefix(runId))) objects.delete(k);
  return {
    tableSeconds: fact.seconds,
    parts,
    stagedMb: bytes / MiB,
    verified: `manifest: ${manifest.tables.length} tables, none failed; ${fact.table} ${fact.rows.toLocaleString('en-US')} rows = seeded = its parts' CSV rows; ${parts} parts' SHA-256 and sizes match`,
  };
}

export async function functionMemory(o: FunctionMemoryOptions): Promise<number> {
  const roots = cgroupRoots();
  if (typeof roots === 'string') {
    const bar = '!'.repeat(100);
    process.stderr.write(`\n${bar}\n!! SKIPPED: --function-memory needs writable cgroup v1 memory and cpu controllers: ${roots}.\n${bar}\n`);
    return 0;
  }
  const vcpu = 'vcpu' in SPEC ? SPEC.vcpu : 1;
  const started = new Date();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fnmem-'));
  // Inside the repository, so the bundle's external (the functions framework) resolves from its node_modules.
  const bundles = path.join(ROOT, 'dist', `bench-function-memory-${process.pid}`);
  const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(tmp, { recursive: true, force: true }), () => fs.rmSync(bundles, { recursive: true, force: true })];
  const runs: FunctionRun[] = [];
  try {
    log('npm run build:functions (into a folder of its own)…');
    const b = spawnSync('npx', ['tsx', 'scripts/build-functions.ts', '--no-measure', '--out', bundles], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    if (b.status !== 0) throw new Error(`build-functions failed:\n${b.stdout}\n${b.stderr}`);
    const bundle = path.join(bundles, SPEC.name);

    const { server, admin } = await startBenchPostgres(path.join(tmp, 'pg-root'));
    cleanups.unshift(
      () => admin.end(),
      () => server.stop(),
    );
    const [gcs, secrets] = await Promise.all([startFakeGcsServer(), startFakeSecretManager()]);
    cleanups.unshift(
      () => gcs.close(),
      () => secrets.close(),
    );
    secrets.put(PROJECT, KEY_SECRET, randomBytes(32).toString('base64'));
    // Nothing listens on the Pub/Sub endpoint: a daily extract publishes nothing, and if it did the run would fail loudly.
    const deadPort = await freePort();

    const sources: FactSource[] = [];
    for (const rows of o.rows) {
      log(`seeding ${rows.toLocaleString('en-US')} consultations…`);
      sources.push(await seedFactSource(server, admin, rows, Math.max(1000, Math.round(rows / 5))));
      log(`seeded in ${sources.at(-1)!.seedSeconds.toFixed(0)} s`);
    }
    const node = path.join(tmp, 'node');
    fs.copyFileSync(process.execPath, node);
    fs.chmodSync(node, 0o755);
    const h: Harness = { bundle, node, gcs, roots, env: {} };
    for (const source of sources) {
      // The registry the instance ships with: this size's municipality (seedFactSource uses one IBGE code for every size).
      fs.writeFileSync(
        path.join(bundle, FUNCTION_CONFIGS.extract.shape.registryFile.parse(undefined)),
        stringify(
          MunicipalityRegistry.parse({
            municipalities: [
              {
                ibge: source.ibge,
                name: `Bench ${source.rows}`,
                network: 'vpn',
                connection: { host: source.conn.host, port: source.conn.port, database: source.conn.database, user: source.conn.user, password: { env: PASSWORD_ENV } },
              },
            ],
          }),
        ),
      );
      // What the stack sets (SPEC.env, under their ENV names; the rest keep the configuration's defaults, as infra's
      // dev values do), what Cloud Run sets for the framework, and the local endpoints. K_SERVICE is left out: with it the
      // telemetry would export to Google (the exporters' modules are loaded either way).
      h.env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        NODE_ENV: 'production',
        METADATA_SERVER_DETECTION: 'none',
        FUNCTION_TARGET: SPEC.entryPoint,
        FUNCTION_SIGNATURE_TYPE: 'http',
        [ENV.projectId]: PROJECT,
        [ENV.environment]: 'bench',
        [ENV.stagingBucket]: BUCKET,
        [ENV.pseudonymKeySecret]: KEY_SECRET,
        [ENV.topicPrefix]: '',
        [ENDPOINT_ENV.storage]: `${gcs.url}/storage/v1`,
        [ENDPOINT_ENV.secretManager]: secrets.host,
        [ENDPOINT_ENV.pubsub]: `127.0.0.1:${deadPort}`,
        [PASSWORD_ENV]: source.conn.password,
        ...nodeEnvironment('extract'),
      };
      const limitMb = SPEC.memoryMb;
      log(`${source.rows.toLocaleString('en-US')} rows: the function at ${limitMb} MiB / ${vcpu} vCPU…`);
      const r = await runOnce(h, source, `${source.rows}-${limitMb}`, limitMb, vcpu, false, o.factTableOnly);
      runs.push(r);
      log(JSON.stringify(r));
      // Recorded, not thrown: its memory figures still stand, the control still runs, the exit code says it.
      if (r.status !== 204) log(`RUN FAILED: the function answered ${r.status} at ${limitMb} MiB (OOM kills ${r.oomKills}): not a successful run`);
    }
    // The control: the same message at a deliberately small limit must end in the OOM killer.
    const small = sources[0]!;
    log(`control: ${small.rows.toLocaleString('en-US')} rows at ${o.controlMb} MiB…`);
    const c = await runOnce(h, small, `${small.rows}-${o.controlMb}`, o.controlMb, vcpu, true, o.factTableOnly);
    runs.push(c);
    log(JSON.stringify(c));

    const uptime = read('/proc/loadavg').split(' ').slice(0, 3).join(' ');
    const result = { started: started.toISOString(), finished: new Date().toISOString(), node: process.version, cores: os.cpus().length, loadAverageAtEnd: uptime, runs };
    fs.mkdirSync(BUILD_DIR, { recursive: true });
    const saved = path.join(BUILD_DIR, `function-memory-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(saved, JSON.stringify(result, null, 1));
    process.stdout.write(`${render(result)}\n`);
    log(`raw results: ${path.relative(ROOT, saved)}`);
    // Enforced = the function never got more than the limit and could not run within it: OOM-killed, or (what
    // this kernel does while it can still reclaim the node binary's code pages) stalled thrashing at the limit.
    const held = c.cgroupPeakMb <= o.controlMb && c.status !== 204 && (c.oomKills > 0 || c.failcnt > 0);
    if (!held) {
      log(`CONTROL FAILED: at ${o.controlMb} MiB the function was neither OOM-killed nor stalled at the limit (status ${c.status}): the limit is not proven enforced`);
      return 1;
    }
    return runs.every((x) => x === c || x.status === 204) ? 0 : 1;
  } finally {
    for (const f of cleanups) await Promise.resolve(f()).catch((e) => log(`cleanup: ${(e as Error).message}`));
  }
}

const f0 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(0));

function render(r: { started: string; loadAverageAtEnd: string; runs: FunctionRun[] }): string {
  return [
    `function memory, ${r.started.slice(0, 16).replace('T', ' ')} UTC, load average at the end ${r.loadAverageAtEnd}`,
    '| rows | limit MiB | vCPU | answer | OOM kills | cgroup peak MiB (incl. page cache) | failcnt | node VmHWM MiB | node RssAnon peak MiB | RSS (anon) after start MiB | anon / file RSS MiB after | cgroup rss / cache MiB after | start s | CPU s | throttled periods | request s | table rows/s | parts (MiB) |',
    '| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...r.runs.map(
      (x) =>
        `| ${x.rows.toLocaleString('en-US')} | ${x.limitMb} | ${x.vcpu} | ${x.status}${x.diedAtStart ? ' (at start)' : ''} | ${x.oomKills} | ${f0(x.cgroupPeakMb)} | ${x.failcnt} | ${f0(x.vmHwmMb)} | ${f0(x.anonPeakMb)} | ${f0(x.rssAfterStartMb)} (${f0(x.anonAfterStartMb)}) | ${x.rssNowMb ? `${f0(x.rssNowMb.anon)} / ${f0(x.rssNowMb.file)}` : '–'} | ${x.statMb ? `${f0(x.statMb.rss)} / ${f0(x.statMb.cache)}` : '–'} | ${x.startS?.toFixed(1) ?? '–'} | ${x.cpuS?.toFixed(1) ?? '–'} | ${x.throttledPeriods ?? '–'} | ${x.requestS?.toFixed(1) ?? '–'} | ${x.tableSeconds ? f0(x.rows / x.tableSeconds) : '–'} | ${x.parts ?? '–'} (${x.stagedMb?.toFixed(1) ?? '–'}) |`,
    ),
    ...r.runs.filter((x) => x.verified).map((x) => `- ${x.rows.toLocaleString('en-US')} rows: ${x.verified}`),
  ].join('\n');
}
