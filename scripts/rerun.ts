/**
 * npm run rerun -- --municipality <ibge> [--date YYYY-MM-DD] [--tables t1,t2] [--cloud]
 *
 * Replaces one municipality's slices and changes nothing else. It publishes one RunRequest
 * {"trigger":"rerun","municipalities":["<ibge>"],…} to the run-requests topic: fan-out extracts that
 * municipality with loadWhenDone, and its load replaces exactly its (table, window) slices.
 *
 * Locally (default) the message goes to the in-process bus over .local/, then the workflow's finalize
 * steps rebuild the marts and write the ledger. With --cloud (or GOOGLE_CLOUD_PROJECT and TOPIC_PREFIX
 * set) it goes to the deployed topic instead; marts and ledger catch up at the next daily run.
 */
import { publishRunRequests } from './lib/cloud-publish';
import { cloudTarget, gcloudPublishCommand, rerunRequest } from './lib/requests';
import { saoPauloDate } from '../shared/run/plan-run';
import { commandLine, EXIT, runCommand, type Parsed } from './lib/cli';
import { RERUN } from './lib/commands';
import { formatTable } from './lib/format';
import { formatAlerts, openLocalSession } from './lib/local-session';
import { failureLines, outcomesOf } from './lib/outcome';

async function main(args: Parsed<typeof RERUN.flags>): Promise<number> {
  const request = rerunRequest({ municipality: args.municipality, runDate: args.date, tables: args.tables?.split(',').map((t) => t.trim()) });
  const target = cloudTarget(args, process.env);
  if (target) {
    const [id] = await publishRunRequests([request], target);
    console.log(`published to projects/${target.projectId}/topics/${target.topicPrefix}pec-run-requests (message ${id}):`);
    console.log(`  ${JSON.stringify(request)}`);
    console.log(`\nthe same with gcloud:\n  ${gcloudPublishCommand(request, target.topicPrefix)}`);
    console.log('\nfollow it: the run-status function (runId in the fan-out log); marts and ledger catch up at the next daily run,');
    console.log('or now: gcloud workflows run <prefix>daily --data=\'{"finalizeOnly":true}\'');
    return EXIT.ok;
  }

  const session = await openLocalSession({
    command: commandLine(RERUN),
    dataDir: args.dataDir,
    registry: args.registry,
    citizens: args.citizens,
    runDate: args.date ?? saoPauloDate(new Date()),
  });
  try {
    if (!session.names.has(args.municipality)) throw new Error(`municipality ${args.municipality} is not in the registry (${[...session.names.keys()].join(', ')})`);
    console.log(`\nrerun of ${args.municipality} ${session.names.get(args.municipality)}: ${JSON.stringify(request)}`);
    session.progress.expect([args.municipality]);
    const sent = await session.pipeline.publishRunRequest(request);
    const workflow = await session.pipeline.finalize(sent.runId);
    const rows = await session.pipeline.warehouse.query(`SELECT municipality, status, rows, error_class FROM ops.municipality_runs WHERE run_id = $1 ORDER BY municipality`, [
      sent.runId,
    ]);
    console.log(`\nrun ${sent.runId}:`);
    console.log(formatTable(rows));
    console.log(`marts rebuilt: ${workflow.martsFailed.length ? `FAILED ${workflow.martsFailed.join(', ')}` : 'yes'}; ledger: ops.runs / ops.municipality_runs for ${sent.runId}`);
    console.log(formatAlerts(session.alerts));
    console.log(`\nin the cloud: npm run rerun -- --municipality ${args.municipality} --cloud, or\n  ${gcloudPublishCommand(request)}`);
    // The ledger decides: extracted is not enough, the municipality must end loaded.
    const why = failureLines(await outcomesOf(session.pipeline.warehouse, [sent.runId]), [{ runId: sent.runId, municipality: args.municipality }], session.names);
    for (const m of workflow.martsFailed) why.push(`marts.${m}: refresh failed`);
    if (why.length) {
      console.log(`\nNOT DONE:\n${why.map((l) => `  ${l}`).join('\n')}`);
      return EXIT.failed;
    }
    console.log(`\nDone. ${args.municipality} loaded in ${sent.runId}`);
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

runCommand(RERUN, main);
