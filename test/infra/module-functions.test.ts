import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV } from '../../shared/contracts/config';
import { DELIVERY, FUNCTIONS, type FunctionKey, type FunctionSpec, type PubsubFunctionKey } from '../../shared/contracts/functions';
import { TOPICS } from '../../shared/contracts/messages';
import { TerraformOutput } from '../../infra-cdktf/cdk';
import { BigqueryDataset } from '../../infra-cdktf/google';
import type { Warehouse } from '../../infra-cdktf/modules/bigquery';
import type { StackContext } from '../../infra-cdktf/modules/context';
import { environmentValues, functionEnvironment, functions, serviceUri, type FunctionInputs } from '../../infra-cdktf/modules/functions';
import type { Network } from '../../infra-cdktf/modules/network';
import { topics } from '../../infra-cdktf/modules/pubsub';
import { secrets } from '../../infra-cdktf/modules/secrets';
import { buckets } from '../../infra-cdktf/modules/storage';
import { synthModule, type ModuleStack } from './support/module-stack';
import { memberAccount, resources, some, type Body, type TfJson } from './support/synth';

/**
 * infra-cdktf/modules/functions.ts on its own: the functions module in a stack with only what it
 * needs (the real buckets, topics and secrets modules; three bare datasets and a connector id in
 * place of the warehouse and network modules), synthesized inside each test. The whole-stack checks
 * (contracts.test.ts, security.test.ts) stay; these pin every value the module sets, from its single
 * definition (FUNCTIONS, DELIVERY, the environment config), and run in well under a second each so
 * that mutation testing can afford them (docs/mutation.md, "GCP adapters and infra").
 */

const keys = Object.keys(FUNCTIONS) as FunctionKey[];
const pushedKeys = keys.filter((k) => FUNCTIONS[k].trigger.kind === 'pubsub') as PubsubFunctionKey[];

// One tiny directory per bundle: the module zips each at synth (a real bundle is megabytes).
const bundleRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-module-functions-'));
const bundles = Object.fromEntries(
  keys.map((k) => {
    const dir = path.join(bundleRoot, FUNCTIONS[k].name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'index.js'), `// ${k}\n`);
    return [k, dir];
  }),
) as Record<FunctionKey, string>;
afterAll(() => fs.rmSync(bundleRoot, { recursive: true, force: true }));

const CONNECTOR = 'projects/p/locations/southamerica-east1/connectors/test-egress';

function build(ctx: StackContext, inputs: Partial<FunctionInputs> = {}, egress: Network['egress'] = 'ALL_TRAFFIC') {
  const b = buckets(ctx);
  const t = topics(ctx);
  const s = secrets(ctx);
  const dataset = (key: 'raw' | 'ops' | 'marts') => new BigqueryDataset(ctx.scope, `dataset-${key}`, { project: ctx.config.projectId, datasetId: ctx.config.datasets[key] });
  const w = { raw: dataset('raw'), ops: dataset('ops'), marts: dataset('marts') } as Warehouse;
  const n: Network = { connectorId: CONNECTOR, egress };
  const r = { buckets: b, topics: t, secrets: s, warehouse: w, network: n };
  return { r, f: functions(ctx, r, { bundles, ...inputs }) };
}

const synth = (inputs: Partial<FunctionInputs> = {}, o: Parameters<typeof synthModule>[1] = {}, egress?: Network['egress']) => synthModule((ctx) => build(ctx, inputs, egress), o);

const fnBody = (json: TfJson, key: FunctionKey): Body => {
  const found = resources(json, 'google_cloudfunctions2_function').filter(([, f]) => f.name === `pec-${FUNCTIONS[key].name}`);
  expect(found).toHaveLength(1);
  return found[0]![1];
};

/** member account id → sorted "role on <type>.<logical id | project>" of the IAM members in the JSON. */
function grantsOf(json: TfJson): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [type, members] of Object.entries(json.resource)) {
    if (!/_iam_member$/.test(type)) continue;
    for (const [, b] of Object.entries(members)) {
      const target = b.bucket ?? b.topic ?? b.subscription ?? b.secret_id ?? b.dataset_id ?? b.repository ?? b.service_account_id ?? b.name;
      const on = type === 'google_project_iam_member' ? `project ${b.project}` : String(target).replace(/^\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.[a-z_]+\}$/, '$1');
      (out[memberAccount(json, b.member)] ??= []).push(`${b.role} on ${on}`);
    }
  }
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

/**
 * The dev configuration's checks all read ONE synthesized stack, built in the single test at the end
 * of this file: under mutation testing a mutant of the module body then costs one synth, not one
 * per check (jest does not stop at the first failure). Variants (other inputs) are tests of their own.
 */
type Dev = ModuleStack<ReturnType<typeof buildDev>>;
const checks: [string, (s: Dev) => void][] = [];
const check = Object.assign((name: string, fn: (s: Dev) => void) => void checks.push([name, fn]), {
  each:
    <K extends string>(cases: readonly K[]) =>
    (name: string, fn: (s: Dev, k: K) => void) => {
      for (const k of cases) checks.push([name.replace('%s', k), (s) => fn(s, k)]);
    },
});

/** The dev stack's functions module, with environmentValues and serviceUri exported as outputs. */
function buildDev(ctx: StackContext) {
  const { r, f } = build(ctx);
  const values = environmentValues(ctx, r);
  // No function reads the marts dataset today; its value is still the stack's dataset.
  new TerraformOutput(ctx.scope, 'marts', { value: values.martsDataset });
  new TerraformOutput(ctx.scope, 'uri', { value: serviceUri(f.functions.extract) });
  return { f, values };
}

describe('functions module: the Artifact Registry repository and the build identity', () => {
  check('images go to pec-functions (DOCKER, in the region), keeping the 5 newest and deleting versions older than 30 days', ({ json, config }) => {
    const [[, repo], ...others] = some(json, 'google_artifact_registry_repository');
    expect(others).toEqual([]);
    expect(repo).toEqual({
      project: config.projectId,
      location: 'southamerica-east1',
      repository_id: 'pec-functions',
      format: 'DOCKER',
      description: 'Images of the PEC pipeline functions',
      cleanup_policies: [
        { id: 'keep-recent', action: 'KEEP', most_recent_versions: { keep_count: 5 } },
        { id: 'delete-old', action: 'DELETE', condition: { older_than: '2592000s' } },
      ],
    });
  });

  check('a dedicated build identity writes logs, writes to the repository and reads the sources bucket, nothing else', ({ json, config }) => {
    expect(json.resource.google_service_account!['sa-functions-build']).toEqual({
      project: config.projectId,
      account_id: 'pec-fn-build',
      display_name: 'PEC functions: image builds',
    });
    expect(grantsOf(json)['pec-fn-build']).toEqual(
      [
        `roles/logging.logWriter on project ${config.projectId}`,
        'roles/artifactregistry.writer on google_artifact_registry_repository.repository-functions',
        'roles/storage.objectViewer on google_storage_bucket.bucket-sources',
      ].sort(),
    );
    for (const key of keys) {
      const f = fnBody(json, key);
      expect(f.build_config.service_account).toBe('${google_service_account.sa-functions-build.id}');
      expect(f.build_config.docker_repository).toBe('${google_artifact_registry_repository.repository-functions.id}');
    }
  });
});

describe('functions module: one function per FUNCTIONS spec', () => {
  check('names, descriptions, runtime, entry points and sources', ({ json, config }) => {
    expect(
      resources(json, 'google_cloudfunctions2_function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(keys.map((k) => `function-${FUNCTIONS[k].name}`).sort());
    for (const key of keys) {
      const spec = FUNCTIONS[key];
      const f = fnBody(json, key);
      expect(f.project).toBe(config.projectId);
      expect(f.location).toBe('southamerica-east1');
      expect(f.description).toBe(`PEC pipeline: ${spec.name}`);
      expect(f.build_config.runtime).toBe(config.functionsRuntime);
      expect(f.build_config.entry_point).toBe(spec.entryPoint);
      expect(f.build_config.source).toEqual({
        storage_source: { bucket: '${google_storage_bucket.bucket-sources.name}', object: `\${google_storage_bucket_object.source-${spec.name}.name}` },
      });
      expect(f.event_trigger).toBeUndefined();
      // The bundle is an object named after its content hash, in the sources bucket.
      const object = json.resource.google_storage_bucket_object![`source-${spec.name}`]!;
      expect(object.bucket).toBe('${google_storage_bucket.bucket-sources.name}');
      expect(object.name).toMatch(new RegExp(`^${spec.name}/[0-9A-F]{32,}\\.zip$`, 'i'));
      expect(object.source).toMatch(/\.zip$/);
    }
  });

  test('placeholder bundles say so in every description: synthesized for review, never deployed', () => {
    const { json } = synth({ placeholderBundles: true });
    for (const key of keys) expect(fnBody(json, key).description).toBe('PLACEHOLDER BUNDLE: synthesized for review, do not deploy');
  });

  check('service config: sizing and caps from the spec, scale to zero, one request per instance, internal ingress, latest revision', ({ json, config }) => {
    for (const key of keys) {
      const spec = FUNCTIONS[key];
      const sc = fnBody(json, key).service_config;
      expect(sc.service_account_email).toBe(`\${google_service_account.sa-fn-${spec.name}.email}`);
      expect(sc.available_memory).toBe(`${spec.memoryMb}Mi`);
      expect(sc.available_cpu).toBe('vcpu' in spec ? String(spec.vcpu) : undefined);
      expect(sc.timeout_seconds).toBe(spec.timeoutSeconds);
      expect(sc.max_instance_count).toBe(key === 'extract' ? config.maxExtractInstances : spec.maxInstances);
      expect(sc.min_instance_count).toBe(0);
      expect(sc.max_instance_request_concurrency).toBe(1);
      expect(sc.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
      expect(sc.all_traffic_on_latest_revision).toBe(true);
    }
    // The dev config caps extract below its spec; the fixture must exercise that.
    expect(config.maxExtractInstances).toBe(5);
    expect(FUNCTIONS.extract.maxInstances).not.toBe(5);
  });

  test("without maxExtractInstances in the config, extract's cap is its spec's", () => {
    const { json } = synth({}, { config: (c) => ({ ...c, maxExtractInstances: undefined }) });
    expect(fnBody(json, 'extract').service_config.max_instance_count).toBe(FUNCTIONS.extract.maxInstances);
  });

  check('only extract goes through the VPC connector, with the egress the network module chose', ({ json }) => {
    for (const key of keys) {
      const sc = fnBody(json, key).service_config;
      if (key === 'extract') expect([sc.vpc_connector, sc.vpc_connector_egress_settings]).toEqual([CONNECTOR, 'ALL_TRAFFIC']);
      else expect([sc.vpc_connector, sc.vpc_connector_egress_settings]).toEqual([undefined, undefined]);
    }
  });

  test('a network without TLS municipalities: extract keeps to private ranges', () => {
    const { json } = synth({}, {}, 'PRIVATE_RANGES_ONLY');
    expect(fnBody(json, 'extract').service_config.vpc_connector_egress_settings).toBe('PRIVATE_RANGES_ONLY');
    expect(fnBody(json, 'load').service_config.vpc_connector_egress_settings).toBeUndefined();
  });

  check('environment variables: exactly the spec’s, with the values written out from the config here', ({ json, config, out }) => {
    const x = config.extract;
    const expected: Record<string, string> = {
      [ENV.projectId]: config.projectId,
      [ENV.region]: 'southamerica-east1',
      [ENV.environment]: 'dev',
      [ENV.stagingBucket]: '${google_storage_bucket.bucket-staging.name}',
      [ENV.registryFile]: 'municipalities.yaml',
      [ENV.pseudonymKeySecret]: '${google_secret_manager_secret.secret-pseudonym-key.secret_id}',
      [ENV.topicPrefix]: 'dev-',
      [ENV.bqLocation]: 'southamerica-east1',
      [ENV.rawDataset]: '${google_bigquery_dataset.dataset-raw.dataset_id}',
      [ENV.opsDataset]: '${google_bigquery_dataset.dataset-ops.dataset_id}',
      [ENV.martsDataset]: '${google_bigquery_dataset.dataset-marts.dataset_id}',
      [ENV.statementTimeoutMs]: String(x.statementTimeoutMs),
      [ENV.lockTimeoutMs]: String(x.lockTimeoutMs),
      [ENV.connectTimeoutMs]: String(x.connectTimeoutMs),
      [ENV.idleInTransactionTimeoutMs]: String(x.idleInTransactionTimeoutMs),
      [ENV.partMaxBytes]: String(x.partMaxBytes),
      [ENV.gzipLevel]: String(x.gzipLevel),
      [ENV.timeBudgetMs]: String(x.timeBudgetMs),
      [ENV.lookbackDays]: String(config.lookbackDays),
      [ENV.staleSourceHours]: String(config.alerts.staleSourceHours),
      [ENV.logLevel]: 'debug',
    };
    for (const key of keys) {
      const env = fnBody(json, key).service_config.environment_variables as Record<string, string>;
      const nodeOptions = (FUNCTIONS[key] as FunctionSpec).nodeOptions;
      expect(env).toEqual({ ...Object.fromEntries(FUNCTIONS[key].env.map((k) => [ENV[k], expected[ENV[k]]])), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) });
    }
    // Every variable of the contract has a value (environmentValues covers ENV, not only today's specs).
    expect(Object.keys(out.values).sort()).toEqual(Object.keys(ENV).sort());
    expect(json.output!.marts!.value).toBe('${google_bigquery_dataset.dataset-marts.dataset_id}');
    expect(functionEnvironment('runStatus', out.values)).toEqual(Object.fromEntries(FUNCTIONS.runStatus.env.map((k) => [ENV[k], out.values[k]])));
  });
});

describe('functions module: identities hold exactly their roles', () => {
  check('one service account per function, and its grants (an independent copy of the allow-list)', ({ json, config, registry }) => {
    const project = `project ${config.projectId}`;
    const telemetry = [`roles/cloudtrace.agent on ${project}`, `roles/monitoring.metricWriter on ${project}`];
    const staging = 'google_storage_bucket.bucket-staging';
    const topic = (t: string) => `google_pubsub_topic.topic-${t}`;
    const passwords = registry.municipalities.map((m) => `roles/secretmanager.secretAccessor on google_secret_manager_secret.secret-db-password-${m.ibge}`);
    expect(passwords.length).toBeGreaterThan(0);
    const expected: Record<string, string[]> = {
      'pec-fn-fan-out': [
        `roles/storage.objectCreator on ${staging}`,
        `roles/pubsub.publisher on ${topic(TOPICS.extractRequests)}`,
        `roles/pubsub.publisher on ${topic(TOPICS.deadLetter)}`,
        ...telemetry,
      ],
      'pec-fn-extract': [
        `roles/storage.objectCreator on ${staging}`,
        `roles/storage.objectViewer on ${staging}`,
        `roles/pubsub.publisher on ${topic(TOPICS.extractRequests)}`,
        `roles/pubsub.publisher on ${topic(TOPICS.loadRequests)}`,
        `roles/pubsub.publisher on ${topic(TOPICS.deadLetter)}`,
        'roles/secretmanager.secretAccessor on google_secret_manager_secret.secret-pseudonym-key',
        ...passwords,
        ...telemetry,
      ],
      'pec-fn-load': [
        `roles/storage.objectViewer on ${staging}`,
        `roles/storage.objectCreator on ${staging}`,
        `roles/bigquery.jobUser on ${project}`,
        'roles/bigquery.dataEditor on google_bigquery_dataset.dataset-raw',
        'roles/bigquery.dataEditor on google_bigquery_dataset.dataset-ops',
        `roles/pubsub.publisher on ${topic(TOPICS.deadLetter)}`,
        ...telemetry,
      ],
      'pec-fn-run-status': [`roles/storage.objectViewer on ${staging}`, ...telemetry],
      'pec-fn-run-report': [
        `roles/storage.objectViewer on ${staging}`,
        `roles/bigquery.jobUser on ${project}`,
        'roles/bigquery.dataEditor on google_bigquery_dataset.dataset-ops',
        ...telemetry,
      ],
    };
    // run-status reads the bucket only; the day its spec gains the ops dataset, this copy must change.
    expect(FUNCTIONS.runStatus.env).not.toContain('opsDataset');
    const grants = grantsOf(json);
    for (const key of keys) {
      const spec = FUNCTIONS[key];
      expect(json.resource.google_service_account![`sa-fn-${spec.name}`]).toEqual({
        project: config.projectId,
        account_id: `pec-fn-${spec.name}`,
        display_name: `PEC function ${spec.name}`,
      });
      expect(grants[`pec-fn-${spec.name}`]).toEqual(expected[`pec-fn-${spec.name}`]!.sort());
    }
  });

  // The logical id is the binding's Terraform state address: a renamed one is destroyed and created
  // again on the next apply (the identity loses the role in between), so the ids are pinned too.
  check('each IAM member’s logical id names its identity: iam-<who>-<target>-<role>', ({ json }) => {
    const who: Record<string, string> = { 'pec-fn-build': 'functions-build', 'pec-pubsub-push': 'pubsub-push' };
    for (const key of keys) who[`pec-fn-${FUNCTIONS[key].name}`] = `fn-${FUNCTIONS[key].name}`;
    const ids = Object.entries(json.resource)
      .filter(([type]) => /_iam_member$/.test(type))
      .flatMap(([, members]) => Object.entries(members).map(([id, b]) => [id, memberAccount(json, b.member)] as const));
    expect(ids.length).toBeGreaterThan(keys.length);
    const whoOf = (account: string) => who[account] ?? (account.includes('gcp-sa-pubsub') ? 'pubsub-agent' : undefined);
    expect(ids.filter(([id, account]) => !new RegExp(`^iam-${whoOf(account)}-[a-z0-9]`).test(id))).toEqual([]);
  });

  test('run-status gets BigQuery read on ops only if its spec hands it the ops dataset', () => {
    const env = FUNCTIONS.runStatus.env as unknown as string[];
    env.push('opsDataset');
    try {
      const { json, config } = synth();
      expect(grantsOf(json)['pec-fn-run-status']).toEqual(
        [
          'roles/storage.objectViewer on google_storage_bucket.bucket-staging',
          `roles/bigquery.jobUser on project ${config.projectId}`,
          'roles/bigquery.dataViewer on google_bigquery_dataset.dataset-ops',
          `roles/cloudtrace.agent on project ${config.projectId}`,
          `roles/monitoring.metricWriter on project ${config.projectId}`,
        ].sort(),
      );
    } finally {
      env.pop();
    }
  });

  test('a spec sizing Cloud Run would refuse stops the synth, naming the function', () => {
    const spec = FUNCTIONS.load as { vcpu?: number };
    spec.vcpu = 0.079;
    try {
      // Every problem, one per line.
      expect(() => synth()).toThrow(
        new Error(
          'function sizing Cloud Run would refuse:\nload: vcpu 0.079 is not a Cloud Run CPU value (0.08–1 in steps of 0.001, or 1–8 whole)\nload: 512 MiB needs at least 0.333 vCPU, not 0.079',
        ),
      );
    } finally {
      delete spec.vcpu;
    }
  });
});

describe('functions module: push delivery (DELIVERY)', () => {
  check.each(pushedKeys)('%s: one push subscription with every DELIVERY value, authenticated as the push identity', ({ json, config }, key) => {
    const spec = FUNCTIONS[key];
    const trigger = spec.trigger as { topic: keyof typeof TOPICS };
    const uri = `\${google_cloudfunctions2_function.function-${spec.name}.service_config[0].uri}`;
    expect(json.resource.google_pubsub_subscription![`subscription-${spec.name}`]).toEqual({
      project: config.projectId,
      name: `dev-${TOPICS[trigger.topic]}-to-${spec.name}`,
      topic: `\${google_pubsub_topic.topic-${TOPICS[trigger.topic]}.id}`,
      ack_deadline_seconds: Math.min(600, spec.timeoutSeconds + 30),
      message_retention_duration: '86400s',
      expiration_policy: { ttl: '' },
      retry_policy: { minimum_backoff: '10s', maximum_backoff: '600s' },
      dead_letter_policy: { dead_letter_topic: `\${google_pubsub_topic.topic-${TOPICS.deadLetter}.id}`, max_delivery_attempts: { fanOut: 5, extract: 100, load: 20 }[key] },
      push_config: {
        push_endpoint: `${uri}/projects/${config.projectId}/topics/\${google_pubsub_topic.topic-${TOPICS[trigger.topic]}.name}`,
        oidc_token: { service_account_email: '${google_service_account.sa-pubsub-push.email}', audience: uri },
      },
    });
  });

  check('no subscription for HTTP functions; the push identity invokes exactly the pushed functions; Pub/Sub acks as its agent', ({ json, config }) => {
    const subs = resources(json, 'google_pubsub_subscription').map(([id]) => id);
    expect(subs.sort()).toEqual(['subscription-dead-letter-hold', ...pushedKeys.map((k) => `subscription-${FUNCTIONS[k].name}`)].sort());
    expect(json.resource.google_service_account!['sa-pubsub-push']).toEqual({
      project: config.projectId,
      account_id: 'pec-pubsub-push',
      display_name: 'PEC: Pub/Sub push to functions',
    });
    const grants = grantsOf(json);
    expect(grants['pec-pubsub-push']).toEqual(pushedKeys.map((k) => `roles/run.invoker on google_cloudfunctions2_function.function-${FUNCTIONS[k].name}`).sort());
    const invokers = resources(json, 'google_cloud_run_v2_service_iam_member');
    for (const [, b] of invokers) expect([b.project, b.location]).toEqual([config.projectId, 'southamerica-east1']);
    const agent = Object.keys(grants).find((m) => m.includes('gcp-sa-pubsub'))!;
    expect(grants[agent]).toEqual(
      [
        `roles/pubsub.publisher on google_pubsub_topic.topic-${TOPICS.deadLetter}`,
        'roles/iam.serviceAccountTokenCreator on google_service_account.sa-pubsub-push',
        ...pushedKeys.map((k) => `roles/pubsub.subscriber on google_pubsub_subscription.subscription-${FUNCTIONS[k].name}`),
      ].sort(),
    );
  });

  test('a Pub/Sub-triggered function without delivery attempts in DELIVERY stops the synth', () => {
    const attempts = DELIVERY.maxDeliveryAttempts as Record<string, number>;
    const saved = attempts.load!;
    delete attempts.load;
    try {
      expect(() => synth()).toThrow(/^function load is triggered by Pub\/Sub but has no DELIVERY\.maxDeliveryAttempts entry in shared\/contracts\/functions\.ts$/);
    } finally {
      attempts.load = saved;
    }
  });

  check('serviceUri is the function service’s uri attribute', ({ json, out }) => {
    expect(json.output!.uri!.value).toBe('${google_cloudfunctions2_function.function-extract.service_config[0].uri}');
    expect(Object.keys(out.f.subscriptions).sort()).toEqual([...pushedKeys].sort());
    expect(Object.keys(out.f.accounts).sort()).toEqual([...keys].sort());
  });
});

test('the dev configuration: every check above, on one synthesized stack', () => {
  expect(checks.length).toBeGreaterThan(10);
  const dev = synthModule(buildDev);
  const failed: string[] = [];
  for (const [name, fn] of checks) {
    try {
      fn(dev);
    } catch (e) {
      failed.push(`${name}:\n${(e as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(failed.join('\n\n'));
});
