import YAML from 'yaml';
import { FUNCTIONS, type FunctionSpec } from '../shared/contracts/functions';
import { TOPICS, type TopicKey } from '../shared/contracts/messages';
import type { MunicipalityRegistry } from '../shared/contracts/municipalities';
import { workflowsVariableBytes } from '../shared/workflow/workflow-memory';
import { ERROR_CLASS_NAMES } from '../shared/errors';
import { MAX_DISPATCH_PAGE, MAX_LOADABLE_LISTED } from '../shared/run/run-status';
import { MART_NAMES, REFRESHED_MART_NAMES, bigQueryMartProcedures } from '../shared/marts/marts';
import { PEC_TABLES } from '../shared/tables/pec-tables';
import type { EnvironmentConfig } from './config';
import { GOOGLE_LIMITS, type LimitId } from './limits';
import { MAX_REQUESTS_PER_INSTANCE } from './modules/functions';
import { deployedProcedureBody } from './modules/bigquery';
import { TUNNELS_PER_SITE, ROUTERS_PER_SPOKE, vpnPlan } from './vpn-plan';

/**
 * How much of each limit a deployment uses, from the same registry and config the stack is built
 * from (the resource counts are checked against the synthesized JSON in test/infra/limits.test.ts),
 * plus the daily run's use of BigQuery and Workflows under the stated assumptions.
 */

/** Share of municipalities re-run (and re-loaded one by one) on a bad day. An assumption, not a measurement. */
export const RERUN_SHARE = 0.1;

/**
 * The largest run-status summary the workflow can hold, in Workflows' accounting: counts, retries
 * per error class, at most MAX_LOADABLE_LISTED loadable municipalities and one dispatch page of at
 * most MAX_DISPATCH_PAGE — the contract's own caps, so the figure does not grow with the number of
 * municipalities (test/unit/workflow-limits.test.ts measures every variable of the generated
 * workflow on a real 650-municipality bad-morning bucket). Doubled for the workflow's other
 * variables (run id, cursors, wave counters, the report's counts and pointer).
 */
export function workflowMemoryBytes(): number {
  const ibge = '3509502';
  const counts = Object.fromEntries(['planned', 'done', 'failed', 'pending', 'late', 'loaded', 'loadable', 'skipped', 'queued', 'extracting', 'retrying'].map((k) => [k, 0]));
  const summary = {
    runId: 'daily-20261122',
    createdAt: '2026-11-22T09:00:00.000Z',
    window: { start: '2026-10-18', end: '2026-11-23' },
    complete: false,
    counts,
    retryingByClass: Object.fromEntries(ERROR_CLASS_NAMES.map((c) => [c, 0])),
    loadable: Array.from({ length: MAX_LOADABLE_LISTED }, () => ibge),
    dispatch: { municipalities: Array.from({ length: MAX_DISPATCH_PAGE }, () => ibge), next: 0 },
  };
  return 2 * workflowsVariableBytes(summary);
}

/**
 * Subscriptions each topic holds: one per function pushed from it, and the dead-letter topic's
 * hold. A function of its own (FUNCTIONS by default) so that a table with two consumers of one
 * topic can be counted: today's contract has one subscription on every topic.
 */
export function subscriptionsPerTopic(functions: Record<string, Pick<FunctionSpec, 'trigger'>> = FUNCTIONS): Map<TopicKey, number> {
  const perTopic = new Map<TopicKey, number>([['deadLetter', 1]]);
  for (const f of Object.values(functions)) if (f.trigger.kind === 'pubsub') perTopic.set(f.trigger.topic, (perTopic.get(f.trigger.topic) ?? 0) + 1);
  return perTopic;
}

export interface Use {
  count: number;
  /** How the count was obtained, in words. */
  how: string;
}

export function usage(registry: MunicipalityRegistry, config: EnvironmentConfig, workflowSource: string): Record<LimitId, Use> {
  const plan = vpnPlan(registry, config);
  const n = registry.municipalities.length;
  const tls = registry.municipalities.some((m) => m.network === 'tls');
  const sitesPerSlot = new Map<number, number>();
  for (const s of plan.sites) sitesPerSlot.set(s.slot, (sitesPerSlot.get(s.slot) ?? 0) + 1);
  const routersPerSpoke = new Map<number, number>();
  for (const slot of plan.slots) routersPerSpoke.set(Math.floor(slot / ROUTERS_PER_SPOKE), (routersPerSpoke.get(Math.floor(slot / ROUTERS_PER_SPOKE)) ?? 0) + 1);
  const hubRouters = tls ? 1 : 0;
  const extractInstances = config.maxExtractInstances ?? FUNCTIONS.extract.maxInstances;
  const reruns = Math.ceil(n * RERUN_SHARE);
  const steps = workflowSteps(workflowSource);
  const u = (count: number, how: string): Use => ({ count, how });

  return {
    cloudRoutersPerNetworkRegion: u(
      Math.max(hubRouters, ...routersPerSpoke.values()),
      `hub: ${hubRouters} (NAT); busiest spoke: ${Math.max(0, ...routersPerSpoke.values())} VPN routers`,
    ),
    bgpPeersPerRouter: u(Math.max(0, ...[...sitesPerSlot.values()].map((s) => s * TUNNELS_PER_SITE)), `${TUNNELS_PER_SITE} sessions × sites on the busiest router`),
    vpcPeeringsPerNetwork: u(plan.spokes.length, 'hub ↔ one peering per spoke network'),
    linkLocalBgpBlocks: u(plan.sites.length, 'one /29 per VPN site'),
    cloudRoutersPerProject: u(plan.slots.length + hubRouters, 'VPN routers + NAT router'),
    learnedRoutePrefixes: u(plan.sites.length, 'one presented /32 per VPN site, all imported by the hub'),
    haVpnGateways: u(plan.slots.length, 'one per shared router'),
    vpnTunnels: u(plan.sites.length * TUNNELS_PER_SITE, `${TUNNELS_PER_SITE} per VPN site`),
    externalVpnGateways: u(plan.sites.length, 'one per VPN site'),
    vpcNetworks: u(1 + plan.spokes.length, 'hub + spokes'),
    staticExternalAddresses: u(hubRouters, 'the NAT egress address when any municipality is on TLS'),
    connectorRange: u(config.network.connector.maxInstances, 'network.connector.maxInstances'),
    secretAccessesPerMinute: u(2 * n, 'upper bound: every municipality reads its password and the pseudonym key in the same minute'),
    pubsubSubscriptionsPerTopic: u(Math.max(...subscriptionsPerTopic().values()), `subscriptions per topic (${Object.keys(TOPICS).length} topics)`),
    functionMemory: u(
      (Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]).reduce((sum, k) => sum + FUNCTIONS[k].memoryMb * (k === 'extract' ? extractInstances : FUNCTIONS[k].maxInstances), 0),
      'Σ maxInstanceCount × memory over the functions (extract: maxExtractInstances or FUNCTIONS.extract)',
    ),
    functionConcurrency: u(MAX_REQUESTS_PER_INSTANCE, 'maxInstanceRequestConcurrency of every function'),
    workflowsStepsPerExecution: u(
      steps.fixed + n * steps.perMunicipality,
      `${steps.fixed} + ${steps.perMunicipality} × N steps (every step of the per-municipality loops counted; polling sleeps excluded)`,
    ),
    workflowsVariableMemory: u(
      workflowMemoryBytes(),
      `2 × the largest run-status summary (≤ ${MAX_LOADABLE_LISTED} loadable + ≤ ${MAX_DISPATCH_PAGE} dispatched IBGE codes, counts): independent of the number of municipalities`,
    ),
    workflowsSourceSize: u(Buffer.byteLength(workflowSource), 'bytes of workflows/daily.workflows.yaml'),
    workflowsConcurrentExecutions: u(2, 'the daily execution + one finalize-only'),
    schedulerJobs: u(1, 'the daily trigger'),
    bigQueryLoadJobsPerTablePerDay: u(1 + reruns, `1 daily load per table + ${RERUN_SHARE * 100} % of municipalities re-run and loaded one by one`),
    bigQueryTableModificationsPerDay: u(2 * (1 + reruns), 'one DELETE + one INSERT per raw table per load'),
    bigQueryRoutineBody: u(
      Math.max(...bigQueryMartProcedures().map((p) => deployedProcedureBody(p, config).length)),
      `characters of the largest of the ${REFRESHED_MART_NAMES.length} mart procedures' bodies, this environment's datasets bound in`,
    ),
    bigQueryLoadJobsPerProjectPerDay: u(PEC_TABLES.length * (1 + reruns) + MART_NAMES.length, `${PEC_TABLES.length} tables × loads a day (marts are query jobs)`),
  };
}

/**
 * Steps of the generated workflow, read from its YAML: those inside a `for` over municipalities
 * (run once per municipality) and the others (once per execution). Every step of a loop body is
 * counted, as if every branch ran: an upper bound per municipality. Polling (sys.sleep loops) is
 * not counted: it depends on how long the sources take.
 */
export function workflowSteps(source: string): { fixed: number; perMunicipality: number } {
  const doc = YAML.parse(source) as Record<string, { steps?: unknown[] }>;
  let fixed = 0;
  let perMunicipality = 0;
  const walk = (steps: unknown, inLoop: boolean): void => {
    if (!Array.isArray(steps)) return;
    for (const entry of steps) {
      if (!entry || typeof entry !== 'object') continue;
      for (const body of Object.values(entry as Record<string, unknown>)) {
        if (inLoop) perMunicipality++;
        else fixed++;
        if (!body || typeof body !== 'object') continue;
        const b = body as Record<string, unknown>;
        if (b.for && typeof b.for === 'object') {
          const f = b.for as { in?: unknown; steps?: unknown };
          walk(f.steps, inLoop || (typeof f.in === 'string' && /municipalities/.test(f.in)));
        }
        if (Array.isArray(b.steps)) walk(b.steps, inLoop);
        if (Array.isArray(b.switch)) for (const c of b.switch as { steps?: unknown }[]) walk(c.steps, inLoop);
        if (b.try && typeof b.try === 'object') walk((b.try as { steps?: unknown }).steps, inLoop);
        if (b.except && typeof b.except === 'object') walk((b.except as { steps?: unknown }).steps, inLoop);
        if (b.parallel && typeof b.parallel === 'object') {
          const p = b.parallel as { branches?: unknown[]; for?: { steps?: unknown; in?: unknown } };
          for (const br of p.branches ?? []) for (const v of Object.values(br as object)) walk((v as { steps?: unknown }).steps, inLoop);
          if (p.for) walk(p.for.steps, inLoop || (typeof p.for.in === 'string' && /municipalities/.test(p.for.in)));
        }
      }
    }
  };
  walk(doc.main?.steps, false);
  return { fixed, perMunicipality };
}

export interface LimitRow {
  id: LimitId;
  use: Use;
  /**
   * within: under the documented value. check: a quota without a documented default: confirm the
   * console shows at least the count before applying. raise: over a documented default quota: raise
   * it before applying. over: a fixed limit the design breaks at this size.
   */
  verdict: 'within' | 'check' | 'raise' | 'over';
}

export function evaluate(registry: MunicipalityRegistry, config: EnvironmentConfig, workflowSource: string): LimitRow[] {
  const use = usage(registry, config, workflowSource);
  return (Object.keys(GOOGLE_LIMITS) as LimitId[]).map((id) => {
    const l = GOOGLE_LIMITS[id];
    const count = use[id].count;
    const verdict = l.value === null ? (count > 0 ? 'check' : 'within') : count <= l.value ? 'within' : l.kind === 'quota' ? 'raise' : 'over';
    return { id, use: use[id], verdict };
  });
}
