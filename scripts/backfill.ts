/**
 * npm run backfill -- --municipality <ibge> --from YYYY-MM --to YYYY-MM [--tables t1,t2] [--cloud]
 *
 * Loads a municipality's history one calendar month at a time: one RunRequest per month with an
 * explicit window and a deterministic run id (backfill-<ibge>-<yyyymm>), so each chunk fits one
 * extract invocation's time budget and sending the same backfill again changes nothing.
 * Locally the chunks run one after the other over .local/, then the marts and the ledger are
 * rebuilt once; with --cloud (or GOOGLE_CLOUD_PROJECT and TOPIC_PREFIX set) they are published to
 * the deployed run-requests topic.
 */
import { publishRunRequests } from './lib/cloud-publish';
import { backfillChunks, cloudTarget, gcloudPublishCommand } from './lib/requests';
import { saoPauloDate } from '../shared/run/plan-run';
import { CommandError, commandLine, EXIT, runCommand, type Parsed } from './lib/cli';
import { BACKFILL } from './lib/commands';
import { formatTable } from './lib/format';
import { formatAlerts, openLocalSession } from './lib/local-session';
import { failureLines, outcomesOf } from './lib/outcome';

async function main(args: Parsed<typeof BACKFILL.flags>): Promise<number> {
  let chunks: ReturnType<typeof backfillChunks>;
  try {
    chunks = backfillChunks({ municipality: args.municipality, from: args.from, to: args.to, tables: args.tables?.split(',').map((t) => t.trim()) });
  } catch (err) {
    // A window the contract refuses (from after to, too many months) is a command-line mistake.
    throw new CommandError((err as Error).message, EXIT.usage);
  }
  console.log(`backfill of ${args.municipality}: ${chunks.length} monthly chunk(s), ${chunks[0]!.runId} … ${chunks.at(-1)!.runId}`);
  const target = cloudTarget(args, process.env);
  if (target) {
    const ids = await publishRunRequests(chunks, target);
    console.log(`published ${ids.length} run request(s) to projects/${target.projectId}/topics/${target.topicPrefix}pec-run-requests`);
    console.log(`the first one with gcloud:\n  ${gcloudPublishCommand(chunks[0], target.topicPrefix)}`);
    return EXIT.ok;
  }

  const session = await openLocalSession({
    command: commandLine(BACKFILL),
    dataDir: args.dataDir,
    registry: args.registry,
    citizens: args.citizens,
    runDate: saoPauloDate(new Date()),
  });
  try {
    if (!session.names.has(args.municipality)) throw new Error(`municipality ${args.municipality} is not in the registry (${[...session.names.keys()].join(', ')})`);
    session.progress.expect([args.municipality]);
    const results = [];
    for (const chunk of chunks) {
      const t0 = Date.now();
      console.log(`\n${chunk.runId}: window [${chunk.window!.start}, ${chunk.window!.end})`);
      const sent = await session.pipeline.publishRunRequest(chunk);
      results.push({
        run: sent.runId,
        window: `${chunk.window!.start} … ${chunk.window!.end}`,
        extracted: sent.extracted.length === 1 ? 'yes' : 'NO',
        seconds: ((Date.now() - t0) / 1000).toFixed(1),
      });
    }
    // One finalize for the whole backfill: the report step picks up every chunk (runs not reported yet).
    const workflow = await session.pipeline.finalize(null);
    console.log(`\n${formatTable(results)}`);
    const rows = await session.pipeline.warehouse.query(
      `SELECT r.run_id, r.status, m.rows, sum(CASE WHEN c.status = 'match' THEN 1 ELSE 0 END)::INTEGER AS slices_matching, count(c.status)::INTEGER AS slices
       FROM ops.runs r JOIN ops.municipality_runs m USING (run_id) LEFT JOIN ops.reconciliation c ON c.run_id = r.run_id AND c.municipality = m.municipality
       WHERE r.run_id IN (${chunks.map((_, i) => `$${i + 1}`).join(', ')}) GROUP BY 1, 2, 3 ORDER BY 1`,
      chunks.map((c) => c.runId!),
    );
    console.log(`\nledger:\n${formatTable(rows)}`);
    console.log(`marts rebuilt: ${workflow.martsFailed.length ? `FAILED ${workflow.martsFailed.join(', ')}` : 'yes'}`);
    console.log(formatAlerts(session.alerts));
    // The ledger decides: every month must end loaded for the municipality.
    const runIds = chunks.map((c) => c.runId!);
    const why = failureLines(
      await outcomesOf(session.pipeline.warehouse, runIds),
      runIds.map((runId) => ({ runId, municipality: args.municipality })),
      session.names,
    );
    for (const m of workflow.martsFailed) why.push(`marts.${m}: refresh failed`);
    if (why.length) {
      console.log(`\nNOT DONE (${why.length} of ${chunks.length} month(s) or marts):\n${why.map((l) => `  ${l}`).join('\n')}`);
      return EXIT.failed;
    }
    console.log(`\nDone. ${args.municipality}: ${chunks.length} month(s) loaded`);
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

runCommand(BACKFILL, main);
