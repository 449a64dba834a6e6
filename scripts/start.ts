/**
 * npm start — the daily run on this machine: the same DAG the cloud deploys (shared/dag/daily.ts),
 * through the same handlers, ending with the marts rebuilt and the run ledger written.
 *
 *   npm start                           embedded PostgreSQL with synthetic PECs (seeded on first run)
 *   npm start -- --reset                start over: new sources, empty bucket and warehouse
 *   npm start -- --registry FILE        your own PEC databases (see README "Municipality registry")
 *   npm start -- --date 2026-11-22      the day the run is for (default: today in São Paulo)
 *   npm start -- --citizens 20000       size of each synthetic municipality (first seeding only)
 *   npm start -- --deadline-minutes 5   extraction deadline (default: the DAG's, 180)
 */
import { z } from 'zod';
import { IsoDate } from '../shared/contracts/identifiers';
import { DAILY_DAG } from '../shared/dag/daily';
import { saoPauloDate } from '../shared/run/plan-run';
import { MARTS } from '../shared/marts/marts';
import { formatTable } from './lib/format';
import { formatAlerts, openLocalSession, parseFlags, SESSION_FLAGS } from './lib/local-session';

const Args = z.strictObject({
  reset: z.boolean().default(false),
  ...SESSION_FLAGS,
  date: IsoDate.optional(),
  deadlineMinutes: z.coerce.number().positive().max(24 * 60).optional(),
  staleAfterHours: z.coerce.number().positive().max(24 * 30).optional(),
});

async function main(): Promise<number> {
  const args = parseFlags(process.argv.slice(2), Args, ['reset']);
  const runDate = args.date ?? saoPauloDate(new Date());
  const session = await openLocalSession({
    dataDir: args.dataDir,
    registry: args.registry,
    citizens: args.citizens,
    runDate,
    reset: args.reset,
    timing: args.deadlineMinutes ? { deadlineMs: args.deadlineMinutes * 60_000 } : undefined,
    staleSourceHours: args.staleAfterHours,
  });
  const { pipeline, progress, names, paths } = session;
  const t0 = Date.now();
  // Ctrl-C: the ledger records the run as interrupted before the process exits (twice: at once).
  const runId = `daily-${runDate.replaceAll('-', '')}`;
  let stopping = 0;
  process.on('SIGINT', () => {
    // tsx relays the terminal's Ctrl-C to this process a second time: only a later one quits at once.
    if (stopping) return void (Date.now() - stopping > 2_000 && process.exit(130));
    stopping = Date.now();
    console.log('\ninterrupted: recording the run in the ledger (Ctrl-C again to quit at once)…');
    void pipeline
      .recordInterrupted(runId)
      .then(
        (ok) => console.log(ok ? `run ${runId} recorded as interrupted (ops.runs; npm run status)` : 'the run had not started: nothing recorded'),
        (err) => console.error(`could not record the interruption: ${(err as Error).message}`),
      )
      .finally(() => session.close().finally(() => process.exit(130)));
  });
  try {
    console.log(`\nrun for ${runDate}: ${session.registry.municipalities.filter((m) => m.enabled).length} municipalities (DAG ${DAILY_DAG.steps.map((s) => s.id).join(' → ')})`);
    const run = await pipeline.runOnce({ runDate });
    const dag = run.dag;
    console.log(`\nrun ${run.runId} finished in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    // The summary comes from the ledger the report just wrote: the same rows `npm run status` shows.
    const ledger = new Map(
      (await pipeline.warehouse.query(`SELECT * FROM ops.municipality_runs WHERE run_id = $1`, [run.runId])).map((r) => [String(r.municipality), r]),
    );
    const table = run.planned.map((ibge) => {
      const r = ledger.get(ibge);
      const live = progress.rows.get(ibge);
      return {
        municipality: ibge,
        name: names.get(ibge) ?? '',
        rows: Number(r?.rows ?? 0),
        'MB staged': (Number(r?.bytes ?? 0) / 1e6).toFixed(2),
        seconds: Number(r?.seconds ?? 0).toFixed(1),
        status: `${String(r?.status ?? 'unknown')}${r?.error_class ? ` (${String(r.error_class)})` : live?.detail ? ` (${live.detail})` : ''}`,
      };
    });
    console.log(formatTable(table));

    const summary = dag.report?.runs.find((r) => r.runId === run.runId);
    console.log(
      `\nrun report: ${summary?.status ?? 'not written'} — ${dag.planned.length} planned, ${dag.done.length} extracted, ` +
        `${dag.failed.length} failed, ${dag.late.length} late, ${dag.skipped.length} skipped${dag.loadTimedOut ? ', load timed out' : ''}; ledger in ops.runs, ops.municipality_runs, ops.reconciliation`,
    );
    const recon = await pipeline.warehouse.query(
      `SELECT count(*)::INTEGER AS slices, count(*) FILTER (WHERE status = 'match')::INTEGER AS matching FROM ops.reconciliation WHERE run_id = $1`,
      [run.runId],
    );
    console.log(`reconciliation: ${recon[0]?.matching ?? 0} of ${recon[0]?.slices ?? 0} slices match their source row counts`);
    const marts = [];
    for (const m of MARTS) {
      const [r] = await pipeline.warehouse.query(`SELECT count(*)::INTEGER AS n, max(quadrimestre) AS latest FROM marts.${m.name}`);
      marts.push(`marts.${m.name} ${r?.n ?? 0} rows${r?.latest ? ` (latest ${r.latest})` : ''}${dag.martsFailed.includes(m.name) ? ' — REFRESH FAILED' : ''}`);
    }
    console.log(`marts: ${marts.join(', ')}`);
    console.log(formatAlerts(session.alerts));

    const dead = pipeline.bus.deadLetters.length;
    if (dead > 0) console.log(`\n${dead} message(s) dead-lettered: see ${session.logFile}`);
    console.log(`\nwarehouse: ${paths.warehouse}`);
    console.log(`bucket:    ${paths.bucket}`);
    console.log(`log:       ${session.logFile}`);
    console.log('\nnext:');
    console.log('  npm run status                                         latest state per municipality (the ledger)');
    console.log('  npm run query -- "select * from marts.hypertension_follow_up order by 1, 3, 5"');
    console.log(`  npm run rerun -- --municipality ${run.planned[0] ?? '<ibge>'}                    replace one municipality's slices`);
    console.log(`  npm run backfill -- --municipality ${run.planned[0] ?? '<ibge>'} --from ${runDate.slice(0, 4)}-01 --to ${runDate.slice(0, 7)}   older months, one chunk per month`);
    // Late extractions are still running: the DAG does not wait for them, and neither does the process.
    if (dag.late.length === 0) await pipeline.drain();
    return dag.failed.length + dag.late.length + dag.skipped.length > 0 || dag.loadTimedOut || dag.martsFailed.length > 0 ? 1 : 0;
  } finally {
    await session.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`npm start failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
