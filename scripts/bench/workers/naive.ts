/**
 * Contender "naive": what a quick function would do. One `pg` query (the whole result arrives as
 * JavaScript objects), then one JSON line per row into a file; personal-data columns hashed with
 * `createHmac` per value (`Pseudonymizer.reference`: no cache, no hand-made HMAC) so it honours the same
 * policy and pseudonym format as the extractor.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import { finished } from 'node:stream/promises';
import { Client } from 'pg';
import { Pseudonymizer } from '../../../shared/extract/pseudonymizer';
import { SESSION_OPTIONS, type PgConn } from '../lib/psql';
import { config, emit, fail, startPhase } from './common';

interface Config {
  conn: PgConn;
  select: string;
  outFile: string;
  hashColumns: string[];
  keyHex: string;
}

export interface NaiveWorkerResult {
  rows: number;
  bytes: number;
  measure: ReturnType<ReturnType<typeof startPhase>>;
}

async function main(): Promise<void> {
  const c = config<Config>();
  const key = Buffer.from(c.keyHex, 'hex');
  const client = new Client({ ...c.conn, options: SESSION_OPTIONS, application_name: 'bench-naive' });
  await client.connect();
  const phase = startPhase();
  const { rows } = await client.query<Record<string, unknown>>(c.select);
  const out = fs.createWriteStream(c.outFile);
  for (const row of rows) {
    for (const col of c.hashColumns) {
      const v = row[col];
      if (typeof v === 'string' && v !== '') row[col] = Pseudonymizer.reference(key, v);
    }
    if (!out.write(`${JSON.stringify(row)}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
  const measure = phase();
  await client.end();
  emit({ rows: rows.length, bytes: fs.statSync(c.outFile).size, measure } satisfies NaiveWorkerResult);
}

main().catch(fail);
