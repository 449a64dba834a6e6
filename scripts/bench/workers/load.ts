/**
 * Load: the extractor's staged parts of the benchmark table into the local warehouse through the
 * real path (DuckDbWarehouse.replaceSlices: delete the slice, insert from the gzip CSV parts, slice
 * ledger, one transaction), then the same rows restaged as Parquet to compare bytes per row and
 * load speed by format.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { COLUMN_TYPES } from '../../../shared/contracts/tables';
import { readManifest } from '../../../shared/records/bucket-records';
import { DuckDbWarehouse } from '../../../shared/local/duckdb-warehouse';
import { FsObjectStore } from '../../../shared/local/fs-object-store';
import { variantTable, type Variant } from '../lib/variants';
import { config, emit, fail } from './common';

interface Config {
  storeDir: string;
  runId: string;
  ibge: string;
  variant: Variant;
  workDir: string;
}

export interface FormatResult {
  format: string;
  bytes: number;
  /** Seconds to write this format from the staged CSV (not for the staged format itself). */
  writeS?: number;
  /** Seconds for DuckDB to load every row of it into a new table. */
  loadS: number;
}

export interface LoadWorkerResult {
  rows: number;
  parts: number;
  /** The real load path, one slice: seconds and rows/s. */
  replaceS: number;
  formats: FormatResult[];
  /** Peak RSS of this process up to the end of the real load path (before the format restaging, which runs under the larger work limit). */
  loadMaxRssMb: number;
  maxRssMb: number;
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

async function main(): Promise<void> {
  const c = config<Config>();
  const store = new FsObjectStore(c.storeDir);
  const manifest = await readManifest(store, c.runId, c.ibge);
  if (!manifest) throw new Error(`no manifest for ${c.runId}/${c.ibge} under ${c.storeDir}`);
  const t = manifest.tables[0]!;
  const table = variantTable(c.variant);
  fs.mkdirSync(c.workDir, { recursive: true });
  const uris = t.parts.map((p) => store.loadUri(p.key));

  const warehouse = await DuckDbWarehouse.open(path.join(c.workDir, 'warehouse.duckdb'));
  await warehouse.ensureRawTables([table]);
  const t0 = performance.now();
  const [outcome] = await warehouse.replaceSlices(
    [{ table, slices: [{ municipality: manifest.municipality, runId: manifest.runId, extractedAt: t.extractedAt, window: t.window, columns: t.columns, uris, rows: t.rows }] }],
    'bench-load',
  );
  const replaceS = (performance.now() - t0) / 1000;
  const loadMaxRssMb = process.resourceUsage().maxRSS / 1024;
  if (outcome?.status !== 'loaded' || outcome.rowsInserted !== t.rows) throw new Error(`load outcome ${JSON.stringify(outcome)}`);
  warehouse.close();

  // Formats: the same rows as staged CSV.gz, plain CSV, and Parquet (snappy, zstd), each loaded into a new table.
  const db = await DuckDBInstance.create(path.join(c.workDir, 'formats.duckdb'));
  const conn = await db.connect();
  const cols = `{${t.columns.map((col) => `${q(col.name)}: ${q(COLUMN_TYPES[col.type].duckdb)}`).join(', ')}}`;
  const csvOptions = (compression: string) =>
    `header = true, auto_detect = false, columns = ${cols}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, compression = '${compression}'`;
  const readGz = `read_csv([${uris.map(q).join(', ')}], ${csvOptions('gzip')})`;
  const timed = async (sql: string) => {
    const s = performance.now();
    await conn.run(sql);
    return (performance.now() - s) / 1000;
  };
  const formats: FormatResult[] = [];
  formats.push({ format: 'csv.gz (staged parts)', bytes: t.parts.reduce((n, p) => n + p.bytes, 0), loadS: await timed(`CREATE TABLE l_gz AS SELECT * FROM ${readGz}`) });
  const csv = path.join(c.workDir, 'rows.csv');
  const csvWrite = await timed(`COPY l_gz TO ${q(csv)} (FORMAT csv, HEADER true)`);
  formats.push({
    format: 'csv (uncompressed)',
    bytes: fs.statSync(csv).size,
    writeS: csvWrite,
    loadS: await timed(`CREATE TABLE l_csv AS SELECT * FROM read_csv(${q(csv)}, ${csvOptions('none')})`),
  });
  fs.rmSync(csv, { force: true });
  for (const codec of ['snappy', 'zstd']) {
    const file = path.join(c.workDir, `rows-${codec}.parquet`);
    const writeS = await timed(`COPY l_gz TO ${q(file)} (FORMAT parquet, COMPRESSION ${codec})`);
    formats.push({
      format: `parquet (${codec})`,
      bytes: fs.statSync(file).size,
      writeS,
      loadS: await timed(`CREATE TABLE l_pq_${codec} AS SELECT * FROM read_parquet(${q(file)})`),
    });
    fs.rmSync(file, { force: true });
  }
  conn.closeSync();
  db.closeSync();
  emit({ rows: t.rows, parts: t.parts.length, replaceS, formats, loadMaxRssMb, maxRssMb: process.resourceUsage().maxRSS / 1024 } satisfies LoadWorkerResult);
}

main().catch(fail);
