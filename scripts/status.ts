/**
 * npm run status [-- --json] [-- --data-dir DIR]
 *
 * The latest state of every municipality from the run ledger (ops.municipality_runs, ops.runs,
 * ops.reconciliation, ops.alerts in the local warehouse): which run touched it last, how that ended,
 * the PEC version, how fresh its source DW was, when it was last loaded, reconciliation mismatches
 * and the last error. Read-only; while a run holds the warehouse it says who (exit code 3).
 */
import { latestMunicipalityStates } from '../shared/ledger/duckdb-ledger';
import { EXIT, runCommand } from './lib/cli';
import { STATUS } from './lib/commands';
import { formatTable } from './lib/format';
import { currentHolder, describeHolder } from './lib/run-lock';
import { localPaths } from '../shared/local/runtime';
import { NoWarehouseError, openWarehouseForReading, type ReadOnlyWarehouse } from './lib/read-warehouse';

runCommand(STATUS, async (args) => {
  let w: ReadOnlyWarehouse;
  try {
    w = await openWarehouseForReading(args.dataDir);
  } catch (err) {
    if (!(err instanceof NoWarehouseError)) throw err;
    const running = currentHolder(localPaths(args.dataDir).root);
    if (args.json) process.stdout.write(JSON.stringify({ latestDailyRun: null, municipalities: [], alerts: [] }) + '\n');
    else console.log(running ? `no runs yet: ${describeHolder(running)} is running the first one now` : `no runs yet (${err.message})`);
    return EXIT.ok;
  }
  try {
    const tables = await w.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'municipality_runs'`);
    if (tables.length === 0) {
      if (args.json) process.stdout.write(JSON.stringify({ latestDailyRun: null, municipalities: [], alerts: [] }) + '\n');
      else console.log('no run ledger yet: run `npm start` first');
      return EXIT.ok;
    }
    const states = await latestMunicipalityStates(w);
    const [run] = await w.query(
      `SELECT run_id, trigger, status, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started_at, municipalities_planned AS planned,
              municipalities_loaded AS loaded, municipalities_failed AS failed, municipalities_late AS late, alerts
       FROM ops.runs WHERE trigger = 'daily' ORDER BY started_at DESC LIMIT 1`,
    );
    const alerts = run ? await w.query(`SELECT severity, rule, municipality, message FROM ops.alerts WHERE run_id = $1 ORDER BY rule, municipality`, [String(run.run_id)]) : [];
    if (args.json) {
      process.stdout.write(JSON.stringify({ latestDailyRun: run ?? null, municipalities: states, alerts }) + '\n');
      return EXIT.ok;
    }
    if (run)
      console.log(
        `latest daily run ${String(run.run_id)} (started ${String(run.started_at)} UTC): ${String(run.status)} — ${String(run.loaded)}/${String(run.planned)} loaded, ${String(run.failed)} failed, ${String(run.late)} late, ${String(run.alerts)} alert(s)\n`,
      );
    // Anything but loaded in capitals: a failed municipality must not look like a loaded one.
    const shown = states.map((s) => ({ ...s, status: String(s.status).replace(/^(?!loaded$).*/, (x) => x.toUpperCase()) }));
    console.log(states.length ? formatTable(shown) : 'no municipality has run yet');
    if (alerts.length)
      console.log(`\nalerts of ${String(run!.run_id)}:\n${alerts.map((a) => `  ${String(a.severity).padEnd(5)} ${String(a.rule)}: ${String(a.message)}`).join('\n')}`);
    return EXIT.ok;
  } finally {
    w.close();
  }
});
