import fs from 'node:fs';
import { GOOGLE_LIMITS, type LimitId } from '../../infra-cdktf/limits';
import { WORKFLOW_FILE } from '../../infra-cdktf/limits-cli';
import { evaluate, usage } from '../../infra-cdktf/limits-model';
import { readEnvironmentConfig } from '../../infra-cdktf/inputs';
import { syntheticDeployment, type NetworkMix } from '../../infra-cdktf/synthetic';
import { repoRoot, resources, synthEnvironment, type TfJson } from './support/synth';

/**
 * 650 municipalities (the production target) all on VPN, all on TLS and half and half: the stack
 * synthesizes, the usage model counts what the synthesized JSON really holds, and every count is
 * within Google's documented value or is a quota docs/limits.md (linked from docs/deploy.md) tells
 * the user to request, with the number. The generated document and the limits' sources are
 * checked by limits-doc.test.ts (fast: it synthesizes no stack).
 */
const base = readEnvironmentConfig(repoRoot, 'prod');
const workflow = fs.readFileSync(WORKFLOW_FILE, 'utf8');

function maxGroup(json: TfJson, type: string, key: string): number {
  const counts = new Map<string, number>();
  for (const [, b] of resources(json, type)) counts.set(String(b[key]), (counts.get(String(b[key])) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

describe.each<NetworkMix>(['vpn', 'tls', 'mix'])('650 municipalities, network %s', (mix) => {
  const { registry, config } = syntheticDeployment(base, 650, mix);
  const { json } = synthEnvironment('prod', { registry, config: () => config });
  const use = usage(registry, config, workflow);
  const count = (type: string) => resources(json, type).length;

  test('the synthesized stack holds what the usage model counts', () => {
    const hub = '${google_compute_network.vpc.self_link}';
    const observed: Partial<Record<LimitId, number>> = {
      cloudRoutersPerProject: count('google_compute_router'),
      cloudRoutersPerNetworkRegion: maxGroup(json, 'google_compute_router', 'network'),
      bgpPeersPerRouter: maxGroup(json, 'google_compute_router_peer', 'router'),
      vpcPeeringsPerNetwork: resources(json, 'google_compute_network_peering').filter(([, p]) => p.network === hub).length,
      haVpnGateways: count('google_compute_ha_vpn_gateway'),
      vpnTunnels: count('google_compute_vpn_tunnel'),
      externalVpnGateways: count('google_compute_external_vpn_gateway'),
      vpcNetworks: count('google_compute_network'),
      staticExternalAddresses: count('google_compute_address'),
      pubsubSubscriptionsPerTopic: maxGroup(json, 'google_pubsub_subscription', 'topic'),
      functionMemory: resources(json, 'google_cloudfunctions2_function').reduce(
        (sum, [, f]) => sum + (f.service_config.max_instance_count as number) * parseInt(f.service_config.available_memory as string, 10),
        0,
      ),
      functionConcurrency: Math.max(...resources(json, 'google_cloudfunctions2_function').map(([, f]) => f.service_config.max_instance_request_concurrency as number)),
      connectorRange: Math.max(...resources(json, 'google_vpc_access_connector').map(([, c]) => c.max_instances as number)),
      bigQueryRoutineBody: Math.max(...resources(json, 'google_bigquery_routine').map(([, r]) => (r.definition_body as string).length)),
    };
    const modelled = Object.fromEntries(Object.keys(observed).map((k) => [k, use[k as LimitId].count]));
    expect(modelled).toEqual(observed);
    // The model is not trivially zero: the fixture exercises the paths it is named after.
    if (mix !== 'tls') expect(observed.vpnTunnels).toBe((mix === 'vpn' ? 650 : 325) * 2);
    if (mix !== 'vpn') expect(observed.staticExternalAddresses).toBe(1);
  });

  test('every count is within its documented limit, or is a quota docs/limits.md asks to request with the number', () => {
    const rows = evaluate(registry, config, workflow);
    expect(rows).toHaveLength(Object.keys(GOOGLE_LIMITS).length);
    expect(rows.filter((r) => r.verdict === 'over' || r.verdict === 'raise').map((r) => `${r.id}: ${r.use.count}`)).toEqual([]);
    for (const r of rows.filter((x) => x.verdict === 'check')) expect(GOOGLE_LIMITS[r.id].kind).toBe('quota');
    const vpnRows = rows.filter((r) => r.verdict === 'check').map((r) => r.id);
    if (mix === 'vpn') expect(vpnRows).toEqual(expect.arrayContaining(['vpnTunnels', 'haVpnGateways', 'externalVpnGateways', 'learnedRoutePrefixes']));
  });
});
