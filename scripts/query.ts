/**
 * npm run query -- "<sql>"          prints a table
 * npm run query -- --json "<sql>"   prints one JSON object per row
 * Reads the local warehouse (DuckDB) read-only, so it can run while nothing else writes to it.
 */
import fs from 'node:fs';
import { DuckDbWarehouse } from '../shared/local/duckdb-warehouse';
import { localPaths } from '../shared/local/runtime';
import { formatTable } from './lib/format';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const warehouseArg = args.indexOf('--warehouse');
  const file = warehouseArg >= 0 ? args[warehouseArg + 1]! : process.env.PIPELINE_WAREHOUSE ?? localPaths('.local').warehouse;
  // Without --warehouse (index -1) no argument is its value: index 0 is the SQL, not a path.
  const sql = args.filter((a, i) => a !== '--json' && (warehouseArg < 0 || (i !== warehouseArg && i !== warehouseArg + 1))).join(' ').trim();
  if (!sql) {
    console.error('usage: npm run query -- [--json] "<sql>"   e.g. npm run query -- "select count(*) from raw.tb_fat_atendimento_individual"');
    return 2;
  }
  if (!fs.existsSync(file)) {
    console.error(`no warehouse at ${file}: run \`npm start\` first`);
    return 1;
  }
  const w = await DuckDbWarehouse.open(file, { readOnly: true });
  try {
    const rows = await w.query(sql);
    if (json) for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(formatTable(rows) + `\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
    return 0;
  } catch (err) {
    console.error(`query failed: ${(err as Error).message}`);
    return 1;
  } finally {
    w.close();
  }
}

main().then((code) => process.exit(code));
