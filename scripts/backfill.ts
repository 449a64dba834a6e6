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
import { z } from 'zod';
import { IbgeCode } from '../shared/contracts/ibge';
import { publishRunRequests } from '../shared/dag/cloud-publish';
import { backfillChunks, cloudTarget, gcloudPublishCommand } from '../shared/dag/requests';
import { saoPauloDate } from '../shared/run/plan-run';
import { formatTable } from './lib/format';
import { CLOUD_FLAGS, formatAlerts, openLocalSession, parseFlags, SESSION_FLAGS } from './lib/local-session';

const Args = z.strictObject({
  municipality: IbgeCode,
  from: z.string(),
  to: z.string(),
  tables: z.string().min(1).optional(),
  ...CLOUD_FLAGS,
  ...SESSION_FLAGS,
});

async function main(): Promise<number> {
  const args = parseFlags(process.argv.slice(2), Args, ['cloud']);
  const chunks = backfillChunks({ municipality: args.municipality, from: args.from, to: args.to, tables: args.tables?.split(',').map((t) => t.trim()) });
  console.log(`backfill of ${args.municipality}: ${chunks.length} monthly chunk(s), ${chunks[0]!.runId} … ${chunks.at(-1)!.runId}`);
  const target = cloudTarget(args, process.env);
  if (target) {
    const ids = await publishRunRequests(chunks, target);
    console.log(`published ${ids.length} run request(s) to projects/${target.projectId}/topics/${target.topicPrefix}pec-run-requests`);
    console.log(`the first one with gcloud:\n  ${gcloudPublishCommand(chunks[0], target.topicPrefix)}`);
    return 0;
  }

  const session = await openLocalSession({ dataDir: args.dataDir, registry: args.registry, citizens: args.citizens, runDate: saoPauloDate(new Date()) });
  try {
    if (!session.names.has(args.municipality)) throw new Error(`municipality ${args.municipality} is not in the registry (${[...session.names.keys()].join(', ')})`);
    const results = [];
    for (const chunk of chunks) {
      const t0 = Date.now();
      console.log(`\n${chunk.runId}: window [${chunk.window!.start}, ${chunk.window!.end})`);
      const sent = await session.pipeline.publishRunRequest(chunk);
      results.push({ run: sent.runId, window: `${chunk.window!.start} … ${chunk.window!.end}`, extracted: sent.extracted.length === 1 ? 'yes' : 'NO', seconds: ((Date.now() - t0) / 1000).toFixed(1) });
    }
    // One finalize for the whole backfill: the report step picks up every chunk (runs not reported yet).
    const dag = await session.pipeline.finalize(null);
    console.log(`\n${formatTable(results)}`);
    const rows = await session.pipeline.warehouse.query(
      `SELECT r.run_id, r.status, m.rows, sum(CASE WHEN c.status = 'match' THEN 1 ELSE 0 END)::INTEGER AS slices_matching, count(c.status)::INTEGER AS slices
       FROM ops.runs r JOIN ops.municipality_runs m USING (run_id) LEFT JOIN ops.reconciliation c ON c.run_id = r.run_id AND c.municipality = m.municipality
       WHERE r.run_id IN (${chunks.map((_, i) => `$${i + 1}`).join(', ')}) GROUP BY 1, 2, 3 ORDER BY 1`,
      chunks.map((c) => c.runId!),
    );
    console.log(`\nledger:\n${formatTable(rows)}`);
    console.log(`marts rebuilt: ${dag.martsFailed.length ? `FAILED ${dag.martsFailed.join(', ')}` : 'yes'}`);
    console.log(formatAlerts(session.alerts));
    return results.every((r) => r.extracted === 'yes') ? 0 : 1;
  } finally {
    await session.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`npm run backfill failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
