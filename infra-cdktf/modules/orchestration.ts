import { DAILY_WORKFLOW, DAILY_WORKFLOW_FILE, WORKFLOW_ENV } from '../../shared/workflow/daily';
import { bigQueryCallStatement, bigQueryMartProcedures } from '../../shared/marts/marts';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import type { TableDef } from '../../shared/contracts/tables';
import { Annotations, TerraformOutput } from '../cdk';
import { TIME_ZONE } from '../config';
import { CloudSchedulerJob, ServiceAccount, WorkflowsWorkflow, type Cloudfunctions2Function } from '../google';
import { grant, serviceAccountMember, type Grant } from '../iam';
import { serviceUri } from './functions';
import type { PiiKindName } from '../bigquery-schema';
import type { Warehouse } from './bigquery';
import { iamCtx, type StackContext } from './context';
import type { Topics } from './pubsub';

/** A `workflows/<name>.workflows.yaml` file read at synth time. */
export interface WorkflowSource {
  name: string;
  source: string;
}

export interface Orchestration {
  /** The workflows' identity: it rebuilds the marts, so the marts' row access policies name it. */
  runner: ServiceAccount;
  /** `serviceAccount:<email>` of the runner, as a literal (row access policy grantees are validated text). */
  runnerMember: string;
}

/** `workflows/daily.workflows.yaml` → `daily`: the file the stack schedules is the workflow's own. */
const DAILY_WORKFLOW_NAME = /([a-z][a-z0-9-]*)\.workflows\.yaml$/.exec(DAILY_WORKFLOW_FILE)![1]!;
if (DAILY_WORKFLOW_NAME !== DAILY_WORKFLOW.name) throw new Error(`${DAILY_WORKFLOW_FILE} does not carry the workflow's name ${DAILY_WORKFLOW.name}`);

/**
 * The value of every variable the generated workflow reads with sys.get_env (WORKFLOW_ENV in
 * shared/workflow/daily.ts, besides the built-in GOOGLE_CLOUD_PROJECT_ID). A Record over its keys: a
 * variable added to the workflow fails the type check here until the stack supplies it.
 */
export function workflowEnvironment(
  ctx: StackContext,
  r: { warehouse: Warehouse; runStatus: Cloudfunctions2Function; runReport: Cloudfunctions2Function },
): Record<keyof typeof WORKFLOW_ENV, string> {
  return {
    topicPrefix: ctx.config.topicPrefix,
    // The workflow releases extract messages only up to the extract function's instance cap: more in
    // flight would be answered 429 and burn delivery attempts (DELIVERY.maxDeliveryAttempts).
    extractMaxInFlight: String(ctx.config.maxExtractInstances ?? FUNCTIONS.extract.maxInstances),
    runStatusUrl: serviceUri(r.runStatus),
    runReportUrl: serviceUri(r.runReport),
    rawDataset: r.warehouse.raw.datasetId,
    martsDataset: r.warehouse.marts.datasetId,
    bqLocation: ctx.config.region,
  };
}

/** The SQL a workflow runs: its own text plus the body of every mart procedure it CALLs. */
export function sqlRunBy(source: string): string {
  return [
    source,
    ...bigQueryMartProcedures()
      .filter((p) => source.includes(bigQueryCallStatement(p.mart)))
      .map((p) => p.body),
  ].join('\n');
}

/**
 * Kinds of personal data a workflow's SQL reads: the policy-tagged columns (hashed or kept) of the
 * raw tables it names. The marts are built from pseudonymised CPF/CNS, so the identity that
 * refreshes them needs fine-grained read on exactly those tags (never the whole taxonomy).
 * Conservative: a tagged column name that appears in the source next to one of its tables counts.
 */
export function personalDataReadBy(source: string, tables: readonly TableDef[] = PEC_TABLES): PiiKindName[] {
  const kinds = new Set<PiiKindName>();
  const word = (w: string) => new RegExp(`\\b${w}\\b`).test(source);
  for (const t of tables) {
    if (!source.includes(`{{raw}}.${t.name}\``)) continue;
    for (const c of t.columns) if (c.pii && c.pii.policy !== 'drop' && word(c.name)) kinds.add(c.pii.kind);
  }
  return [...kinds].sort();
}

export function orchestration(
  ctx: StackContext,
  r: { topics: Topics; warehouse: Warehouse; runStatus: Cloudfunctions2Function; runReport: Cloudfunctions2Function },
  workflows: readonly WorkflowSource[],
): Orchestration {
  const { config, names } = ctx;
  const project = config.projectId;

  const runner = new ServiceAccount(ctx.scope, 'sa-workflows', { project, accountId: names.serviceAccount('workflows'), displayName: 'PEC: Cloud Workflows' });
  const runnerMember = `serviceAccount:${names.serviceAccount('workflows')}@${project}.iam.gserviceaccount.com`;

  // Exactly what the workflow's calls need (workflows/daily.workflows.yaml), nothing more: it
  // coordinates, the functions move the data. test/infra/security.test.ts holds the allow-list.
  const grants: Grant[] = [
    // start_run, fan_out (extract messages in batches), load_tables: googleapis.pubsub.v1…publish.
    { on: 'topic', topic: r.topics.topics.runRequests, role: 'roles/pubsub.publisher' },
    { on: 'topic', topic: r.topics.topics.extractRequests, role: 'roles/pubsub.publisher' },
    { on: 'topic', topic: r.topics.topics.loadRequests, role: 'roles/pubsub.publisher' },
    // http.get/http.post with OIDC: polls run-status, write_report posts to run-report.
    { on: 'function', fn: r.runStatus, role: 'roles/run.invoker' },
    { on: 'function', fn: r.runReport, role: 'roles/run.invoker' },
    // refresh_marts: googleapis.bigquery.v2.jobs.insert (jobs exist only at project level), reading
    // raw and replacing the marts' rows (DELETE + INSERT, never DDL).
    { on: 'project', role: 'roles/bigquery.jobUser' },
    { on: 'dataset', dataset: r.warehouse.raw, role: 'roles/bigquery.dataViewer' },
    { on: 'dataset', dataset: r.warehouse.marts, role: 'roles/bigquery.dataEditor' },
    // The refresh recomputes only the municipalities loaded since (shared/marts/refresh-scope.ts):
    // it reads the loader's slice ledger, ops.loaded_slices.
    { on: 'dataset', dataset: r.warehouse.ops, role: 'roles/bigquery.dataViewer' },
    // The marts' SQL (the bodies of the procedures the workflow CALLs, which run with its rights)
    // reads policy-tagged (pseudonymised) columns of raw: fine-grained read on those tags only.
    ...[...new Set(workflows.flatMap((w) => personalDataReadBy(sqlRunBy(w.source))))].map((kind): Grant => ({
      on: 'policyTag',
      tag: r.warehouse.policyTags[kind],
      role: 'roles/datacatalog.categoryFineGrainedReader',
    })),
    { on: 'project', role: 'roles/logging.logWriter' }, // sys.log: step errors and the alert lines
  ];
  grant(ctx.scope, 'workflows', serviceAccountMember(runner), grants, iamCtx(ctx));

  const env = workflowEnvironment(ctx, r);
  // An empty TOPIC_PREFIX is left unset: the workflow reads it as default(…, "").
  const userEnvVars: Record<string, string> = Object.fromEntries(
    (Object.keys(WORKFLOW_ENV) as (keyof typeof WORKFLOW_ENV)[]).filter((k) => env[k] !== '').map((k) => [WORKFLOW_ENV[k], env[k]]),
  );

  const deployed = new Map<string, WorkflowsWorkflow>();
  for (const wf of workflows) {
    deployed.set(
      wf.name,
      new WorkflowsWorkflow(ctx.scope, `workflow-${wf.name}`, {
        project,
        region: config.region,
        name: names.workflow(wf.name),
        description: `workflows/${wf.name}.workflows.yaml`,
        serviceAccount: runner.id,
        sourceContents: wf.source,
        callLogLevel: 'LOG_ERRORS_ONLY',
        // Names may not start with GOOGLE: the project id is the built-in GOOGLE_CLOUD_PROJECT_ID.
        userEnvVars,
      }),
    );
  }

  const daily = deployed.get(DAILY_WORKFLOW.name);
  if (!daily) {
    // The workflow file is generated (npm run workflows:generate); without it the stack still
    // synthesizes, but there is no daily run: say so loudly.
    Annotations.of(ctx.scope).addWarning(`No daily schedule: ${DAILY_WORKFLOW_FILE} does not exist (found: ${[...deployed.keys()].join(', ') || 'none'})`);
    return { runner, runnerMember };
  }

  // Run days are São Paulo days: the workflow's schedule must be in that zone (shared/run/plan-run.ts).
  if (DAILY_WORKFLOW.schedule.timeZone !== TIME_ZONE) throw new Error(`DAILY_WORKFLOW.schedule.timeZone is ${DAILY_WORKFLOW.schedule.timeZone}, expected ${TIME_ZONE}`);
  const scheduler = new ServiceAccount(ctx.scope, 'sa-scheduler', { project, accountId: names.serviceAccount('scheduler'), displayName: 'PEC: daily run trigger' });
  // Workflows has no per-workflow IAM: invoker is granted on the project, to this identity only.
  grant(ctx.scope, 'scheduler', serviceAccountMember(scheduler), [{ on: 'project', role: 'roles/workflows.invoker' }], iamCtx(ctx));

  new CloudSchedulerJob(ctx.scope, 'schedule-daily', {
    project,
    region: config.region,
    name: names.schedulerJob(DAILY_WORKFLOW.name),
    description: `Starts ${names.workflow(DAILY_WORKFLOW.name)} at "${DAILY_WORKFLOW.schedule.cron}" (${DAILY_WORKFLOW.schedule.timeZone}), from DAILY_WORKFLOW.schedule`,
    schedule: DAILY_WORKFLOW.schedule.cron,
    timeZone: DAILY_WORKFLOW.schedule.timeZone,
    attemptDeadline: '180s',
    // Starting an execution is idempotent for the pipeline: the daily run id is the São Paulo date.
    retryConfig: { retryCount: 3, minBackoffDuration: '60s', maxBackoffDuration: '600s' },
    httpTarget: {
      httpMethod: 'POST',
      uri: `https://workflowexecutions.googleapis.com/v1/${daily.id}/executions`,
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ argument: JSON.stringify(config.schedule.argument) })).toString('base64'),
      // OAuth (not OIDC): the target is a Google API.
      oauthToken: { serviceAccountEmail: scheduler.email, scope: 'https://www.googleapis.com/auth/cloud-platform' },
    },
  });
  new TerraformOutput(ctx.scope, 'daily_workflow', { value: daily.name });
  // Workflows are regional: without --location gcloud looks in its default location and fails.
  new TerraformOutput(ctx.scope, 'finalize_command', {
    description: 'Re-runs the load, marts and report of the current run (docs/deploy.md "The daily workflow")',
    value: `gcloud workflows run ${names.workflow(DAILY_WORKFLOW.name)} --location=${config.region} --project=${project} --data='{"finalizeOnly":true}'`,
  });
  return { runner, runnerMember };
}
