import { ENV } from '../../shared/contracts/config';
import { Annotations, TerraformOutput } from '../cdk';
import { TIME_ZONE } from '../config';
import { CloudSchedulerJob, ServiceAccount, WorkflowsWorkflow, type Cloudfunctions2Function } from '../google';
import { grant, serviceAccountMember } from '../iam';
import { serviceUri } from './functions';
import type { Warehouse } from './bigquery';
import { iamCtx, type StackContext } from './context';
import type { Topics } from './pubsub';
import type { Buckets } from './storage';

/** A `workflows/<name>.workflows.yaml` file read at synth time. */
export interface WorkflowSource {
  name: string;
  source: string;
}

/**
 * Variables every workflow can read with sys.get_env(), besides the built-in GOOGLE_CLOUD_PROJECT_ID
 * and GOOGLE_CLOUD_LOCATION; names follow the functions' ENV contract where one exists.
 */
export const WORKFLOW_ENV = {
  runStatusUrl: 'RUN_STATUS_URL',
} as const;

export function orchestration(
  ctx: StackContext,
  r: { topics: Topics; buckets: Buckets; warehouse: Warehouse; runStatus: Cloudfunctions2Function },
  workflows: readonly WorkflowSource[],
): void {
  const { config, names } = ctx;
  const project = config.projectId;

  const runner = new ServiceAccount(ctx.scope, 'sa-workflows', { project, accountId: names.serviceAccount('workflows'), displayName: 'PEC: Cloud Workflows' });
  // The workflow coordinates; it doesn't move data. It starts runs and asks for loads by publishing
  // (fan-out and load do the work), asks run-status where a run stands, and logs its steps.
  // The orchestration work extends this list if its workflows call more.
  grant(
    ctx.scope,
    'workflows',
    serviceAccountMember(runner),
    [
      { on: 'topic', topic: r.topics.topics.runRequests, role: 'roles/pubsub.publisher' },
      { on: 'topic', topic: r.topics.topics.loadRequests, role: 'roles/pubsub.publisher' },
      { on: 'function', fn: r.runStatus, role: 'roles/run.invoker' },
      { on: 'project', role: 'roles/logging.logWriter' }, // sys.log
    ],
    iamCtx(ctx),
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
        userEnvVars: {
          [ENV.region]: config.region,
          [ENV.environment]: config.environment,
          [ENV.topicPrefix]: config.topicPrefix,
          [ENV.stagingBucket]: r.buckets.staging.name,
          [ENV.bqLocation]: config.region,
          [ENV.opsDataset]: r.warehouse.ops.datasetId,
          [ENV.martsDataset]: r.warehouse.marts.datasetId,
          [WORKFLOW_ENV.runStatusUrl]: serviceUri(r.runStatus),
        },
      }),
    );
  }

  const daily = deployed.get(config.schedule.workflow);
  if (!daily) {
    // Another piece of work writes the workflows; until workflows/<name>.workflows.yaml exists the
    // stack still synthesizes, but there is no daily run: say so loudly.
    Annotations.of(ctx.scope).addWarning(
      `No daily schedule: workflows/${config.schedule.workflow}.workflows.yaml does not exist (found: ${[...deployed.keys()].join(', ') || 'none'})`,
    );
    return;
  }

  const scheduler = new ServiceAccount(ctx.scope, 'sa-scheduler', { project, accountId: names.serviceAccount('scheduler'), displayName: 'PEC: daily run trigger' });
  // Workflows has no per-workflow IAM: invoker is granted on the project, to this identity only.
  grant(ctx.scope, 'scheduler', serviceAccountMember(scheduler), [{ on: 'project', role: 'roles/workflows.invoker' }], iamCtx(ctx));

  new CloudSchedulerJob(ctx.scope, 'schedule-daily', {
    project,
    region: config.region,
    name: names.schedulerJob(config.schedule.workflow),
    description: `Starts ${names.workflow(config.schedule.workflow)} every day (${TIME_ZONE})`,
    schedule: config.schedule.cron,
    timeZone: TIME_ZONE,
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
}
