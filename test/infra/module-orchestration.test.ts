import path from 'node:path';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { PiiKind } from '../../shared/contracts/tables';
import { bigQueryCallStatement, bigQueryMartProcedures } from '../../shared/marts/marts';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { DAILY_WORKFLOW, DAILY_WORKFLOW_FILE, WORKFLOW_ENV } from '../../shared/workflow/daily';
import type { PiiKindName } from '../../infra-cdktf/bigquery-schema';
import { TIME_ZONE } from '../../infra-cdktf/config';
import { BigqueryDataset, Cloudfunctions2Function, DataCatalogPolicyTag, DataCatalogTaxonomy } from '../../infra-cdktf/google';
import { readWorkflows } from '../../infra-cdktf/inputs';
import type { Warehouse } from '../../infra-cdktf/modules/bigquery';
import type { StackContext } from '../../infra-cdktf/modules/context';
import { orchestration, personalDataReadBy, sqlRunBy, type WorkflowSource } from '../../infra-cdktf/modules/orchestration';
import { topics } from '../../infra-cdktf/modules/pubsub';
import { names } from '../../infra-cdktf/naming';
import { grantIds, once, synthModule } from './support/module-stack';
import { repoRoot, resources, type TfJson } from './support/synth';

/**
 * infra-cdktf/modules/orchestration.ts on its own (support/module-stack.ts says why): the real
 * topics module, bare datasets and policy tags in place of the warehouse module, bare run-status
 * and run-report functions, and the committed generated workflows; each stack synthesized once, in a `beforeAll` (`once`).
 * Expected values come from their single definitions: DAILY_WORKFLOW (name, schedule), WORKFLOW_ENV,
 * FUNCTIONS, the names, the environment config and the workflow files. The wired-together checks
 * (the workflow's allow-list of roles) stay in security.test.ts and contracts.test.ts.
 */

const WORKFLOWS = readWorkflows(path.join(repoRoot, 'workflows'));
const daily = () => WORKFLOWS.find((w) => w.name === DAILY_WORKFLOW.name)!;

function build(ctx: StackContext, workflows: readonly WorkflowSource[]) {
  const t = topics(ctx);
  const dataset = (key: 'raw' | 'marts' | 'ops') => new BigqueryDataset(ctx.scope, `dataset-${key}`, { project: ctx.config.projectId, datasetId: ctx.config.datasets[key] });
  const taxonomy = new DataCatalogTaxonomy(ctx.scope, 'taxonomy', { displayName: 'pii' });
  const policyTags = Object.fromEntries(PiiKind.options.map((k) => [k, new DataCatalogPolicyTag(ctx.scope, `tag-${k}`, { taxonomy: taxonomy.id, displayName: k })])) as Record<
    PiiKindName,
    DataCatalogPolicyTag
  >;
  const warehouse = { raw: dataset('raw'), marts: dataset('marts'), ops: dataset('ops'), taxonomy, policyTags, martTables: {}, martProcedures: {} } as Warehouse;
  const fn = (k: 'runStatus' | 'runReport') => new Cloudfunctions2Function(ctx.scope, `fn-${k}`, { location: ctx.config.region, name: ctx.names.function(k) });
  return orchestration(ctx, { topics: t, warehouse, runStatus: fn('runStatus'), runReport: fn('runReport') }, workflows);
}

const synth = (workflows: readonly WorkflowSource[] = WORKFLOWS, o: Parameters<typeof synthModule>[1] = {}) => synthModule((ctx) => build(ctx, workflows), o);

const ref = (type: string, id: string, attr: string) => `\${${type}.${id}.${attr}}`;

// Each stack the tests check, synthesized once (support/module-stack.ts's `once` says why).
const dev = once(() => synth());
const otherWorkflowNoPrefixNoCap = once(() =>
  synth([daily(), { name: 'other', source: 'main:\n  steps:\n    - a:\n        return: 1\n' }], { config: (c) => ({ ...c, topicPrefix: '', maxExtractInstances: undefined }) }),
);
const withArgument = once(() => synth(WORKFLOWS, { config: (c) => ({ ...c, schedule: { argument: { cohort: 'pilot' } } }) }));
const noWorkflows = once(() => synth([]));
const noDaily = once(() =>
  synth([
    { name: 'other', source: 'main: {}\n' },
    { name: 'more', source: 'main: {}\n' },
  ]),
);

/** "role on target" of every IAM member resource granted to `member`. */
function grantsTo(json: TfJson, member: string): string[] {
  const out: string[] = [];
  for (const [type, members] of Object.entries(json.resource)) {
    if (!type.endsWith('_iam_member')) continue;
    for (const b of Object.values(members)) if (b.member === member) out.push(`${b.role} on ${b.topic ?? b.dataset_id ?? b.policy_tag ?? b.name ?? `project ${b.project}`}`);
  }
  return out.sort();
}

describe('orchestration module: the workflows’ identity', () => {
  test('one service account; its member literal is its e-mail; it holds exactly what the workflow’s calls need', () => {
    const { json, config, out } = dev();
    const n = names(config);
    expect(json.resource.google_service_account!['sa-workflows']).toEqual({
      project: config.projectId,
      account_id: n.serviceAccount('workflows'),
      display_name: expect.stringMatching(/\S{5,}/),
    });
    expect(out.runner.node.id).toBe('sa-workflows');
    expect(out.runnerMember).toBe(`serviceAccount:${n.serviceAccount('workflows')}@${config.projectId}.iam.gserviceaccount.com`);
    const kinds = personalDataReadBy(sqlRunBy(daily().source));
    expect(kinds.length).toBeGreaterThan(0);
    const topic = (key: string) => ref('google_pubsub_topic', `topic-pec-${key}`, 'name');
    const dataset = (key: string) => ref('google_bigquery_dataset', `dataset-${key}`, 'dataset_id');
    expect(grantsTo(json, `serviceAccount:${ref('google_service_account', 'sa-workflows', 'email')}`)).toEqual(
      [
        `roles/pubsub.publisher on ${topic('run-requests')}`,
        `roles/pubsub.publisher on ${topic('extract-requests')}`,
        `roles/pubsub.publisher on ${topic('load-requests')}`,
        `roles/run.invoker on ${ref('google_cloudfunctions2_function', 'fn-runStatus', 'name')}`,
        `roles/run.invoker on ${ref('google_cloudfunctions2_function', 'fn-runReport', 'name')}`,
        `roles/bigquery.jobUser on project ${config.projectId}`,
        `roles/bigquery.dataViewer on ${dataset('raw')}`,
        `roles/bigquery.dataEditor on ${dataset('marts')}`,
        `roles/bigquery.dataViewer on ${dataset('ops')}`,
        ...kinds.map((k) => `roles/datacatalog.categoryFineGrainedReader on ${ref('google_data_catalog_policy_tag', `tag-${k}`, 'name')}`),
        `roles/logging.logWriter on project ${config.projectId}`,
      ].sort(),
    );
    // Each grant's Terraform address names the identity: a rename would make a deployed stack
    // destroy and re-create every grant (the workflow without its roles in between).
    const ids = grantIds(json, `serviceAccount:${ref('google_service_account', 'sa-workflows', 'email')}`);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.filter((id) => !id.split('.')[1]!.startsWith('iam-workflows-'))).toEqual([]);
  });

  test('personal data read by a workflow: the tagged, not dropped, columns its SQL names next to their raw table', () => {
    const t = PEC_TABLES.find((x) => x.columns.some((c) => c.pii && c.pii.policy !== 'drop'))!;
    const col = t.columns.find((c) => c.pii && c.pii.policy !== 'drop')!;
    expect(personalDataReadBy(`SELECT ${col.name} FROM \`{{raw}}.${t.name}\``)).toEqual([col.pii!.kind]);
    // The column without its table, or the table without the column, or part of a longer name: nothing.
    expect(personalDataReadBy(`SELECT ${col.name} FROM x`)).toEqual([]);
    expect(personalDataReadBy(`SELECT 1 FROM \`{{raw}}.${t.name}\``)).toEqual([]);
    expect(personalDataReadBy(`SELECT ${col.name}_x, x${col.name} FROM \`{{raw}}.${t.name}\``)).toEqual([]);
    const dropped = PEC_TABLES.flatMap((x) => x.columns.filter((c) => c.pii?.policy === 'drop').map((c) => [x, c] as const))[0];
    if (dropped) expect(personalDataReadBy(`SELECT ${dropped[1].name} FROM \`{{raw}}.${dropped[0].name}\``)).toEqual([]);
    // Sorted, without repeats.
    const two = PEC_TABLES.flatMap((x) => x.columns.filter((c) => c.pii && c.pii.policy !== 'drop').map((c) => [x.name, c.name, c.pii!.kind] as const));
    const sql = two.map(([tb, c]) => `SELECT ${c} FROM \`{{raw}}.${tb}\``).join('\n');
    expect(personalDataReadBy(sql)).toEqual([...new Set(two.map(([, , k]) => k))].sort());
  });

  test('the SQL a workflow runs includes the body of each mart procedure it CALLs, and only those', () => {
    const procs = bigQueryMartProcedures();
    const [p, q] = procs;
    expect(sqlRunBy('x')).toBe('x');
    expect(sqlRunBy(`a\n${bigQueryCallStatement(p!.mart)}`)).toBe(`a\n${bigQueryCallStatement(p!.mart)}\n${p!.body}`);
    expect(q).toBeDefined();
  });
});

describe('orchestration module: the workflows', () => {
  test('each workflow file deployed with the runner, errors-only call logs, and every variable the workflows read', () => {
    const { json, config } = dev();
    const n = names(config);
    expect(WORKFLOWS.length).toBeGreaterThan(0);
    expect(Object.keys(json.resource.google_workflows_workflow!)).toEqual(WORKFLOWS.map((w) => `workflow-${w.name}`));
    for (const w of WORKFLOWS) {
      const env: Record<keyof typeof WORKFLOW_ENV, string> = {
        topicPrefix: config.topicPrefix,
        extractMaxInFlight: String(config.maxExtractInstances ?? FUNCTIONS.extract.maxInstances),
        runStatusUrl: ref('google_cloudfunctions2_function', 'fn-runStatus', 'service_config[0].uri'),
        runReportUrl: ref('google_cloudfunctions2_function', 'fn-runReport', 'service_config[0].uri'),
        rawDataset: ref('google_bigquery_dataset', 'dataset-raw', 'dataset_id'),
        martsDataset: ref('google_bigquery_dataset', 'dataset-marts', 'dataset_id'),
        bqLocation: config.region,
      };
      expect(json.resource.google_workflows_workflow![`workflow-${w.name}`]).toEqual({
        project: config.projectId,
        region: config.region,
        name: n.workflow(w.name),
        description: `workflows/${w.name}.workflows.yaml`,
        service_account: ref('google_service_account', 'sa-workflows', 'id'),
        source_contents: w.source,
        call_log_level: 'LOG_ERRORS_ONLY',
        user_env_vars: Object.fromEntries((Object.keys(WORKFLOW_ENV) as (keyof typeof WORKFLOW_ENV)[]).map((k) => [WORKFLOW_ENV[k], env[k]])),
      });
    }
    // dev has a topic prefix and its own extract cap: both are checked above.
    expect([config.topicPrefix !== '', config.maxExtractInstances !== FUNCTIONS.extract.maxInstances]).toEqual([true, true]);
    // Every variable the daily workflow reads is set (GOOGLE_CLOUD_PROJECT_ID is built in).
    const read = [...daily().source.matchAll(/sys\.get_env\("([A-Z_]+)"\)/g)].map((m) => m[1]!).filter((v) => v !== 'GOOGLE_CLOUD_PROJECT_ID');
    expect(read.length).toBeGreaterThan(0);
    for (const v of read) expect(Object.keys(json.resource.google_workflows_workflow![`workflow-${DAILY_WORKFLOW.name}`]!.user_env_vars)).toContain(v);
  });

  test('an empty topic prefix is left unset; without maxExtractInstances the cap is the extract function’s; every workflow gets the same variables', () => {
    const { json } = otherWorkflowNoPrefixNoCap();
    const vars = (id: string) => json.resource.google_workflows_workflow![id]!.user_env_vars as Record<string, string>;
    expect(vars(`workflow-${DAILY_WORKFLOW.name}`)[WORKFLOW_ENV.topicPrefix]).toBeUndefined();
    expect(vars(`workflow-${DAILY_WORKFLOW.name}`)[WORKFLOW_ENV.extractMaxInFlight]).toBe(String(FUNCTIONS.extract.maxInstances));
    expect(vars('workflow-other')).toEqual(vars(`workflow-${DAILY_WORKFLOW.name}`));
    expect(Object.keys(vars('workflow-other')).sort()).toEqual(
      (Object.keys(WORKFLOW_ENV) as (keyof typeof WORKFLOW_ENV)[])
        .filter((k) => k !== 'topicPrefix')
        .map((k) => WORKFLOW_ENV[k])
        .sort(),
    );
  });
});

describe('orchestration module: the daily schedule', () => {
  test('a scheduler identity that may only start workflows, and one job that starts the daily workflow on DAILY_WORKFLOW.schedule', () => {
    const { json, config } = dev();
    const n = names(config);
    expect(DAILY_WORKFLOW.schedule.timeZone).toBe(TIME_ZONE);
    expect(json.resource.google_service_account!['sa-scheduler']).toEqual({
      project: config.projectId,
      account_id: n.serviceAccount('scheduler'),
      display_name: expect.stringMatching(/\S{5,}/),
    });
    expect(grantsTo(json, `serviceAccount:${ref('google_service_account', 'sa-scheduler', 'email')}`)).toEqual([`roles/workflows.invoker on project ${config.projectId}`]);
    expect(grantIds(json, `serviceAccount:${ref('google_service_account', 'sa-scheduler', 'email')}`)).toEqual([
      'google_project_iam_member.iam-scheduler-project-workflows-invoker',
    ]);
    const job = json.resource.google_cloud_scheduler_job!['schedule-daily']!;
    expect(job).toEqual({
      project: config.projectId,
      region: config.region,
      name: n.schedulerJob(DAILY_WORKFLOW.name),
      description: expect.stringContaining(`"${DAILY_WORKFLOW.schedule.cron}" (${DAILY_WORKFLOW.schedule.timeZone})`),
      schedule: DAILY_WORKFLOW.schedule.cron,
      time_zone: DAILY_WORKFLOW.schedule.timeZone,
      attempt_deadline: '180s',
      retry_config: { retry_count: 3, min_backoff_duration: '60s', max_backoff_duration: '600s' },
      http_target: {
        http_method: 'POST',
        uri: `https://workflowexecutions.googleapis.com/v1/${ref('google_workflows_workflow', `workflow-${DAILY_WORKFLOW.name}`, 'id')}/executions`,
        headers: { 'Content-Type': 'application/json' },
        body: expect.any(String),
        oauth_token: { service_account_email: ref('google_service_account', 'sa-scheduler', 'email'), scope: 'https://www.googleapis.com/auth/cloud-platform' },
      },
    });
    expect(job.description).toContain(n.workflow(DAILY_WORKFLOW.name));
    expect(JSON.parse(Buffer.from(job.http_target.body as string, 'base64').toString('utf8'))).toEqual({ argument: JSON.stringify(config.schedule.argument) });
    expect(json.output!.daily_workflow!.value).toBe(ref('google_workflows_workflow', `workflow-${DAILY_WORKFLOW.name}`, 'name'));
    expect(json.output!.finalize_command).toEqual({
      description: expect.stringMatching(/\S{5,}/),
      value: `gcloud workflows run ${n.workflow(DAILY_WORKFLOW.name)} --location=${config.region} --project=${config.projectId} --data='{"finalizeOnly":true}'`,
    });
  });

  test('the configured argument reaches the execution', () => {
    const argument = { cohort: 'pilot' };
    const { json, config } = withArgument();
    expect(config.schedule.argument).toEqual(argument);
    const body = json.resource.google_cloud_scheduler_job!['schedule-daily']!.http_target.body as string;
    expect(JSON.parse(Buffer.from(body, 'base64').toString('utf8'))).toEqual({ argument: JSON.stringify(argument) });
  });

  test('no daily workflow file: no scheduler, no job, no outputs, and a warning that names the file and what was found', () => {
    const none = noWorkflows();
    expect(none.warnings).toEqual([`No daily schedule: ${DAILY_WORKFLOW_FILE} does not exist (found: none)`]);
    const other = noDaily();
    expect(other.warnings).toEqual([`No daily schedule: ${DAILY_WORKFLOW_FILE} does not exist (found: other, more)`]);
    for (const { json, out } of [none, other]) {
      expect(resources(json, 'google_cloud_scheduler_job')).toEqual([]);
      expect(json.resource.google_service_account!['sa-scheduler']).toBeUndefined();
      expect(json.output?.daily_workflow).toBeUndefined();
      expect(json.output?.finalize_command).toBeUndefined();
      // The runner is still handed out (Power BI's row access policies name it).
      expect(out.runnerMember).toMatch(/^serviceAccount:/);
    }
    expect(dev().warnings).toEqual([]);
  });
});
