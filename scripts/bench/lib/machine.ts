import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpuModel: string;
  cores: number;
  memory: string;
  os: string;
  node: string;
  psql?: string;
  gzip?: string;
  gnuTime: boolean;
  loadAverage: string;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : undefined;
}

/** What the results were measured on: `nproc`, `free -h`, the CPU model, versions, load. */
export function describeMachine(tools: { psql?: string; gzip?: string; timeBin?: string }): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux
  }
  const free = spawnSync('free', ['-h'], { encoding: 'utf8' });
  const memLine = free.status === 0 ? free.stdout.split('\n').find((l) => l.startsWith('Mem:')) : undefined;
  const memory = memLine ? `${memLine.trim().split(/\s+/)[1]} total (free -h)` : `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return {
    cpuModel,
    cores: Number(firstLine('nproc', [])) || os.availableParallelism(),
    memory,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    psql: tools.psql ? firstLine(tools.psql, ['--version']) : undefined,
    gzip: tools.gzip ? firstLine(tools.gzip, ['--version']) : undefined,
    gnuTime: !!tools.timeBin,
    loadAverage: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}
