import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { EXIT } from '../../scripts/lib/cli';
import { testServerUrl } from '../support/pg';

/**
 * Exit codes that tell the truth (issue 10 item 6): `npm run rerun` and `backfill`, run as processes
 * against a registry whose source refuses the credentials, must exit 1 and say which municipality
 * ended in which state and class — not 0 because the message was "handled".
 */
const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
let dir: string;

function script(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { GOOGLE_CLOUD_PROJECT: _p, TOPIC_PREFIX: _t, ...env } = process.env;
    const p = spawn(tsx, [path.join(root, 'scripts', `${name}.ts`), ...args], { cwd: dir, env: { ...env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-exit-'));
  const server = new URL(testServerUrl());
  fs.writeFileSync(path.join(dir, 'wrong-password'), 'not-the-password');
  fs.writeFileSync(
    path.join(dir, 'registry.yaml'),
    [
      'municipalities:',
      '  - ibge: "3509502"',
      '    name: Campinas',
      // vpn: the only network path allowed without TLS, which the test server does not speak.
      '    network: vpn',
      '    vpn: { peerIps: ["203.0.113.10"], peerAsn: 65010 }',
      `    connection: { host: ${server.hostname}, port: ${server.port}, database: postgres, user: no_such_reader, sslmode: disable, password: { file: ${path.join(dir, 'wrong-password')} } }`,
      '',
    ].join('\n'),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('rerun and backfill exit non-zero when a municipality does not end loaded', () => {
  it('rerun: exit 1, naming the municipality, its state and class', async () => {
    const r = await script('rerun', ['--municipality', '3509502', '--registry', 'registry.yaml', '--data-dir', 'state']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.failed, stderr: expect.not.stringMatching(/^\s+at /m) as unknown as string });
    expect(r.stdout).toMatch(/NOT DONE:\n {2}3509502 Campinas in rerun-\S+: failed \(source_auth\)/);
    expect(r.stdout).not.toContain('not-the-password');
    expect(fs.existsSync(path.join(dir, 'state', 'run.lock'))).toBe(false);
  }, 180_000);

  it('backfill: exit 1, naming every month that did not load', async () => {
    const r = await script('backfill', ['--municipality', '3509502', '--from', '2026-01', '--to', '2026-02', '--registry', 'registry.yaml', '--data-dir', 'state']);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stdout).toContain('NOT DONE (2 of 2 month(s) or marts)');
    expect(r.stdout).toMatch(/3509502 Campinas in backfill-3509502-202601: failed \(source_auth\)/);
    expect(r.stdout).toMatch(/3509502 Campinas in backfill-3509502-202602: failed \(source_auth\)/);
  }, 180_000);

  it('a window the contract refuses is a command-line mistake: exit 2, nothing started', async () => {
    const r = await script('backfill', ['--municipality', '3509502', '--from', '2026-05', '--to', '2026-02', '--data-dir', 'untouched']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/invalid backfill/);
    expect(fs.existsSync(path.join(dir, 'untouched'))).toBe(false);
  }, 60_000);
});
