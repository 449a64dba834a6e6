import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * The real processes of the emulator tier: Google's Pub/Sub emulator (started by the Google Cloud
 * CLI, a Java server) and one `npx functions-framework` per function bundle. Each runs in its own
 * process group, on loopback, with a bounded start-up wait, and is stopped by its group id.
 */

export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Why this tier cannot run here, or undefined when gcloud, its Pub/Sub emulator and Java are present. */
export function missingTools(): string | undefined {
  if (spawnSync('gcloud', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status !== 0) return 'the Google Cloud CLI (gcloud) is not installed';
  if (spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 30_000 }).status !== 0) return 'Java (needed by the Pub/Sub emulator) is not installed';
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface Proc {
  name: string;
  /** Output lines so far (stdout and stderr), newest last, at most 5,000. */
  lines: string[];
  stop(): Promise<void>;
  exited(): boolean;
}

function startProc(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Proc {
  // Its own process group: stopping it also stops what it started (gcloud's Java server, npx's node).
  const child: ChildProcess = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let exited = false;
  child.on('exit', () => (exited = true));
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (d: Buffer) => {
      const parts = (rest + d.toString('utf8')).split('\n');
      rest = parts.pop()!;
      lines.push(...parts.filter(Boolean));
      if (lines.length > 5_000) lines.splice(0, lines.length - 5_000);
    });
  }
  return {
    name,
    lines,
    exited: () => exited,
    async stop() {
      if (exited || child.pid === undefined) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          /* already gone */
        }
      };
      signal('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3_000).unref())]);
      if (!exited) {
        signal('SIGKILL');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3_000).unref())]);
      }
      child.stdout!.destroy();
      child.stderr!.destroy();
    },
  };
}

async function waitFor(proc: Proc, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exited()) throw new Error(`${proc.name} exited during start-up:\n${proc.lines.slice(-30).join('\n')}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s:\n${proc.lines.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Emulator extends Proc {
  host: string;
  port: number;
}

/** `gcloud beta emulators pubsub start` on a free loopback port with a throw-away data directory. */
export async function startPubSubEmulator(timeoutMs = 90_000): Promise<Emulator> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pubsub-emulator-'));
  const proc = startProc('Pub/Sub emulator', 'gcloud', ['beta', 'emulators', 'pubsub', 'start', `--host-port=127.0.0.1:${port}`, `--data-dir=${dataDir}`, '--quiet'], {
    cwd: dataDir,
    env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  });
  await waitFor(
    proc,
    async () => {
      try {
        return (await (await fetch(`http://127.0.0.1:${port}/`)).text()).includes('Ok');
      } catch {
        return false;
      }
    },
    timeoutMs,
  );
  const stop = proc.stop;
  return {
    ...proc,
    host: `127.0.0.1:${port}`,
    port,
    async stop() {
      await stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FunctionServer extends Proc {
  url: string;
}

/**
 * `npx functions-framework --target=<entryPoint>` in the bundle's folder, as Cloud Run functions
 * start it: the bundle's package.json names index.js, the registry file is next to it, and the
 * framework itself comes from node_modules (npx finds the repository's by walking up from the
 * bundle folder, which is why the bundles are built inside the repository; --no refuses a download).
 */
export async function serveFunction(bundleDir: string, entryPoint: string, env: Record<string, string>, timeoutMs = 60_000): Promise<FunctionServer> {
  const port = await freePort();
  const proc = startProc(`function ${entryPoint}`, 'npx', ['--no', '--', 'functions-framework', `--target=${entryPoint}`, `--port=${port}`, '--source=.'], {
    cwd: bundleDir,
    // Only what Cloud Run would set plus the test's endpoints: nothing of the test's own environment leaks in.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', METADATA_SERVER_DETECTION: 'none', npm_config_update_notifier: 'false', ...env },
  });
  await waitFor(proc, () => listening(port), timeoutMs);
  return { ...proc, url: `http://127.0.0.1:${port}` };
}
