/**
 * Cost of a fan-in load by number of slices: M municipalities × T tables of R rows each, loaded
 * by DuckDbWarehouse.replaceSlices in one call (the shape of the daily fan-in load). Prints seconds
 * and seconds per slice, to show the load costs per row rather than per slice (docs/load.md).
 *
 *   npx tsx scripts/measure-load-slices.ts [municipalities=100] [tables=24] [rows=20] [dir=/tmp/load-slices]
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { INGESTION_COLUMNS, landedColumns, TableDef } from '../shared/contracts/tables';
import { ibgeCheckDigit } from '../shared/contracts/ibge';
import { DuckDbWarehouse } from '../shared/local/duckdb-warehouse';
import type { SliceLoad } from '../shared/ports';

async function main(): Promise<void> {
  const [m = 100, t = 24, r = 20] = process.argv.slice(2, 5).map(Number);
  const dir = process.argv[5] ?? '/tmp/load-slices';
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tables = Array.from({ length: t }, (_, i) =>
    TableDef.parse({
      name: `tb_fat_m${i}`,
      description: 'measurement table',
      primaryKey: ['co_seq'],
      municipality: { kind: 'installation' },
      mode: { kind: 'window', column: 'co_dim_tempo', keyFormat: 'yyyymmdd' },
      columns: [
        { name: 'co_seq', type: 'bigint' },
        { name: 'co_dim_tempo', type: 'bigint' },
        { name: 'qt_valor', type: 'bigint' },
        { name: 'ds_nota', type: 'text' },
      ],
    }),
  );
  const ibges = Array.from({ length: m }, (_, i) => {
    const six = String(350000 + i);
    return `${six}${ibgeCheckDigit(six)}`;
  });
  const loads = tables.map((table) => {
    const columns = [...landedColumns(table), ...INGESTION_COLUMNS].map((c) => ({ name: c.name, type: c.type }));
    const slices = ibges.map((ibge): SliceLoad => {
      const file = path.join(dir, 'bucket', table.name, `${ibge}.csv.gz`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const lines = [columns.map((c) => c.name).join(',')];
      for (let k = 0; k < r; k++) lines.push(`${k},${20261101 + (k % 28)},${k},nota ${k},${ibge},measure-1,2026-11-22 09:00:00`);
      fs.writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
      return { municipality: ibge, runId: 'measure-1', extractedAt: '2026-11-22T09:00:00Z', window: { start: '2026-11-01', end: '2026-12-01' }, columns, uris: [file], rows: r };
    });
    return { table, slices };
  });
  const w = await DuckDbWarehouse.open(path.join(dir, 'w.duckdb'));
  await w.ensureRawTables(tables);
  const t0 = performance.now();
  const outcomes = await w.replaceSlices(loads, 'measure-slices');
  const s = (performance.now() - t0) / 1000;
  w.close();
  const loaded = outcomes.filter((o) => o.status === 'loaded').length;
  console.log(
    JSON.stringify({
      municipalities: m,
      tables: t,
      rowsPerSlice: r,
      slices: outcomes.length,
      loaded,
      seconds: Number(s.toFixed(2)),
      msPerSlice: Number(((s * 1000) / outcomes.length).toFixed(2)),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
