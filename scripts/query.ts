/**
 * npm run query -- [--json] [--data-dir DIR] "<sql>"
 *
 * One statement on the local warehouse (DuckDB), read-only: a table, or with --json one JSON object
 * per row with numbers as JSON numbers. While a run holds the warehouse it says who (exit code 3).
 */
import { EXIT, runCommand } from './lib/cli';
import { QUERY } from './lib/commands';
import { formatTable } from './lib/format';
import { NoWarehouseError, openWarehouseForReading, type ReadOnlyWarehouse } from './lib/read-warehouse';

runCommand(QUERY, async (args) => {
  let w: ReadOnlyWarehouse;
  try {
    w = await openWarehouseForReading(args.dataDir);
  } catch (err) {
    if (!(err instanceof NoWarehouseError)) throw err;
    console.error(err.message);
    return EXIT.failed;
  }
  try {
    const rows = await w.query(args.positional);
    if (args.json) process.stdout.write(rows.map((r) => JSON.stringify(r) + '\n').join(''));
    else process.stdout.write(formatTable(rows) + `\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
    return EXIT.ok;
  } catch (err) {
    console.error(`query failed: ${(err as Error).message}`);
    return EXIT.failed;
  } finally {
    w.close();
  }
});
