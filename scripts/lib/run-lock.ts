import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandError, EXIT } from './cli';

/**
 * One run at a time per data dir. `npm start`, `rerun` and `backfill` take `<data dir>/run.lock`
 * before they start anything or delete anything (`--reset`): a second one on the same data dir would
 * otherwise stop the first one's PostgreSQL or delete its state under it. The lock says who holds it,
 * so the second command can say so and leave everything as it is. A lock whose process is gone (a
 * crash, SIGKILL) is stale and taken over.
 */

export const LOCK_FILE = 'run.lock';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface RunLock {
  file: string;
  holder: LockHolder;
  release(): void;
}

/** Is `pid` a live process on this host? EPERM means it exists but is someone else's. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Held by a live process (on this host; a lock from another host is trusted as held). */
function isLive(h: LockHolder | undefined): h is LockHolder {
  return !!h && (h.host !== os.hostname() || alive(h.pid));
}

export function describeHolder(h: LockHolder): string {
  return `\`${h.command}\` (pid ${h.pid}${h.host !== os.hostname() ? ` on ${h.host}` : ''}, since ${h.since.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')})`;
}

/** Who holds the data dir's run lock now, if anyone live does. */
export function currentHolder(dataDir: string): LockHolder | undefined {
  const h = readHolder(path.join(dataDir, LOCK_FILE));
  return isLive(h) ? h : undefined;
}

/**
 * Takes the data dir's run lock or throws a CommandError (exit code 3) naming the holder. The file is
 * created atomically (link of a complete temporary file), so a reader never sees half a lock.
 */
export function acquireRunLock(dataDir: string, command: string): RunLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(holder) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const other = readHolder(file);
      if (isLive(other) || attempt > 0) {
        throw new CommandError(
          `${dataDir} is in use by ${other ? describeHolder(other) : 'another command'}: nothing was changed. Wait for it to end, or use another --data-dir.`,
          EXIT.busy,
        );
      }
      // Stale: move it aside (atomic) and check that what we moved is the stale lock we read, not a
      // lock another process took over in between; if it is not, put it back and give up.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readHolder(aside);
      if (isLive(moved)) {
        try {
          fs.linkSync(aside, file);
        } catch {
          /* the lock was taken again meanwhile: the next attempt reports its holder */
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      if (other) console.log(`taking over a stale run lock of ${describeHolder(other)}: that process is gone`);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only remove our own lock (after a takeover by someone else it is not ours any more).
    if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, holder, release };
}
