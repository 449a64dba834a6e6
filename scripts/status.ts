/**
 * npm run status [-- --json] [-- --data-dir DIR]
 *
 * The latest state of every municipality from the run ledger (ops.municipality_runs, ops.runs,
 * ops.reconciliation, ops.alerts in the local warehouse): which run touched it last, how that ended,
 * the PEC version, how fresh its source DW was, when it was last loaded, reconciliation mismatches
 * and the last error. Read-only: it can run next to `npm run query`, not during `npm start`.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { latestMunicipalityStates } from '../shared/ledger/duckdb-ledger';
import { DuckDbWarehouse } from '../shared/local/duckdb-warehouse';
import { localPaths } from '../shared/local/runtime';
import { formatTable } from './lib/format';
import { parseFlags } from './lib/local-session';

const Args = z.strictObject({ json: z.boolean().default(false), dataDir: z.string().min(1).default('.local') });

async function main(): Promise<number> {
  const args = parseFlags(process.argv.slice(2), Args, ['json']);
  const file = localPaths(args.dataDir).warehouse;
  if (!fs.existsSync(file)) {
    console.log(`no runs yet (no warehouse at ${file}): run \`npm start\` first`);
    return 0;
  }
  let w: DuckDbWarehouse;
  try {
    w = await DuckDbWarehouse.open(file, { readOnly: true });
  } catch (err) {
    console.error(/lock/i.test((err as Error).message) ? `${file} is in use (npm start, rerun or backfill is running): try again when it ends` : (err as Error).message);
    return 1;
  }
  try {
    const tables = await w.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'municipality_runs'`);
    if (tables.length === 0) {
      console.log('no run ledger yet: run `npm start` first');
      return 0;
    }
    const states = await latestMunicipalityStates(w);
    const [run] = await w.query(
      `SELECT run_id, trigger, status, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started_at, municipalities_planned AS planned,
              municipalities_loaded AS loaded, municipalities_failed AS failed, municipalities_late AS late, alerts
       FROM ops.runs WHERE trigger = 'daily' ORDER BY started_at DESC LIMIT 1`,
    );
    const alerts = run ? await w.query(`SELECT severity, rule, message FROM ops.alerts WHERE run_id = $1 ORDER BY rule, municipality`, [String(run.run_id)]) : [];
    if (args.json) {
      process.stdout.write(JSON.stringify({ latestDailyRun: run ?? null, municipalities: states, alerts }) + '\n');
      return 0;
    }
    if (run)
      console.log(
        `latest daily run ${String(run.run_id)} (started ${String(run.started_at)} UTC): ${String(run.status)} — ${String(run.loaded)}/${String(run.planned)} loaded, ${String(run.failed)} failed, ${String(run.late)} late, ${String(run.alerts)} alert(s)\n`,
      );
    console.log(states.length ? formatTable(states) : 'no municipality has run yet');
    if (alerts.length) console.log(`\nalerts of ${String(run!.run_id)}:\n${alerts.map((a) => `  ${String(a.severity).padEnd(5)} ${String(a.rule)}: ${String(a.message)}`).join('\n')}`);
    return 0;
  } finally {
    w.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`npm run status failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
