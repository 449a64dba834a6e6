/**
 * Every Google limit and default quota the topology touches, with the documented value and the page
 * it comes from. `limit`: fixed by Google (the design must stay under it). `quota`: a per-project
 * default that can be raised on request; `value: null` where Google's page gives no number (the
 * default is project-specific and shown on the console's Quotas page): docs/limits.md lists what to
 * raise it to before applying. The usage model that counts each one is infra-cdktf/limits-model.ts.
 */

export type LimitKind = 'limit' | 'quota';

export interface GoogleLimit {
  what: string;
  kind: LimitKind;
  /** The documented value; null: no documented default (see the console). */
  value: number | null;
  per: string;
  source: string;
  /** What moves this ceiling if the design reaches it. */
  moves: string;
}

const ROUTER = 'https://cloud.google.com/network-connectivity/docs/router/quotas';
const VPN = 'https://cloud.google.com/network-connectivity/docs/vpn/quotas';
const VPC = 'https://cloud.google.com/vpc/docs/quota';
const COMPUTE = 'https://cloud.google.com/compute/resource-usage';
const CONNECTOR = 'https://cloud.google.com/vpc/docs/serverless-vpc-access';
const PUBSUB = 'https://cloud.google.com/pubsub/quotas';
const SECRETS = 'https://cloud.google.com/secret-manager/quotas';
const FUNCTIONS = 'https://cloud.google.com/functions/quotas';
const CONCURRENCY = 'https://cloud.google.com/run/docs/about-concurrency';
const WORKFLOWS = 'https://cloud.google.com/workflows/quotas';
const SCHEDULER = 'https://cloud.google.com/scheduler/quotas';
const BIGQUERY = 'https://cloud.google.com/bigquery/quotas';
const HA_VPN = 'https://cloud.google.com/network-connectivity/docs/vpn/how-to/creating-ha-vpn';

export const GOOGLE_LIMITS = {
  cloudRoutersPerNetworkRegion: {
    what: 'Cloud Routers per VPC network and region',
    kind: 'limit',
    value: 5,
    per: 'network × region',
    source: ROUTER,
    moves: 'another spoke network (vpn-plan.ts): the hub peers with up to vpcPeeringsPerNetwork spokes',
  },
  bgpPeersPerRouter: {
    what: 'BGP peers per Cloud Router',
    kind: 'limit',
    value: 128,
    per: 'router',
    source: ROUTER,
    moves: 'another router (64 two-tunnel sites each); placement follows the /29 in network.vpnBgp',
  },
  vpcPeeringsPerNetwork: {
    what: 'VPC Network Peering connections per network',
    kind: 'limit',
    value: 25,
    per: 'network',
    source: VPC,
    moves: 'a second hub with its own connector and extract function, or Network Connectivity Center instead of peering',
  },
  linkLocalBgpBlocks: {
    what: 'BGP /29 blocks in 169.254.0.0/16 outside 169.254.169.0/24',
    kind: 'limit',
    value: 8192 - 32,
    per: 'project',
    source: HA_VPN,
    moves: 'nothing needed below 8,160 sites',
  },
  cloudRoutersPerProject: {
    what: 'Cloud Routers',
    kind: 'quota',
    value: null,
    per: 'project',
    source: ROUTER,
    moves: 'quota increase request',
  },
  learnedRoutePrefixes: {
    what: 'Unique dynamic route prefixes learned from own region, per region and VPC network (peering group)',
    kind: 'quota',
    value: null,
    per: 'network × region',
    source: ROUTER,
    moves: 'quota increase; or presented addresses aggregated per router (one /26 per 64 sites) announced by the municipalities',
  },
  haVpnGateways: {
    what: 'HA VPN gateways',
    kind: 'quota',
    value: null,
    per: 'project × region',
    source: VPN,
    moves: 'quota increase request',
  },
  vpnTunnels: {
    what: 'VPN tunnels (Classic + HA)',
    kind: 'quota',
    value: null,
    per: 'project × region',
    source: VPN,
    moves: 'quota increase request',
  },
  externalVpnGateways: {
    what: 'External VPN gateways',
    kind: 'quota',
    value: null,
    per: 'project',
    source: VPN,
    moves: 'quota increase request',
  },
  vpcNetworks: {
    what: 'VPC networks',
    kind: 'quota',
    value: null,
    per: 'project',
    source: VPC,
    moves: 'quota increase request',
  },
  staticExternalAddresses: {
    what: 'Static external IPv4 addresses (regional)',
    kind: 'quota',
    value: null,
    per: 'project × region',
    source: COMPUTE,
    moves: 'one address serves every TLS municipality: never grows',
  },
  connectorRange: {
    what: 'Serverless VPC Access connector range (a /28) and its instances',
    kind: 'limit',
    value: 10,
    per: 'connector',
    source: CONNECTOR,
    moves: 'e2-standard-4 connector machines, or Direct VPC egress (provider 7.x, see network.ts)',
  },
  secretAccessesPerMinute: {
    what: 'Secret Manager access requests per minute',
    kind: 'quota',
    value: 90_000,
    per: 'project',
    source: SECRETS,
    moves: 'quota increase; the extract reads two secrets per invocation',
  },
  pubsubSubscriptionsPerTopic: {
    what: 'Pub/Sub subscriptions per topic',
    kind: 'limit',
    value: 10_000,
    per: 'topic',
    source: PUBSUB,
    moves: 'never grows with municipalities (one subscription per consuming function)',
  },
  functionMemory: {
    what: 'Cloud Run functions memory of all instances at their caps, MiB (the "Max project memory" quota)',
    kind: 'quota',
    value: null,
    per: 'project × region',
    source: FUNCTIONS,
    moves: 'quota increase; more extract instances shorten the daily run (N × time per municipality / instances)',
  },
  functionConcurrency: {
    what: 'Requests per instance when the instance has less than 1 vCPU',
    kind: 'limit',
    value: 1,
    per: 'instance',
    source: CONCURRENCY,
    moves: 'a 1-vCPU instance; the extract streams one municipality per instance on purpose',
  },
  workflowsStepsPerExecution: {
    what: 'Workflows steps per execution',
    kind: 'limit',
    value: 100_000,
    per: 'execution',
    source: WORKFLOWS,
    moves: 'fewer steps per municipality in the generated YAML, or one execution per cohort',
  },
  workflowsVariableMemory: {
    what: 'Workflows memory for variables and arguments (bytes)',
    kind: 'limit',
    value: 512 * 1024,
    per: 'execution',
    source: WORKFLOWS,
    moves: 'already bounded: the workflow holds counts and pages of the run status (MAX_LOADABLE_LISTED, MAX_DISPATCH_PAGE), not lists; smaller pages if a new variable grows',
  },
  workflowsSourceSize: {
    what: 'Workflows source size (bytes)',
    kind: 'limit',
    value: 128 * 1024,
    per: 'workflow',
    source: WORKFLOWS,
    moves: 'never grows with municipalities',
  },
  workflowsConcurrentExecutions: {
    what: 'Workflows concurrent executions',
    kind: 'quota',
    value: 5_000,
    per: 'project × region',
    source: WORKFLOWS,
    moves: 'never grows with municipalities (one daily execution)',
  },
  schedulerJobs: {
    what: 'Cloud Scheduler jobs',
    kind: 'quota',
    value: null,
    per: 'project × region',
    source: SCHEDULER,
    moves: 'never grows with municipalities',
  },
  bigQueryLoadJobsPerTablePerDay: {
    what: 'BigQuery load jobs per table per day',
    kind: 'limit',
    value: 1_500,
    per: 'table',
    source: BIGQUERY,
    moves: 'reruns batched into one load per table (the daily run already is)',
  },
  bigQueryTableModificationsPerDay: {
    what: 'BigQuery table modifications (load, DML, copy) per table per day',
    kind: 'limit',
    value: 1_500,
    per: 'table',
    source: BIGQUERY,
    moves: 'reruns batched into one load per table (the daily run already is: one DELETE + one INSERT per raw table)',
  },
  bigQueryRoutineBody: {
    // A CALL runs the body as one multi-statement query; the quotas page gives no separate figure for SQL procedures.
    what: 'BigQuery stored procedure body (characters; held to the GoogleSQL query length)',
    kind: 'limit',
    value: 1024 * 1024,
    per: 'routine',
    source: BIGQUERY,
    moves: "grows with the indicators, not with municipalities: split a mart's refresh into procedures the first one CALLs in turn",
  },
  bigQueryLoadJobsPerProjectPerDay: {
    what: 'BigQuery load jobs per project per day',
    kind: 'limit',
    value: 100_000,
    per: 'project',
    source: BIGQUERY,
    moves: 'reruns batched',
  },
} as const satisfies Record<string, GoogleLimit>;
export type LimitId = keyof typeof GOOGLE_LIMITS;
