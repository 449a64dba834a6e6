import fs from 'node:fs';
import path from 'node:path';
import { WORKFLOW_FILE } from '../../infra-cdktf/limits-cli';
import { GOOGLE_LIMITS, type LimitId } from '../../infra-cdktf/limits';
import { evaluate, subscriptionsPerTopic, usage, workflowMemoryBytes, workflowSteps } from '../../infra-cdktf/limits-model';
import { readEnvironmentConfig, readRegistry } from '../../infra-cdktf/inputs';
import { deployedProcedureBody } from '../../infra-cdktf/modules/bigquery';
import { syntheticDeployment, type NetworkMix } from '../../infra-cdktf/synthetic';
import { FUNCTIONS } from '../../shared/contracts/functions';
import { TOPICS } from '../../shared/contracts/messages';
import { ERROR_CLASS_NAMES } from '../../shared/errors';
import { MART_NAMES, REFRESHED_MART_NAMES, bigQueryMartProcedures } from '../../shared/marts/marts';
import { MAX_DISPATCH_PAGE, MAX_LOADABLE_LISTED } from '../../shared/run/run-status';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { repoRoot } from './support/synth';

/**
 * infra-cdktf/limits-model.ts without a stack: how workflow steps are counted (on a workflow
 * written here with every construct the walker knows), and usage figures computed by hand for the
 * dev deployment. limits.test.ts checks the model against three synthesized 650-municipality stacks.
 */

const WORKFLOW = `
main:
  steps:
    - init:
        assign: []
    - nothing: null
    - perMunicipality:
        for:
          value: m
          in: \${municipalities}
          steps:
            - log:
                call: sys.log
            - guarded:
                try:
                  steps:
                    - get:
                        call: http.get
                except:
                  as: e
                  steps:
                    - note:
                        call: sys.log
    - pages:
        for:
          value: p
          in: \${pages}
          steps:
            - one:
                call: sys.log
    - fan:
        parallel:
          branches:
            - left:
                steps:
                  - l1:
                      call: sys.log
          for:
            value: m
            in: \${municipalities_page}
            steps:
              - p1:
                  call: sys.log
    - grouped:
        steps:
          - g1:
              call: sys.log
    - choose:
        switch:
          - condition: true
            steps:
              - s1:
                  call: sys.log
    - listed:
        for:
          value: x
          in: [municipalities]
          steps:
            - x1:
                call: sys.log
    - 42
    - null
    - odd:
        for: null
        try: null
        except: null
        parallel: null
    - text: just text
    - fan2:
        parallel:
          branches:
            - right:
                steps:
                  - r1:
                      call: sys.log
    - fan3:
        parallel:
          for:
            value: p
            in: \${pages}
            steps:
              - q1:
                  call: sys.log
`;

describe('workflowSteps', () => {
  test('steps inside a for over municipalities count per municipality (try, except and parallel for included); the rest once', () => {
    // fixed: init, nothing, perMunicipality, pages, one, fan, l1, grouped, g1, choose, s1, listed, x1,
    // odd, text, fan2, r1, fan3, q1 (entries that are not objects are not steps)
    // per municipality: log, guarded, get, note, p1 (a loop whose `in` is not an expression is not one)
    expect(workflowSteps(WORKFLOW)).toEqual({ fixed: 19, perMunicipality: 5 });
  });

  test('a workflow without main has no steps', () => {
    expect(workflowSteps('other:\n  steps: []\n')).toEqual({ fixed: 0, perMunicipality: 0 });
  });
});

describe('usage, dev deployment (3 municipalities, maxExtractInstances 5)', () => {
  const config = readEnvironmentConfig(repoRoot, 'dev');
  const registry = readRegistry(path.resolve(repoRoot, config.registryFile));
  const workflow = fs.readFileSync(WORKFLOW_FILE, 'utf8');

  test('function memory: Σ instances × memory, extract capped by the config', () => {
    expect(config.maxExtractInstances).toBe(5);
    // fan-out 256 × 2, extract 256 × 5, load 512 × 1, run-status 256 × 5, run-report 512 × 2.
    expect([FUNCTIONS.fanOut.maxInstances, FUNCTIONS.load.maxInstances, FUNCTIONS.runStatus.maxInstances, FUNCTIONS.runReport.maxInstances]).toEqual([2, 1, 5, 2]);
    expect(usage(registry, config, workflow).functionMemory.count).toBe(512 + 1280 + 512 + 1280 + 1024);
  });

  test('workflow steps: fixed + N × per municipality', () => {
    // The generated workflow pages municipalities today (no per-municipality loop); the workflow above has one.
    expect(usage(registry, config, WORKFLOW).workflowsStepsPerExecution.count).toBe(19 + 3 * 5);
    const { fixed, perMunicipality } = workflowSteps(workflow);
    expect(usage(registry, config, workflow).workflowsStepsPerExecution.count).toBe(fixed + 3 * perMunicipality);
  });

  test('one subscription per topic today (each topic has at most one pushed function; the dead-letter topic its hold)', () => {
    expect(usage(registry, config, workflow).pubsubSubscriptionsPerTopic.count).toBe(1);
  });
});

/**
 * The usage model value by value at the production target, 650 municipalities (prod config, the
 * generated workflow), for each network mix. Every expected figure is worked out here from Google's
 * documented limits (GOOGLE_LIMITS), the placement rules (64 two-tunnel sites per router, 5 routers
 * per spoke network) and the definitions the model reads (FUNCTIONS, the run-status caps, the
 * tables and marts), so that a wrong figure fails the assertion that names it, not only the
 * comparison of the whole docs/limits.md (limits-doc.test.ts).
 */
describe('usage and verdicts at 650 municipalities (prod)', () => {
  const base = readEnvironmentConfig(repoRoot, 'prod');
  const workflow = fs.readFileSync(WORKFLOW_FILE, 'utf8');
  const N = 650;
  const sitesPerRouter = GOOGLE_LIMITS.bgpPeersPerRouter.value / 2; // two tunnels (one BGP session each) per site
  const routersPerSpoke = GOOGLE_LIMITS.cloudRoutersPerNetworkRegion.value;
  const reruns = Math.ceil(N / 10); // RERUN_SHARE: one municipality in ten

  /** The figures that depend on the network mix, from the number of VPN sites (each municipality its own site). */
  function networkExpected(vpnSites: number, anyTls: boolean) {
    const routers = Math.ceil(vpnSites / sitesPerRouter);
    const spokes = Math.ceil(routers / routersPerSpoke);
    const nat = anyTls ? 1 : 0;
    const busiestSpoke = Math.min(routers, routersPerSpoke);
    const busiestRouter = Math.min(vpnSites, sitesPerRouter);
    return {
      cloudRoutersPerNetworkRegion: { count: Math.max(nat, busiestSpoke), how: `hub: ${nat} (NAT); busiest spoke: ${busiestSpoke} VPN routers` },
      bgpPeersPerRouter: { count: 2 * busiestRouter, how: '2 sessions × sites on the busiest router' },
      vpcPeeringsPerNetwork: { count: spokes, how: 'hub ↔ one peering per spoke network' },
      linkLocalBgpBlocks: { count: vpnSites, how: 'one /29 per VPN site' },
      cloudRoutersPerProject: { count: routers + nat, how: 'VPN routers + NAT router' },
      learnedRoutePrefixes: { count: vpnSites, how: 'one presented /32 per VPN site, all imported by the hub' },
      haVpnGateways: { count: routers, how: 'one per shared router' },
      vpnTunnels: { count: 2 * vpnSites, how: '2 per VPN site' },
      externalVpnGateways: { count: vpnSites, how: 'one per VPN site' },
      vpcNetworks: { count: 1 + spokes, how: 'hub + spokes' },
      staticExternalAddresses: { count: nat, how: 'the NAT egress address when any municipality is on TLS' },
    };
  }

  test.each<[NetworkMix, number, boolean]>([
    ['vpn', 650, false],
    ['tls', 0, true],
    ['mix', 325, true],
  ])('network figures, %s (%d VPN sites)', (mix, vpnSites, anyTls) => {
    const { registry, config } = syntheticDeployment(base, N, mix);
    const use = usage(registry, config, workflow);
    const expected = networkExpected(vpnSites, anyTls);
    for (const [id, e] of Object.entries(expected)) expect({ id, ...use[id as LimitId] }).toEqual({ id, ...e });
  });

  test('network figures worked out for the all-VPN case: 11 routers on 3 spokes (5, 5, 1), 128 peers on a full router', () => {
    const e = networkExpected(650, false);
    expect([e.cloudRoutersPerProject.count, e.vpcPeeringsPerNetwork.count, e.cloudRoutersPerNetworkRegion.count, e.bgpPeersPerRouter.count]).toEqual([11, 3, 5, 128]);
    // Half and half: 325 sites → 6 routers on 2 spokes, plus the hub's NAT router.
    const m = networkExpected(325, true);
    expect([m.cloudRoutersPerProject.count, m.vpcPeeringsPerNetwork.count, m.cloudRoutersPerNetworkRegion.count]).toEqual([7, 2, 5]);
  });

  test('a hub with only its NAT router is the busiest network when the spokes hold none', () => {
    // One VPN site and TLS municipalities: spoke 0 has one router, the hub one (NAT): both 1.
    const { registry, config } = syntheticDeployment(base, 2, 'mix');
    expect(usage(registry, config, workflow).cloudRoutersPerNetworkRegion).toEqual({ count: 1, how: 'hub: 1 (NAT); busiest spoke: 1 VPN routers' });
  });

  describe('figures that do not depend on the network', () => {
    // Built inside each test, not here: Stryker then runs a mutant only against the tests that executed it.
    const at650 = () => {
      const { registry, config } = syntheticDeployment(base, N, 'vpn');
      return { registry, config, use: usage(registry, config, workflow) };
    };

    test('connector instances and Secret Manager reads (password + pseudonym key per municipality)', () => {
      const { use } = at650();
      expect(use.connectorRange).toEqual({ count: base.network.connector.maxInstances, how: 'network.connector.maxInstances' });
      expect(use.secretAccessesPerMinute).toEqual({ count: 1300, how: 'upper bound: every municipality reads its password and the pseudonym key in the same minute' });
    });

    test('Pub/Sub: the busiest topic has one subscription per pushed function on it, the dead-letter topic its hold', () => {
      const { use } = at650();
      const perTopic: Record<string, number> = { deadLetter: 1 };
      for (const f of Object.values(FUNCTIONS)) if (f.trigger.kind === 'pubsub') perTopic[f.trigger.topic] = (perTopic[f.trigger.topic] ?? 0) + 1;
      expect(use.pubsubSubscriptionsPerTopic).toEqual({ count: Math.max(...Object.values(perTopic)), how: `subscriptions per topic (${Object.keys(TOPICS).length} topics)` });
      expect(use.pubsubSubscriptionsPerTopic.count).toBe(1);
    });

    test('Pub/Sub: two functions pushed from one topic make two subscriptions on it; the dead-letter topic holds one', () => {
      const perTopic = subscriptionsPerTopic({
        a: { trigger: { kind: 'pubsub', topic: 'loadRequests' } },
        b: { trigger: { kind: 'pubsub', topic: 'loadRequests' } },
        c: { trigger: { kind: 'pubsub', topic: 'runRequests' } },
        d: { trigger: { kind: 'http' } },
      });
      expect(Object.fromEntries(perTopic)).toEqual({ deadLetter: 1, loadRequests: 2, runRequests: 1 });
      expect(Object.fromEntries(subscriptionsPerTopic({}))).toEqual({ deadLetter: 1 });
    });

    test('function memory: every function at its instance cap; prod leaves extract at FUNCTIONS.extract.maxInstances', () => {
      const { registry, config, use } = at650();
      expect(base.maxExtractInstances).toBeUndefined();
      let mib = 0;
      for (const f of Object.values(FUNCTIONS)) mib += f.memoryMb * f.maxInstances;
      expect(use.functionMemory).toEqual({ count: mib, how: 'Σ maxInstanceCount × memory over the functions (extract: maxExtractInstances or FUNCTIONS.extract)' });
      // With the extract capped at 7 instances: its share changes, the others' stays.
      const capped = usage(registry, { ...config, maxExtractInstances: 7 }, workflow).functionMemory.count;
      expect(capped).toBe(mib - FUNCTIONS.extract.memoryMb * FUNCTIONS.extract.maxInstances + FUNCTIONS.extract.memoryMb * 7);
      expect(capped).not.toBe(mib);
    });

    test('request concurrency: one request per instance, at Google’s limit for instances under one vCPU', () => {
      const { use } = at650();
      expect(use.functionConcurrency).toEqual({ count: GOOGLE_LIMITS.functionConcurrency.value, how: 'maxInstanceRequestConcurrency of every function' });
    });

    test('workflow steps, memory and source size', () => {
      const { registry, config, use } = at650();
      const { fixed, perMunicipality } = workflowSteps(workflow);
      expect(use.workflowsStepsPerExecution).toEqual({
        count: fixed + N * perMunicipality,
        how: `${fixed} + ${perMunicipality} × N steps (every step of the per-municipality loops counted; polling sleeps excluded)`,
      });
      expect(usage(registry, config, WORKFLOW).workflowsStepsPerExecution.count).toBe(19 + 650 * 5);
      expect(use.workflowsSourceSize).toEqual({ count: fs.statSync(WORKFLOW_FILE).size, how: 'bytes of workflows/daily.workflows.yaml' });
      expect(use.workflowsVariableMemory).toEqual({
        count: 2 * largestSummaryBytes(),
        how: `2 × the largest run-status summary (≤ ${MAX_LOADABLE_LISTED} loadable + ≤ ${MAX_DISPATCH_PAGE} dispatched IBGE codes, counts): independent of the number of municipalities`,
      });
      expect(workflowMemoryBytes()).toBe(2 * largestSummaryBytes());
    });

    test('one daily execution plus a finalize-only one; one scheduler job', () => {
      const { use } = at650();
      expect(use.workflowsConcurrentExecutions).toEqual({ count: 2, how: 'the daily execution + one finalize-only' });
      expect(use.schedulerJobs).toEqual({ count: 1, how: 'the daily trigger' });
    });

    test('BigQuery: a daily load per table plus one per re-run municipality (10 %: 65 at 650), DELETE + INSERT each', () => {
      const { use } = at650();
      expect(reruns).toBe(65);
      expect(use.bigQueryLoadJobsPerTablePerDay).toEqual({ count: 1 + reruns, how: '1 daily load per table + 10 % of municipalities re-run and loaded one by one' });
      expect(use.bigQueryTableModificationsPerDay).toEqual({ count: 2 + 2 * reruns, how: 'one DELETE + one INSERT per raw table per load' });
      expect(use.bigQueryLoadJobsPerProjectPerDay).toEqual({
        count: PEC_TABLES.length + PEC_TABLES.length * reruns + MART_NAMES.length,
        how: `${PEC_TABLES.length} tables × loads a day (marts are query jobs)`,
      });
      // 651 municipalities: 65.1 re-runs round up to 66.
      const { registry: r651, config: c651 } = syntheticDeployment(base, 651, 'tls');
      expect(usage(r651, c651, workflow).bigQueryLoadJobsPerTablePerDay.count).toBe(67);
    });

    test('the largest mart procedure body, with the environment’s datasets bound in', () => {
      const { config, use } = at650();
      const lengths = bigQueryMartProcedures()
        .map((p) => deployedProcedureBody(p, config).length)
        .sort((a, b) => b - a);
      expect(lengths.length).toBeGreaterThan(1);
      expect(lengths[0]).toBeGreaterThan(lengths[lengths.length - 1]!);
      expect(use.bigQueryRoutineBody).toEqual({
        count: lengths[0],
        how: `characters of the largest of the ${REFRESHED_MART_NAMES.length} mart procedures' bodies, this environment's datasets bound in`,
      });
    });
  });

  test.each<NetworkMix>(['vpn', 'tls', 'mix'])('verdicts, %s: within a documented value; check a quota without one when used; within when unused', (mix) => {
    const { registry, config } = syntheticDeployment(base, N, mix);
    const use = usage(registry, config, workflow);
    for (const row of evaluate(registry, config, workflow)) {
      const l = GOOGLE_LIMITS[row.id];
      const count = use[row.id].count;
      const expected = l.value === null ? (count === 0 ? 'within' : 'check') : count > l.value ? 'not expected at 650' : 'within';
      expect({ id: row.id, use: row.use, verdict: row.verdict }).toEqual({ id: row.id, use: use[row.id], verdict: expected });
    }
    // TLS only: no VPN quota is used (within), the NAT address is (check).
    if (mix === 'tls') {
      const v = Object.fromEntries(evaluate(registry, config, workflow).map((r) => [r.id, r.verdict]));
      expect([v.vpnTunnels, v.haVpnGateways, v.staticExternalAddresses]).toEqual(['within', 'within', 'check']);
    }
  });

  test('verdicts over a documented value: a quota is to be raised, a limit is over; at the value itself, within', () => {
    const { registry, config } = syntheticDeployment(base, N, 'tls');
    const verdictOf = (id: LimitId, c: typeof config, r = registry) => evaluate(r, c, workflow).find((row) => row.id === id)!.verdict;
    const connector = GOOGLE_LIMITS.connectorRange.value; // a fixed limit
    const at = { ...config, network: { ...config.network, connector: { ...config.network.connector, maxInstances: connector } } };
    const past = { ...config, network: { ...config.network, connector: { ...config.network.connector, maxInstances: connector + 1 } } };
    expect(verdictOf('connectorRange', at)).toBe('within');
    expect(verdictOf('connectorRange', past)).toBe('over');
    // Secret Manager's default quota (90,000 a minute), two reads per municipality: 45,000 is at it, 45,001 past it.
    const quota = GOOGLE_LIMITS.secretAccessesPerMinute.value;
    const atQuota = syntheticDeployment(base, quota / 2, 'tls');
    const pastQuota = syntheticDeployment(base, quota / 2 + 1, 'tls');
    expect(verdictOf('secretAccessesPerMinute', atQuota.config, atQuota.registry)).toBe('within');
    expect(verdictOf('secretAccessesPerMinute', pastQuota.config, pastQuota.registry)).toBe('raise');
  });
});

/**
 * The largest run-status summary in Workflows' memory accounting (workflows syntax reference,
 * "Memory usage": a number or boolean 8 bytes, a string 8 + its UTF-8 bytes, a list 8 + its
 * elements, a map 8 + its keys and values), worked out field by field: the run's counts, the
 * retries per error class, MAX_LOADABLE_LISTED loadable and MAX_DISPATCH_PAGE dispatched IBGE codes.
 */
function largestSummaryBytes(): number {
  const str = (s: string) => 8 + Buffer.byteLength(s);
  const scalar = 8;
  const ibge = str('3509502'); // any 7-digit IBGE code
  const map = (entries: [string, number][]) => 8 + entries.reduce((n, [k, v]) => n + str(k) + v, 0);
  const counts = ['planned', 'done', 'failed', 'pending', 'late', 'loaded', 'loadable', 'skipped', 'queued', 'extracting', 'retrying'];
  return map([
    ['runId', str('daily-20261122')],
    ['createdAt', str('2026-11-22T09:00:00.000Z')],
    [
      'window',
      map([
        ['start', str('2026-10-18')],
        ['end', str('2026-11-23')],
      ]),
    ],
    ['complete', scalar],
    ['counts', map(counts.map((k) => [k, scalar]))],
    ['retryingByClass', map(ERROR_CLASS_NAMES.map((c) => [c, scalar]))],
    ['loadable', 8 + MAX_LOADABLE_LISTED * ibge],
    [
      'dispatch',
      map([
        ['municipalities', 8 + MAX_DISPATCH_PAGE * ibge],
        ['next', scalar],
      ]),
    ],
  ]);
}
