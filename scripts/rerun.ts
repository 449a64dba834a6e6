/**
 * npm run rerun -- --municipality <ibge> [--date YYYY-MM-DD] [--tables t1,t2] [--cloud]
 *
 * Replaces one municipality's slices and changes nothing else. It publishes one RunRequest
 * {"trigger":"rerun","municipalities":["<ibge>"],…} to the run-requests topic: fan-out extracts that
 * municipality with loadWhenDone, and its load replaces exactly its (table, window) slices.
 *
 * Locally (default) the message goes to the in-process bus over .local/, then the DAG's finalize
 * steps rebuild the marts and write the ledger. With --cloud (or GOOGLE_CLOUD_PROJECT and TOPIC_PREFIX
 * set) it goes to the deployed topic instead; marts and ledger catch up at the next daily run.
 */
import { z } from 'zod';
import { IbgeCode } from '../shared/contracts/ibge';
import { publishRunRequests } from '../shared/dag/cloud-publish';
import { IsoDate } from '../shared/contracts/identifiers';
import { cloudTarget, gcloudPublishCommand, rerunRequest } from '../shared/dag/requests';
import { saoPauloDate } from '../shared/run/plan-run';
import { formatTable } from './lib/format';
import { CLOUD_FLAGS, formatAlerts, openLocalSession, parseFlags, SESSION_FLAGS } from './lib/local-session';

const Args = z.strictObject({
  municipality: IbgeCode,
  date: IsoDate.optional(),
  tables: z.string().min(1).optional(),
  ...CLOUD_FLAGS,
  ...SESSION_FLAGS,
});

async function main(): Promise<number> {
  const args = parseFlags(process.argv.slice(2), Args, ['cloud']);
  const request = rerunRequest({ municipality: args.municipality, runDate: args.date, tables: args.tables?.split(',').map((t) => t.trim()) });
  const target = cloudTarget(args, process.env);
  if (target) {
    const [id] = await publishRunRequests([request], target);
    console.log(`published to projects/${target.projectId}/topics/${target.topicPrefix}pec-run-requests (message ${id}):`);
    console.log(`  ${JSON.stringify(request)}`);
    console.log(`\nthe same with gcloud:\n  ${gcloudPublishCommand(request, target.topicPrefix)}`);
    console.log('\nfollow it: the run-status function (runId in the fan-out log); marts and ledger catch up at the next daily run,');
    console.log('or now: gcloud workflows run <prefix>daily --data=\'{"finalizeOnly":true}\'');
    return 0;
  }

  const session = await openLocalSession({ dataDir: args.dataDir, registry: args.registry, citizens: args.citizens, runDate: args.date ?? saoPauloDate(new Date()) });
  try {
    if (!session.names.has(args.municipality)) throw new Error(`municipality ${args.municipality} is not in the registry (${[...session.names.keys()].join(', ')})`);
    console.log(`\nrerun of ${args.municipality} ${session.names.get(args.municipality)}: ${JSON.stringify(request)}`);
    const sent = await session.pipeline.publishRunRequest(request);
    const dag = await session.pipeline.finalize(sent.runId);
    const rows = await session.pipeline.warehouse.query(
      `SELECT municipality, status, rows, error_class FROM ops.municipality_runs WHERE run_id = $1 ORDER BY municipality`,
      [sent.runId],
    );
    console.log(`\nrun ${sent.runId}:`);
    console.log(formatTable(rows));
    console.log(`marts rebuilt: ${dag.martsFailed.length ? `FAILED ${dag.martsFailed.join(', ')}` : 'yes'}; ledger: ops.runs / ops.municipality_runs for ${sent.runId}`);
    console.log(formatAlerts(session.alerts));
    console.log(`\nin the cloud: npm run rerun -- --municipality ${args.municipality} --cloud, or\n  ${gcloudPublishCommand(request)}`);
    return sent.extracted.length === sent.planned.length ? 0 : 1;
  } finally {
    await session.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`npm run rerun failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
