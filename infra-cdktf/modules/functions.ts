import { ENV, type EnvKey } from '../../shared/contracts/config';
import { ackDeadlineSeconds, DELIVERY, FUNCTIONS, nodeEnvironment, type FunctionKey, type FunctionSpec, type PubsubFunctionKey } from '../../shared/contracts/functions';
import { AssetType, TerraformAsset } from '../cdk';
import { ArtifactRegistryRepository, Cloudfunctions2Function, PubsubSubscription, ServiceAccount, StorageBucketObject } from '../google';
import { grant, serviceAccountMember, type Grant } from '../iam';
import { BUNDLED_REGISTRY_PATH } from '../naming';
import type { Warehouse } from './bigquery';
import { iamCtx, type StackContext } from './context';
import type { Network } from './network';
import type { Topics } from './pubsub';
import type { Secrets } from './secrets';
import type { Buckets } from './storage';

export interface FunctionInputs {
  /** Directory of each function's bundle (dist/functions/<name>/ plus the registry copy): zipped at synth. */
  bundles: Record<FunctionKey, string>;
  /** The bundles are stand-ins (`--placeholder-bundles`): synth for review only, never deploy. */
  placeholderBundles?: boolean;
}

interface Resources {
  buckets: Buckets;
  topics: Topics;
  secrets: Secrets;
  warehouse: Warehouse;
  network: Network;
}

export interface Functions {
  functions: Record<FunctionKey, Cloudfunctions2Function>;
  accounts: Record<FunctionKey, ServiceAccount>;
  subscriptions: Partial<Record<FunctionKey, PubsubSubscription>>;
}

/**
 * The value of every environment variable a function may read, by its key in ENV. A Record over
 * EnvKey: adding a variable to the contract fails the type check here until infra supplies it.
 */
export function environmentValues(ctx: StackContext, r: Pick<Resources, 'buckets' | 'secrets' | 'warehouse'>): Record<EnvKey, string> {
  const { config } = ctx;
  const x = config.extract;
  return {
    projectId: config.projectId,
    region: config.region,
    environment: config.environment,
    stagingBucket: r.buckets.staging.name,
    registryFile: BUNDLED_REGISTRY_PATH,
    pseudonymKeySecret: r.secrets.pseudonymKey.secretId,
    topicPrefix: config.topicPrefix,
    bqLocation: config.region,
    rawDataset: r.warehouse.raw.datasetId,
    opsDataset: r.warehouse.ops.datasetId,
    martsDataset: r.warehouse.marts.datasetId,
    statementTimeoutMs: String(x.statementTimeoutMs),
    lockTimeoutMs: String(x.lockTimeoutMs),
    connectTimeoutMs: String(x.connectTimeoutMs),
    idleInTransactionTimeoutMs: String(x.idleInTransactionTimeoutMs),
    partMaxBytes: String(x.partMaxBytes),
    gzipLevel: String(x.gzipLevel),
    timeBudgetMs: String(x.timeBudgetMs),
    lookbackDays: String(config.lookbackDays),
    staleSourceHours: String(config.alerts.staleSourceHours),
    logLevel: config.logLevel,
  };
}

/** Exactly the variables of a function's spec, under their ENV names, and what node itself reads (nodeOptions). */
export function functionEnvironment(key: FunctionKey, values: Record<EnvKey, string>): Record<string, string> {
  return { ...Object.fromEntries(FUNCTIONS[key].env.map((k) => [ENV[k], values[k]])), ...nodeEnvironment(key) };
}

const readsOps = (key: FunctionKey) => (FUNCTIONS[key].env as readonly EnvKey[]).includes('opsDataset');

/** OpenTelemetry exporters (Cloud Trace, Cloud Monitoring) write with the function's identity. */
const TELEMETRY: Grant[] = [
  { on: 'project', role: 'roles/cloudtrace.agent' },
  { on: 'project', role: 'roles/monitoring.metricWriter' },
];

/**
 * Least privilege, function by function: the complete list of what each identity may do. A Record
 * over FunctionKey, so a new function cannot be deployed without deciding its roles here. The
 * infra tests hold an independent copy of this allow-list and fail on any difference.
 */
const FUNCTION_GRANTS: Record<FunctionKey, (r: Resources) => Grant[]> = {
  fanOut: (r) => [
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectCreator' }, // runs/<run>/plan.json (create-only)
    { on: 'topic', topic: r.topics.topics.extractRequests, role: 'roles/pubsub.publisher' },
    { on: 'topic', topic: r.topics.topics.deadLetter, role: 'roles/pubsub.publisher' }, // terminal failures
    ...TELEMETRY,
  ],
  extract: (r) => [
    // The object store is create-only (ObjectExistsError on an existing key): no delete/overwrite rights.
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectCreator' },
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectViewer' }, // manifests, checkpoints
    { on: 'topic', topic: r.topics.topics.extractRequests, role: 'roles/pubsub.publisher' }, // time-budget continuations
    { on: 'topic', topic: r.topics.topics.loadRequests, role: 'roles/pubsub.publisher' }, // reruns load themselves
    { on: 'topic', topic: r.topics.topics.deadLetter, role: 'roles/pubsub.publisher' },
    { on: 'secret', secret: r.secrets.pseudonymKey, role: 'roles/secretmanager.secretAccessor' },
    ...[...r.secrets.dbPasswords.values()].map((secret): Grant => ({ on: 'secret', secret, role: 'roles/secretmanager.secretAccessor' })),
    ...TELEMETRY,
  ],
  load: (r) => [
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectViewer' }, // manifests; load jobs read parts as the caller
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectCreator' }, // runs/<run>/loads/<id>.json (create-only)
    { on: 'project', role: 'roles/bigquery.jobUser' }, // jobs exist only at project level
    { on: 'dataset', dataset: r.warehouse.raw, role: 'roles/bigquery.dataEditor' },
    { on: 'dataset', dataset: r.warehouse.ops, role: 'roles/bigquery.dataEditor' }, // loaded_slices ledger
    { on: 'topic', topic: r.topics.topics.deadLetter, role: 'roles/pubsub.publisher' },
    ...TELEMETRY,
  ],
  runStatus: (r) => [
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectViewer' }, // plans, manifests, failures, load records
    // BigQuery only if its spec hands it the ops dataset (today status comes from the bucket alone).
    ...(readsOps('runStatus')
      ? ([
          { on: 'project', role: 'roles/bigquery.jobUser' }, // querying needs a job
          { on: 'dataset', dataset: r.warehouse.ops, role: 'roles/bigquery.dataViewer' },
        ] as Grant[])
      : []),
    ...TELEMETRY,
  ],
  runReport: (r) => [
    // The report is built from the run's objects (plan, manifests, failure and load records).
    { on: 'bucket', bucket: r.buckets.staging, role: 'roles/storage.objectViewer' },
    { on: 'project', role: 'roles/bigquery.jobUser' }, // the ledger transaction is a query job
    // Replaces the run's rows in runs, municipality_runs, reconciliation and alerts; reads loaded_slices.
    { on: 'dataset', dataset: r.warehouse.ops, role: 'roles/bigquery.dataEditor' },
    ...TELEMETRY,
  ],
};

/**
 * Delivery of each Pub/Sub-triggered function, with the values of DELIVERY (shared/contracts/
 * functions.ts). Why our own push subscriptions rather than the function's `event_trigger`:
 * Eventarc creates and owns the trigger's subscription and exposes no dead-letter policy
 * (terraform-provider-google #25069, #17697), so a message failing transiently forever would retry
 * until retention drops it, silently. Here every subscription has a retry policy and a dead-letter topic.
 */
const pushed = (key: FunctionKey): key is PubsubFunctionKey => key in DELIVERY.maxDeliveryAttempts;

/**
 * Requests one instance serves at once: one (an extract streams one municipality with all of the
 * instance's memory; Cloud Run also requires ≥ 1 vCPU for more, see infra-cdktf/limits.ts).
 */
export const MAX_REQUESTS_PER_INSTANCE = 1;

/**
 * Cloud Run's documented memory/CPU rules (2nd-gen functions are Cloud Run services), as of 2026-12:
 * - https://cloud.google.com/run/docs/configuring/services/cpu — below 1 vCPU any value from 0.08 in steps
 *   of 0.001, above 1 whole numbers up to 8; below 1 vCPU: at most 512 MiB under 0.5 vCPU, at most
 *   1 GiB under 1 vCPU, and one request per instance; 4, 6 and 8 vCPU need 2, 4 and 4 GiB;
 * - https://cloud.google.com/functions/docs/configuring/memory — the minimum CPU for a memory: 256 MiB
 *   0.167, 512 MiB 0.333, 1 GiB 0.583, 2 GiB 1, above 4 GiB 2 (and the CPU a function gets when it sets
 *   none). Checked at synth so a sizing Cloud Run would refuse fails here, not at deploy.
 */
export function cpuMemoryProblems(spec: Pick<FunctionSpec, 'name' | 'memoryMb' | 'vcpu'>, requestsPerInstance = MAX_REQUESTS_PER_INSTANCE): string[] {
  const { name, memoryMb: mem, vcpu } = spec;
  if (vcpu === undefined) return [];
  const out: string[] = [];
  const minimumFor = mem > 24576 ? 8 : mem > 16384 ? 6 : mem > 8192 ? 4 : mem > 4096 ? 2 : mem > 1024 ? 1 : mem > 512 ? 0.583 : mem > 256 ? 0.333 : mem > 128 ? 0.167 : 0.083;
  if (vcpu < 1 ? vcpu < 0.08 || Math.abs(vcpu * 1000 - Math.round(vcpu * 1000)) > 1e-9 : !Number.isInteger(vcpu) || vcpu > 8)
    out.push(`${name}: vcpu ${vcpu} is not a Cloud Run CPU value (0.08–1 in steps of 0.001, or 1–8 whole)`);
  if (vcpu < minimumFor) out.push(`${name}: ${mem} MiB needs at least ${minimumFor} vCPU, not ${vcpu}`);
  if (vcpu < 0.5 && mem > 512) out.push(`${name}: below 0.5 vCPU the memory may not exceed 512 MiB (${mem} MiB)`);
  if (vcpu < 1 && mem > 1024) out.push(`${name}: below 1 vCPU the memory may not exceed 1 GiB (${mem} MiB)`);
  if (vcpu < 1 && requestsPerInstance > 1) out.push(`${name}: below 1 vCPU an instance serves one request at a time, not ${requestsPerInstance}`);
  const memoryFloor = vcpu >= 6 ? 4096 : vcpu >= 4 ? 2048 : 0;
  if (mem < memoryFloor) out.push(`${name}: ${vcpu} vCPU needs at least ${memoryFloor} MiB (${mem} MiB)`);
  return out;
}

/** Only extract talks to municipal servers; the others call Google APIs only and stay off the VPC. */
const NEEDS_VPC: Record<FunctionKey, boolean> = { fanOut: false, extract: true, load: false, runStatus: false, runReport: false };

export function functions(ctx: StackContext, r: Resources, inputs: FunctionInputs): Functions {
  const { config, names } = ctx;
  const project = config.projectId;
  const region = config.region;

  // Images built from the bundles live in our own repository, in São Paulo, with a cleanup policy,
  // and the build identity can write there and nowhere else.
  const repository = new ArtifactRegistryRepository(ctx.scope, 'repository-functions', {
    project,
    location: region,
    repositoryId: names.artifactRepository,
    format: 'DOCKER',
    description: 'Images of the PEC pipeline functions',
    cleanupPolicies: [
      { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: 5 } },
      { id: 'delete-old', action: 'DELETE', condition: { olderThan: `${30 * 86400}s` } },
    ],
  });
  // A dedicated build identity instead of the default compute account (often a project Editor).
  const builder = new ServiceAccount(ctx.scope, 'sa-functions-build', {
    project,
    accountId: names.serviceAccount('fn-build'),
    displayName: 'PEC functions: image builds',
  });
  grant(
    ctx.scope,
    'functions-build',
    serviceAccountMember(builder),
    [
      { on: 'project', role: 'roles/logging.logWriter' }, // Cloud Build logs
      { on: 'repository', repository, role: 'roles/artifactregistry.writer' },
      { on: 'bucket', bucket: r.buckets.sources, role: 'roles/storage.objectViewer' },
    ],
    iamCtx(ctx),
  );

  const values = environmentValues(ctx, r);
  const accounts = {} as Record<FunctionKey, ServiceAccount>;
  const fns = {} as Record<FunctionKey, Cloudfunctions2Function>;

  const sizing = (Object.values(FUNCTIONS) as FunctionSpec[]).flatMap((spec) => cpuMemoryProblems(spec));
  if (sizing.length) throw new Error(`function sizing Cloud Run would refuse:\n${sizing.join('\n')}`);

  for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
    const spec = FUNCTIONS[key];
    const account = new ServiceAccount(ctx.scope, `sa-fn-${spec.name}`, {
      project,
      accountId: names.functionServiceAccount(key),
      displayName: `PEC function ${spec.name}`,
    });
    accounts[key] = account;
    grant(ctx.scope, `fn-${spec.name}`, serviceAccountMember(account), FUNCTION_GRANTS[key](r), iamCtx(ctx));

    const bundle = new TerraformAsset(ctx.scope, `bundle-${spec.name}`, { path: inputs.bundles[key], type: AssetType.ARCHIVE });
    // Named after the content hash: a new bundle is a new object, which is what redeploys the function.
    const object = new StorageBucketObject(ctx.scope, `source-${spec.name}`, {
      bucket: r.buckets.sources.name,
      name: `${spec.name}/${bundle.assetHash}.zip`,
      source: bundle.path,
    });
    const vpc = NEEDS_VPC[key];
    fns[key] = new Cloudfunctions2Function(ctx.scope, `function-${spec.name}`, {
      project,
      location: region,
      name: names.function(key),
      description: inputs.placeholderBundles ? 'PLACEHOLDER BUNDLE: synthesized for review, do not deploy' : `PEC pipeline: ${spec.name}`,
      buildConfig: {
        runtime: config.functionsRuntime,
        entryPoint: spec.entryPoint,
        source: { storageSource: { bucket: r.buckets.sources.name, object: object.name } },
        serviceAccount: builder.id,
        dockerRepository: repository.id,
      },
      serviceConfig: {
        serviceAccountEmail: account.email,
        availableMemory: `${spec.memoryMb}Mi`,
        // Explicit where the spec says so: otherwise Cloud Run derives the CPU from the memory.
        ...('vcpu' in spec ? { availableCpu: String(spec.vcpu) } : {}),
        timeoutSeconds: spec.timeoutSeconds,
        // The concurrency cap: for extract, how many municipal servers are read at once.
        maxInstanceCount: key === 'extract' ? (config.maxExtractInstances ?? spec.maxInstances) : spec.maxInstances,
        minInstanceCount: 0,
        // One request per instance: an extract streams one municipality with all the instance's memory.
        maxInstanceRequestConcurrency: MAX_REQUESTS_PER_INSTANCE,
        // Reachable only from inside the project (Pub/Sub push, Workflows, Scheduler, the VPC), and
        // even then only with an identity holding run.invoker on this function.
        ingressSettings: 'ALLOW_INTERNAL_ONLY',
        allTrafficOnLatestRevision: true,
        environmentVariables: functionEnvironment(key, values),
        ...(vpc ? { vpcConnector: r.network.connectorId, vpcConnectorEgressSettings: r.network.egress } : {}),
      },
    });
  }

  const subscriptions = delivery(ctx, r.topics, fns);
  return { functions: fns, accounts, subscriptions };
}

/** https://<service>-<hash>-rj.a.run.app of a 2nd-gen function. */
export function serviceUri(fn: Cloudfunctions2Function): string {
  return fn.serviceConfig.uri;
}

/** Push subscriptions (see DELIVERY) and the identity Pub/Sub uses to call the functions. */
function delivery(ctx: StackContext, topics: Topics, fns: Record<FunctionKey, Cloudfunctions2Function>): Partial<Record<FunctionKey, PubsubSubscription>> {
  const { config, names } = ctx;
  const pusher = new ServiceAccount(ctx.scope, 'sa-pubsub-push', {
    project: config.projectId,
    accountId: names.serviceAccount('pubsub-push'),
    displayName: 'PEC: Pub/Sub push to functions',
  });
  // Pub/Sub mints the OIDC token of each push as this account (needed explicitly on older projects).
  grant(ctx.scope, 'pubsub-agent', topics.pubsubAgent, [{ on: 'serviceAccount', account: pusher, role: 'roles/iam.serviceAccountTokenCreator' }], iamCtx(ctx));

  const out: Partial<Record<FunctionKey, PubsubSubscription>> = {};
  for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
    const spec: (typeof FUNCTIONS)[FunctionKey] = FUNCTIONS[key];
    if (spec.trigger.kind !== 'pubsub') continue;
    if (!pushed(key)) throw new Error(`function ${key} is triggered by Pub/Sub but has no DELIVERY.maxDeliveryAttempts entry in shared/contracts/functions.ts`);
    const topic = topics.topics[spec.trigger.topic];
    const fn = fns[key];
    // The run.app address of the function's Cloud Run service: the audience Cloud Run checks, and
    // an address Pub/Sub push counts as internal traffic (ingress ALLOW_INTERNAL_ONLY).
    const uri = serviceUri(fn);
    grant(ctx.scope, 'pubsub-push', serviceAccountMember(pusher), [{ on: 'function', fn, role: 'roles/run.invoker' }], iamCtx(ctx));
    const sub = new PubsubSubscription(ctx.scope, `subscription-${spec.name}`, {
      project: config.projectId,
      name: names.subscription(spec.trigger.topic, key),
      topic: topic.id,
      // Push waits this long for the HTTP answer: longer than the function's timeout, or Pub/Sub
      // would redeliver a message that is still being processed.
      ackDeadlineSeconds: ackDeadlineSeconds(key),
      messageRetentionDuration: `${DELIVERY.messageRetentionSeconds}s`,
      expirationPolicy: { ttl: '' },
      retryPolicy: { minimumBackoff: `${DELIVERY.minimumBackoffSeconds}s`, maximumBackoff: `${DELIVERY.maximumBackoffSeconds}s` },
      deadLetterPolicy: { deadLetterTopic: topics.topics.deadLetter.id, maxDeliveryAttempts: DELIVERY.maxDeliveryAttempts[key] },
      pushConfig: {
        // The path names the topic for the functions framework's Pub/Sub-push → CloudEvent conversion.
        pushEndpoint: `${uri}/projects/${config.projectId}/topics/${topic.name}`,
        oidcToken: { serviceAccountEmail: pusher.email, audience: uri },
      },
    });
    // Forwarding to the dead-letter topic acks on the source subscription as the Pub/Sub service agent.
    grant(ctx.scope, 'pubsub-agent', topics.pubsubAgent, [{ on: 'subscription', subscription: sub, role: 'roles/pubsub.subscriber' }], iamCtx(ctx));
    out[key] = sub;
  }
  return out;
}
