/**
 * npm start — the daily run on this machine: the same workflow the cloud deploys (shared/workflow/daily.ts),
 * through the same handlers, ending with the marts rebuilt and the run ledger written. Flags:
 * scripts/lib/commands.ts (START), or `npm start -- --help`.
 */
import { DAILY_WORKFLOW } from '../shared/workflow/daily';
import { saoPauloDate } from '../shared/run/plan-run';
import { MARTS } from '../shared/marts/marts';
import { commandLine, EXIT, runCommand, type Parsed } from './lib/cli';
import { START } from './lib/commands';
import { formatTable } from './lib/format';
import { formatAlerts, openLocalSession } from './lib/local-session';
import { failureLines, outcomesOf } from './lib/outcome';
import { paint, symbol, terminalStyle } from './lib/progress';

async function main(args: Parsed<typeof START.flags>): Promise<number> {
  const runDate = args.date ?? saoPauloDate(new Date());
  const session = await openLocalSession({
    command: commandLine(START),
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
    console.log(
      `\nrun for ${runDate}: ${session.registry.municipalities.filter((m) => m.enabled).length} municipalities (workflow ${DAILY_WORKFLOW.steps.map((s) => s.id).join(' → ')})`,
    );
    progress.expect(session.registry.municipalities.filter((m) => m.enabled).map((m) => m.ibge));
    const run = await pipeline.runOnce({ runDate });
    const workflow = run.workflow;
    console.log(`\nrun ${run.runId} finished in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    // The summary comes from the ledger the report just wrote: the same rows `npm run status` shows.
    const ledger = new Map((await pipeline.warehouse.query(`SELECT * FROM ops.municipality_runs WHERE run_id = $1`, [run.runId])).map((r) => [String(r.municipality), r]));
    const table = run.planned.map((ibge) => {
      const r = ledger.get(ibge);
      const live = progress.rows.get(ibge);
      return {
        municipality: ibge,
        name: names.get(ibge) ?? '',
        rows: Number(r?.rows ?? 0),
        'MB staged': (Number(r?.bytes ?? 0) / 1e6).toFixed(2),
        seconds: Number(r?.seconds ?? 0).toFixed(1),
        // Anything but loaded in capitals: a failed row must not look like a loaded one.
        status: `${String(r?.status ?? 'unknown').replace(/^(?!loaded).*/, (x) => x.toUpperCase())}${r?.error_class ? ` (${String(r.error_class)})` : live?.detail ? ` (${live.detail})` : ''}`,
      };
    });
    console.log(formatTable(table));

    const summary = workflow.report?.runs.find((r) => r.runId === run.runId);
    console.log(
      `\nrun report: ${summary?.status ?? 'not written'} — ${workflow.planned.length} planned, ${workflow.done.length} extracted, ` +
        `${workflow.failed.length} failed, ${workflow.late.length} late, ${workflow.skipped.length} skipped${workflow.loadTimedOut ? ', load timed out' : ''}; ledger in ops.runs, ops.municipality_runs, ops.reconciliation`,
    );
    const recon = await pipeline.warehouse.query(
      `SELECT count(*)::INTEGER AS slices, count(*) FILTER (WHERE status = 'match')::INTEGER AS matching FROM ops.reconciliation WHERE run_id = $1`,
      [run.runId],
    );
    console.log(`reconciliation: ${recon[0]?.matching ?? 0} of ${recon[0]?.slices ?? 0} slices match their source row counts`);
    const marts = [];
    for (const m of MARTS) {
      // Dimension marts (dim_team, dim_indicator) have no period column.
      const periodic = m.table.columns.some((c) => c.name === 'quadrimestre');
      const [r] = await pipeline.warehouse.query(`SELECT count(*)::INTEGER AS n${periodic ? ', max(quadrimestre) AS latest' : ''} FROM marts.${m.name}`);
      marts.push(`marts.${m.name} ${r?.n ?? 0} rows${r?.latest ? ` (latest ${r.latest})` : ''}${workflow.martsFailed.includes(m.name) ? ' — REFRESH FAILED' : ''}`);
    }
    console.log(`marts: ${marts.join(', ')}`);
    console.log(formatAlerts(session.alerts));

    const dead = pipeline.bus.deadLetters.length;
    if (dead > 0) console.log(`\n${dead} message(s) dead-lettered: see ${session.logFile}`);
    console.log(`\nwarehouse: ${paths.warehouse}`);
    console.log(`bucket:    ${paths.bucket}`);
    console.log(`log:       ${session.logFile}`);
    const dir = args.dataDir === '.local' ? '' : ` --data-dir ${args.dataDir}`;
    console.log('\nnext:');
    console.log(`  npm run status${dir ? ` --${dir}` : ''}                 latest state per municipality (the ledger)`);
    console.log(`  npm run query --${dir} "select * from marts.hypertension_follow_up order by 1, 3, 5"`);
    console.log(`  npm run rerun -- --municipality ${run.planned[0] ?? '<ibge>'}${dir}                    replace one municipality's slices`);
    console.log(
      `  npm run backfill -- --municipality ${run.planned[0] ?? '<ibge>'} --from ${runDate.slice(0, 4)}-01 --to ${runDate.slice(0, 7)}${dir}   older months, one chunk per month`,
    );
    // Late extractions are still running: the workflow does not wait for them, and neither does the process.
    if (workflow.late.length === 0) await pipeline.drain();

    const outcomes = await outcomesOf(pipeline.warehouse, [run.runId]);
    const why = failureLines(
      outcomes,
      run.planned.map((m) => ({ runId: run.runId, municipality: m })),
      names,
    );
    if (workflow.loadTimedOut) why.push('the load did not finish within its budget');
    for (const m of workflow.martsFailed) why.push(`marts.${m}: refresh failed`);
    const count = (s: string) => outcomes.filter((o) => o.status === s).length;
    const others = outcomes.length - count('loaded') - count('failed') - count('late');
    const style = terminalStyle();
    if (progress.retrySummary()) console.log(`\n${progress.retrySummary()}`);
    if (why.length) console.log(`\n${paint(style, 'red', 'NOT DONE:')}\n${why.map((l) => `  ${symbol(style, 'fail')}${l}`).join('\n')}`);
    const done = `Done. loaded=${count('loaded')} failed=${count('failed')} late=${count('late')}${others ? ` other=${others}` : ''} of ${run.planned.length}${workflow.martsFailed.length ? ` marts_failed=${workflow.martsFailed.length}` : ''}`;
    console.log(`\n${paint(style, why.length ? 'red' : 'green', done)}`);
    return why.length ? EXIT.failed : EXIT.ok;
  } finally {
    await session.close();
  }
}

runCommand(START, main);
