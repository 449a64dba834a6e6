import { FUNCTIONS } from '../../shared/contracts/functions';
import { TOPICS, type TopicKey } from '../../shared/contracts/messages';
import { memberAccount, resources, some, synthEnvironment, type Body, type Synthesized, type TfJson } from './support/synth';

/**
 * Security properties of the synthesized Terraform: nothing public, no keys, no secret values, and
 * every identity holds exactly the roles written below, an allow-list kept here on purpose,
 * independent of infra-cdktf/modules/functions.ts: a role added there fails this test until it is
 * reviewed and added here too.
 */

const ENVS = ['dev', 'prod'] as const;
const synths = Object.fromEntries(ENVS.map((env) => [env, synthEnvironment(env)])) as Record<(typeof ENVS)[number], Synthesized>;

/** IAM resource types and the attribute naming the resource the role is on. */
const IAM_MEMBER_TYPES: Record<string, { kind: string; attr?: string }> = {
  google_project_iam_member: { kind: 'project' },
  google_storage_bucket_iam_member: { kind: 'bucket', attr: 'bucket' },
  google_pubsub_topic_iam_member: { kind: 'topic', attr: 'topic' },
  google_pubsub_subscription_iam_member: { kind: 'subscription', attr: 'subscription' },
  google_secret_manager_secret_iam_member: { kind: 'secret', attr: 'secret_id' },
  google_bigquery_dataset_iam_member: { kind: 'dataset', attr: 'dataset_id' },
  google_cloud_run_v2_service_iam_member: { kind: 'function', attr: 'name' },
  google_artifact_registry_repository_iam_member: { kind: 'repository', attr: 'repository' },
  google_service_account_iam_member: { kind: 'serviceAccount', attr: 'service_account_id' },
  google_data_catalog_taxonomy_iam_member: { kind: 'taxonomy', attr: 'taxonomy' },
  google_data_catalog_policy_tag_iam_member: { kind: 'policyTag', attr: 'policy_tag' },
};

/** The real name behind a `${type.id.attr}` reference (or a literal). */
function targetName(json: TfJson, value: unknown): string {
  const m = typeof value === 'string' ? /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(value) : null;
  if (!m) return String(value);
  const body = json.resource[m[1]!]![m[2]!]!;
  return String(body.account_id ?? body.name ?? body.secret_id ?? body.dataset_id ?? body.repository_id ?? body.display_name);
}

function memberKey(json: TfJson, member: string): string {
  if (/^serviceAccount:service-\$\{data\.google_project\.[^}]+\.number\}@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/.test(member)) return 'pubsub-service-agent';
  return memberAccount(json, member);
}

/** member → sorted "role on kind:name" lines. */
function actualGrants(json: TfJson): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [type, { kind, attr }] of Object.entries(IAM_MEMBER_TYPES))
    for (const [, b] of resources(json, type)) {
      const on = attr ? `${kind}:${targetName(json, b[attr])}` : 'project';
      (out[memberKey(json, b.member)] ??= []).push(`${b.role} on ${on}`);
    }
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

function expectedGrants(s: Synthesized): Record<string, string[]> {
  const { config, registry } = s;
  const staging = `bucket:${config.projectId}-pec-staging`;
  const topic = (k: TopicKey) => `topic:${config.topicPrefix}${TOPICS[k]}`;
  const fn = (name: string) => `function:pec-${name}`;
  const telemetry = ['roles/cloudtrace.agent on project', 'roles/monitoring.metricWriter on project'];
  const readers = [`roles/bigquery.dataViewer on dataset:${config.datasets.marts}`, 'roles/bigquery.jobUser on project', 'roles/bigquery.readSessionUser on project'];
  const expected: Record<string, string[]> = {
    'pec-fn-fan-out': [
      `roles/storage.objectCreator on ${staging}`,
      `roles/pubsub.publisher on ${topic('extractRequests')}`,
      `roles/pubsub.publisher on ${topic('deadLetter')}`,
      ...telemetry,
    ],
    'pec-fn-extract': [
      `roles/storage.objectCreator on ${staging}`,
      `roles/storage.objectViewer on ${staging}`,
      `roles/pubsub.publisher on ${topic('extractRequests')}`,
      `roles/pubsub.publisher on ${topic('loadRequests')}`,
      `roles/pubsub.publisher on ${topic('deadLetter')}`,
      'roles/secretmanager.secretAccessor on secret:pec-pseudonym-key',
      ...registry.municipalities.map((m) => `roles/secretmanager.secretAccessor on secret:${(m.connection.password as { secret: string }).secret}`),
      ...telemetry,
    ],
    'pec-fn-load': [
      `roles/storage.objectViewer on ${staging}`,
      `roles/storage.objectCreator on ${staging}`,
      'roles/bigquery.jobUser on project',
      `roles/bigquery.dataEditor on dataset:${config.datasets.raw}`,
      `roles/bigquery.dataEditor on dataset:${config.datasets.ops}`,
      `roles/pubsub.publisher on ${topic('deadLetter')}`,
      ...telemetry,
    ],
    'pec-fn-run-status': [
      `roles/storage.objectViewer on ${staging}`,
      // BigQuery only when its spec gives it the ops dataset.
      ...((FUNCTIONS.runStatus.env as readonly string[]).includes('opsDataset')
        ? ['roles/bigquery.jobUser on project', `roles/bigquery.dataViewer on dataset:${config.datasets.ops}`]
        : []),
      ...telemetry,
    ],
    'pec-fn-run-report': [
      `roles/storage.objectViewer on ${staging}`, // plan, manifests, failure and load records
      'roles/bigquery.jobUser on project',
      `roles/bigquery.dataEditor on dataset:${config.datasets.ops}`, // the run ledger
      ...telemetry,
    ],
    'pec-fn-build': [
      'roles/logging.logWriter on project',
      'roles/artifactregistry.writer on repository:pec-functions',
      `roles/storage.objectViewer on bucket:${config.projectId}-pec-sources`,
    ],
    'pec-pubsub-push': [`roles/run.invoker on ${fn('fan-out')}`, `roles/run.invoker on ${fn('extract')}`, `roles/run.invoker on ${fn('load')}`],
    // What workflows/daily.workflows.yaml calls: publish run, extract and load requests; poll
    // run-status and post to run-report (OIDC); rebuild the marts from raw (query jobs); sys.log.
    'pec-workflows': [
      `roles/pubsub.publisher on ${topic('runRequests')}`,
      `roles/pubsub.publisher on ${topic('extractRequests')}`,
      `roles/pubsub.publisher on ${topic('loadRequests')}`,
      `roles/run.invoker on ${fn('run-status')}`,
      `roles/run.invoker on ${fn('run-report')}`,
      'roles/bigquery.jobUser on project',
      `roles/bigquery.dataViewer on dataset:${config.datasets.raw}`,
      `roles/bigquery.dataEditor on dataset:${config.datasets.marts}`,
      // The incremental refresh reads the loader's slice ledger (ops.loaded_slices).
      `roles/bigquery.dataViewer on dataset:${config.datasets.ops}`,
      // The marts are built from pseudonymised CPF and CNS, and the cytology and vaccination rules
      // need ages (birth dates): fine-grained read on those three tags only.
      'roles/datacatalog.categoryFineGrainedReader on policyTag:birth_date',
      'roles/datacatalog.categoryFineGrainedReader on policyTag:cpf',
      'roles/datacatalog.categoryFineGrainedReader on policyTag:cns',
      'roles/logging.logWriter on project',
    ],
    'pec-scheduler': ['roles/workflows.invoker on project'],
    'pec-powerbi-reader': readers,
    'pubsub-service-agent': [
      `roles/pubsub.publisher on ${topic('deadLetter')}`,
      'roles/iam.serviceAccountTokenCreator on serviceAccount:pec-pubsub-push',
      ...(['runRequests', 'extractRequests', 'loadRequests'] as const).map(
        (k) => `roles/pubsub.subscriber on subscription:${config.topicPrefix}${TOPICS[k]}-to-${{ runRequests: 'fan-out', extractRequests: 'extract', loadRequests: 'load' }[k]}`,
      ),
    ],
  };
  if (config.powerBiGroup) expected[`group:${config.powerBiGroup}`] = [...readers];
  for (const m of config.piiFineGrainedReaders) (expected[m] ??= []).push('roles/datacatalog.categoryFineGrainedReader on taxonomy:pii');
  for (const k of Object.keys(expected)) expected[k]!.sort();
  return expected;
}

/** Every leaf of the JSON with its path. */
function* leaves(value: unknown, at: string[] = []): Generator<[string[], unknown]> {
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* leaves(v, [...at, k]);
  else yield [at, value];
}

describe.each(ENVS)('security of the %s stack', (env) => {
  const s = synths[env];
  const { json } = s;

  test('least privilege: every identity holds exactly its allow-listed roles, nothing more', () => {
    expect(actualGrants(json)).toEqual(expectedGrants(s));
  });

  test("the workflow identity's roles follow the workflow's own calls (derived from the deployed YAML)", () => {
    const [[, wf]] = resources(json, 'google_workflows_workflow') as [[string, Body]];
    const source = String(wf.source_contents);
    const held = actualGrants(json)['pec-workflows']!;
    const on = (role: string) =>
      held
        .filter((g) => g.startsWith(`${role} on `))
        .map((g) => g.slice(role.length + 4))
        .sort();
    // Publishes to exactly the topics it builds from the prefix.
    const published = [...new Set([...source.matchAll(/topic_prefix \+ "([a-z-]+)"/g)].map((m) => `topic:${s.config.topicPrefix}${m[1]}`))].sort();
    expect(on('roles/pubsub.publisher')).toEqual(published);
    // Invokes exactly the functions whose URLs it is handed (and calls them with OIDC).
    const urls = Object.values(wf.user_env_vars as Record<string, string>)
      .map((v) => /^\$\{google_cloudfunctions2_function\.function-([a-z-]+)\.service_config\[0\]\.uri\}$/.exec(v)?.[1])
      .filter((x): x is string => !!x);
    expect(on('roles/run.invoker')).toEqual(urls.map((n) => `function:pec-${n}`).sort());
    expect(source).toContain('type: OIDC');
    // BigQuery jobs and log lines.
    expect(source).toContain('call: googleapis.bigquery.v2.jobs.insert');
    expect(held).toContain('roles/bigquery.jobUser on project');
    expect(source).toContain('call: sys.log');
    expect(held).toContain('roles/logging.logWriter on project');
  });

  test('IAM is additive only: no authoritative policies or bindings that could replace Google-managed ones', () => {
    const authoritative = Object.keys(json.resource).filter((t) => /_iam_(policy|binding)$/.test(t));
    expect(authoritative).toEqual([]);
    const iamTypes = Object.keys(json.resource).filter((t) => /_iam_/.test(t));
    expect(iamTypes.filter((t) => !(t in IAM_MEMBER_TYPES))).toEqual([]);
  });

  test('no public access: no allUsers/allAuthenticatedUsers anywhere', () => {
    expect(s.text).not.toMatch(/allUsers|allAuthenticatedUsers/);
  });

  test('functions accept internal traffic only', () => {
    const fns = resources(json, 'google_cloudfunctions2_function');
    expect(fns.length).toBeGreaterThan(0);
    for (const [, f] of fns) expect(f.service_config.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
  });

  test('buckets are private: uniform access, public access prevention enforced, no ACL resources', () => {
    const buckets = resources(json, 'google_storage_bucket');
    expect(buckets.map(([, b]) => b.name).sort()).toEqual([`${s.config.projectId}-pec-sources`, `${s.config.projectId}-pec-staging`]);
    for (const [, b] of buckets) {
      expect(b.uniform_bucket_level_access).toBe(true);
      expect(b.public_access_prevention).toBe('enforced');
      expect(b.force_destroy).toBe(false);
    }
    expect(Object.keys(json.resource).filter((t) => /_acl$/.test(t))).toEqual([]);
  });

  test('staging bucket: files deleted after the retention, versioning off', () => {
    const [, staging] = resources(json, 'google_storage_bucket').find(([, b]) => b.name.endsWith('-staging'))!;
    expect(staging.lifecycle_rule).toEqual([{ action: { type: 'Delete' }, condition: { age: s.config.stagingRetentionDays } }]);
    expect(staging.versioning).toEqual({ enabled: false });
  });

  test('no long-lived credentials: no service-account, HMAC or API keys', () => {
    for (const t of ['google_service_account_key', 'google_storage_hmac_key', 'google_apikeys_key']) expect(json.resource[t]).toBeUndefined();
  });

  test('no secret values in the JSON: no secret versions, no random values, pre-shared keys only by reference', () => {
    expect(json.resource.google_secret_manager_secret_version).toBeUndefined();
    expect(Object.keys(json.resource).filter((t) => t.startsWith('random_'))).toEqual([]);
    // Every attribute that carries a secret is a reference to a data source read at plan time.
    const secretLike = /^(shared_secret|secret_data|password|private_key|pre_shared_key)$/;
    const offenders = [...leaves(json.resource)].filter(
      ([p, v]) => secretLike.test(p.at(-1)!) && !/^\$\{data\.google_secret_manager_secret_version\.[^}]+\.secret_data\}$/.test(String(v)),
    );
    expect(offenders).toEqual([]);
    for (const [, t] of some(json, 'google_compute_vpn_tunnel')) {
      const ref = /^\$\{data\.google_secret_manager_secret_version\.([^.]+)\.secret_data\}$/.exec(t.shared_secret)!;
      expect(ref).not.toBeNull();
      expect(json.data!.google_secret_manager_secret_version![ref[1]!]!.secret).toMatch(/^vpn-psk-[a-z0-9-]{1,63}$/);
    }
  });

  test('no function environment variable carries a secret value', () => {
    for (const [, f] of some(json, 'google_cloudfunctions2_function'))
      for (const v of Object.values(f.service_config.environment_variables as Record<string, string>)) expect(v).not.toMatch(/secret_data|data\.google_secret/);
  });

  test('no firewall rule at all: custom VPCs deny every ingress by default (a new rule must be reviewed here)', () => {
    expect(some(json, 'google_compute_network').every(([, n]) => n.auto_create_subnetworks === false)).toBe(true);
    expect(resources(json, 'google_compute_firewall')).toEqual([]);
  });

  test('NAT translates the connector subnet only', () => {
    for (const [, nat] of some(json, 'google_compute_router_nat')) {
      expect(nat.source_subnetwork_ip_ranges_to_nat).toBe('LIST_OF_SUBNETWORKS');
      expect(nat.subnetwork).toEqual([{ name: '${google_compute_subnetwork.subnet-connector.self_link}', source_ip_ranges_to_nat: ['ALL_IP_RANGES'] }]);
    }
  });
});
