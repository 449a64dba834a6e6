/**
 * Where the extractor's CPU goes, measured in one process on PostgreSQL's own CSV for the
 * benchmark query (the psql contender's output, gunzipped into memory and cut into 64 KiB chunks as
 * pg-copy-streams delivers them): row splitting, hashed-field handling, pseudonymisation, gzip.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';
import { CsvRowTransform, type RowChunk } from '../../../shared/extract/csv-rows';
import { Pseudonymizer, type PseudonymWriter } from '../../../shared/extract/pseudonymizer';
import { config, emit, fail } from './common';

interface Config {
  csvGz: string;
  hashedFields: number;
  keyHex: string;
}

export interface MicroStep {
  step: string;
  /** Main-thread seconds (or thread-pool seconds for gzip) and the unit's cost. */
  cpuS: number;
  wallS: number;
  perUnitUs: number;
  unit: 'row' | 'value' | 'MB';
  units: number;
}

export interface MicroResult {
  rows: number;
  csvBytes: number;
  values: number;
  distinctValues: number;
  steps: MicroStep[];
}

function cpu(): number {
  const r = process.resourceUsage();
  return (r.userCPUTime + r.systemCPUTime) / 1e6;
}

async function measure(step: string, unit: MicroStep['unit'], units: number, work: () => Promise<void> | void): Promise<MicroStep> {
  if (global.gc) global.gc();
  const c0 = cpu();
  const t0 = performance.now();
  await work();
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = cpu() - c0;
  return { step, unit, units, cpuS, wallS, perUnitUs: (cpuS / units) * 1e6 };
}

async function transform(chunks: Buffer[], k: number, pseudonym: PseudonymWriter | ((v: string) => string), keep?: Buffer[]): Promise<number> {
  let rows = 0;
  await pipeline(
    Readable.from(chunks),
    new CsvRowTransform(k, pseudonym),
    new Writable({
      objectMode: true,
      write(c: RowChunk, _e, cb) {
        rows += c.rows;
        keep?.push(c.data);
        cb();
      },
    }),
  );
  return rows;
}

async function main(): Promise<void> {
  const c = config<Config>();
  const data = gunzipSync(fs.readFileSync(c.csvGz));
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 65536) chunks.push(data.subarray(i, i + 65536));
  const key = Buffer.from(c.keyHex, 'hex');
  const values: string[] = [];
  const rows = await transform(chunks, c.hashedFields, (v) => {
    values.push(v);
    return v;
  });
  const distinct = new Set(values.map((v) => v.trim())).size;
  const steps: MicroStep[] = [];
  steps.push(await measure('split rows only (no hashed columns)', 'row', rows, () => transform(chunks, 0, (v) => v).then(() => {})));
  steps.push(await measure(`split rows + read/rewrite ${c.hashedFields} leading fields (identity)`, 'row', rows, () => transform(chunks, c.hashedFields, (v) => v).then(() => {})));
  const staged: Buffer[] = [];
  const p = new Pseudonymizer(key);
  steps.push(
    await measure(`split rows + pseudonymise ${c.hashedFields} fields (the extractor's transform)`, 'row', rows, () => transform(chunks, c.hashedFields, p, staged).then(() => {})),
  );
  const fresh = new Pseudonymizer(key);
  steps.push(
    await measure('Pseudonymizer.pseudonym alone (cache as shipped)', 'value', values.length, () => {
      for (const v of values) fresh.pseudonym(v);
    }),
  );
  // 1 M distinct 15-digit values (flat strings like the CSV's): every call misses the cache and hashes.
  const sample = Array.from({ length: 1_000_000 }, (_, i) => String(100_000_000_000_000 + i));
  const missing = new Pseudonymizer(key);
  steps.push(
    await measure('Pseudonymizer.pseudonym, every value new (hash + cache insert)', 'value', sample.length, () => {
      for (const v of sample) missing.pseudonym(v);
    }),
  );
  steps.push(
    await measure('crypto.createHmac per value (reference)', 'value', sample.length, () => {
      for (const v of sample) createHmac('sha256', key).update(v.trim(), 'utf8').digest('hex');
    }),
  );
  const stagedBytes = staged.reduce((n, b) => n + b.length, 0);
  steps.push(
    await measure('gzip level 1 of the staged CSV (node:zlib, thread pool)', 'MB', stagedBytes / 1e6, () =>
      pipeline(Readable.from(staged), createGzip({ level: 1 }), new Writable({ write: (_c, _e, cb) => cb() })),
    ),
  );
  emit({ rows, csvBytes: data.length, values: values.length, distinctValues: distinct, steps } satisfies MicroResult);
}

main().catch(fail);
