import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PasswordSource } from '../contracts/municipalities';
import { TerminalError } from '../errors';
import type { Secrets } from '../ports';

/**
 * Local secrets: environment variables, files, and a directory standing in for Secret Manager
 * (one file per secret id). The pseudonymisation key is created there on first use, so a local
 * warehouse keeps stable pseudonyms across runs; in the cloud it only ever comes from Secret Manager.
 */
export class LocalSecrets implements Secrets {
  private key: Buffer | undefined;

  constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async resolve(source: PasswordSource): Promise<string> {
    if ('env' in source) {
      const v = this.env[source.env];
      if (v === undefined) throw new TerminalError(`password environment variable ${source.env} is not set`, 'config');
      return v;
    }
    const file = 'file' in source ? source.file : path.join(this.dir, source.secret);
    try {
      return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new TerminalError(`password ${'file' in source ? `file ${source.file}` : `secret ${source.secret}`} cannot be read`, 'config');
    }
  }

  async pseudonymKey(): Promise<Buffer> {
    if (this.key) return this.key;
    const file = path.join(this.dir, 'pseudonym-key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    this.key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    return this.key;
  }

  /** Write a local secret (seeding the embedded sources' passwords). */
  put(id: string, value: string): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.dir, id), value, { mode: 0o600 });
  }
}
