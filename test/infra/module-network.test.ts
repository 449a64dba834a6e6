import { network } from '../../infra-cdktf/modules/network';
import { TerraformOutput } from '../../infra-cdktf/cdk';
import { readEnvironmentConfig } from '../../infra-cdktf/inputs';
import { syntheticDeployment } from '../../infra-cdktf/synthetic';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { synthModule } from './support/module-stack';
import { repoRoot, resources, type TfJson } from './support/synth';

/**
 * infra-cdktf/modules/network.ts on its own, synthesized inside each test (see
 * support/module-stack.ts for why): every value of the hub, the connector, the NAT path and the VPN
 * spokes, written out here from the environment config and the registry. The wired-together checks
 * stay in placement-and-paths.test.ts and security.test.ts.
 */

/** The network module plus its two answers as outputs, so the test sees them resolved. */
const synth = (o: Parameters<typeof synthModule>[1] = {}) =>
  synthModule((ctx) => {
    const n = network(ctx);
    new TerraformOutput(ctx.scope, 'test_connector', { value: n.connectorId });
    new TerraformOutput(ctx.scope, 'test_egress', { value: n.egress });
    return n;
  }, o);

const body = (json: TfJson, type: string, id: string) => {
  const b = json.resource[type]?.[id];
  if (!b) throw new Error(`no ${type}.${id}`);
  return b;
};

describe('network module: hub, connector', () => {
  test('the hub VPC: regional routing, no automatic subnets; one /28 connector subnet with Private Google Access; the connector sized from the config', () => {
    const { json, config } = synth();
    expect(body(json, 'google_compute_network', 'vpc')).toEqual({ project: config.projectId, name: 'pec-vpc', auto_create_subnetworks: false, routing_mode: 'REGIONAL' });
    expect(body(json, 'google_compute_subnetwork', 'subnet-connector')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-connector',
      network: '${google_compute_network.vpc.id}',
      ip_cidr_range: '10.8.0.0/28',
      private_ip_google_access: true,
    });
    expect(body(json, 'google_vpc_access_connector', 'vpc-connector')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-egress',
      subnet: { name: '${google_compute_subnetwork.subnet-connector.name}', project_id: config.projectId },
      machine_type: 'e2-micro',
      min_instances: 2,
      max_instances: 4,
    });
    expect(json.output!.test_connector!.value).toBe('${google_vpc_access_connector.vpc-connector.id}');
  });

  test('connector settings from the config reach the connector', () => {
    const { json } = synth({
      config: (c) => ({ ...c, network: { ...c.network, connectorCidr: '10.9.0.16/28', connector: { machineType: 'e2-standard-4', minInstances: 3, maxInstances: 7 } } }),
    });
    expect(body(json, 'google_compute_subnetwork', 'subnet-connector').ip_cidr_range).toBe('10.9.0.16/28');
    const c = body(json, 'google_vpc_access_connector', 'vpc-connector');
    expect([c.machine_type, c.min_instances, c.max_instances]).toEqual(['e2-standard-4', 3, 7]);
  });
});

describe('network module: the TLS path (Cloud NAT)', () => {
  test('one reserved external address, a NAT router on the hub, NAT of the connector subnet only, exported; extract sends ALL_TRAFFIC', () => {
    const { json, config } = synth();
    expect(body(json, 'google_compute_address', 'nat-address')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-nat-egress',
      address_type: 'EXTERNAL',
      network_tier: 'PREMIUM',
      description: 'Static egress address of the PEC extraction (allow-listed by municipalities on the TLS path)',
    });
    expect(body(json, 'google_compute_router', 'nat-router')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-nat',
      network: '${google_compute_network.vpc.id}',
    });
    expect(body(json, 'google_compute_router_nat', 'nat')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-nat-config',
      router: '${google_compute_router.nat-router.name}',
      nat_ip_allocate_option: 'MANUAL_ONLY',
      nat_ips: ['${google_compute_address.nat-address.self_link}'],
      source_subnetwork_ip_ranges_to_nat: 'LIST_OF_SUBNETWORKS',
      subnetwork: [{ name: '${google_compute_subnetwork.subnet-connector.self_link}', source_ip_ranges_to_nat: ['ALL_IP_RANGES'] }],
      min_ports_per_vm: 128,
      log_config: { enable: true, filter: 'ERRORS_ONLY' },
    });
    expect(json.output!.nat_egress_ip).toEqual({
      value: '${google_compute_address.nat-address.address}',
      description: 'Give this address to municipalities on the TLS path to allow-list',
    });
    expect(json.output!.test_egress!.value).toBe('ALL_TRAFFIC');
  });

  test('no TLS municipality: no address, no NAT router, no NAT, no output; extract sends private ranges only', () => {
    const { json: dev, registry } = synth();
    expect(registry.municipalities.some((m) => m.network === 'tls')).toBe(true);
    expect(resources(dev, 'google_compute_router_nat')).toHaveLength(1);
    const vpnOnly = MunicipalityRegistry.parse({ municipalities: registry.municipalities.filter((m) => m.network === 'vpn') });
    const { json } = synth({ registry: vpnOnly });
    expect(resources(json, 'google_compute_address')).toEqual([]);
    expect(resources(json, 'google_compute_router_nat')).toEqual([]);
    expect(resources(json, 'google_compute_router').map(([id]) => id)).toEqual(['vpn-router-5']);
    expect(json.output!.nat_egress_ip).toBeUndefined();
    expect(json.output!.test_egress!.value).toBe('PRIVATE_RANGES_ONLY');
  });
});

describe('network module: VPN spokes (dev: Curitiba, block 169.254.10.0/29 → router slot 5, spoke 1)', () => {
  test('one spoke network peered both ways with the hub: the hub imports the sites’ routes, the spoke exports them', () => {
    const { json, config } = synth();
    expect(config.network.vpnBgp).toEqual({ '4106902': '169.254.10.0/29' });
    expect(resources(json, 'google_compute_network').map(([id]) => id)).toEqual(['vpc', 'vpn-network-1']);
    expect(body(json, 'google_compute_network', 'vpn-network-1')).toEqual({
      project: config.projectId,
      name: 'pec-vpn-net-1',
      auto_create_subnetworks: false,
      routing_mode: 'REGIONAL',
    });
    expect(body(json, 'google_compute_network_peering', 'vpn-peering-1-to-spoke')).toEqual({
      name: 'pec-vpn-net-1-to-spoke',
      network: '${google_compute_network.vpc.self_link}',
      peer_network: '${google_compute_network.vpn-network-1.self_link}',
      import_custom_routes: true,
      export_custom_routes: false,
    });
    expect(body(json, 'google_compute_network_peering', 'vpn-peering-1-to-hub')).toEqual({
      name: 'pec-vpn-net-1-to-hub',
      network: '${google_compute_network.vpn-network-1.self_link}',
      peer_network: '${google_compute_network.vpc.self_link}',
      export_custom_routes: true,
      import_custom_routes: false,
      depends_on: ['google_compute_network_peering.vpn-peering-1-to-spoke'],
    });
  });

  test('the slot’s HA VPN gateway and Cloud Router on the spoke, announcing only the egress range', () => {
    const { json, config } = synth();
    expect(body(json, 'google_compute_ha_vpn_gateway', 'vpn-gateway-5')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-vpn-gw-5',
      network: '${google_compute_network.vpn-network-1.id}',
    });
    expect(body(json, 'google_compute_router', 'vpn-router-5')).toEqual({
      project: config.projectId,
      region: 'southamerica-east1',
      name: 'pec-vpn-router-5',
      network: '${google_compute_network.vpn-network-1.id}',
      bgp: { asn: 64514, advertise_mode: 'CUSTOM', advertised_ip_ranges: [{ range: '10.8.0.0/23', description: 'PEC pipeline egress' }] },
    });
  });

  test('the site: its peer gateway (two devices), two tunnels with the pre-shared key by reference, interfaces and BGP sessions from its /29', () => {
    const { json, config } = synth();
    expect(body(json, 'google_compute_external_vpn_gateway', 'vpn-peer-4106902')).toEqual({
      project: config.projectId,
      name: 'pec-peer-4106902',
      redundancy_type: 'TWO_IPS_REDUNDANCY',
      interface: [
        { id: 0, ip_address: '203.0.113.10' },
        { id: 1, ip_address: '203.0.113.11' },
      ],
      description: 'PEC server network of Curitiba (4106902)',
    });
    expect(json.data!.google_secret_manager_secret_version!['vpn-psk-4106902']).toEqual({ project: config.projectId, secret: 'vpn-psk-4106902' });
    const sessions = [
      { range: '169.254.10.1/30', google: '169.254.10.1', peer: '169.254.10.2' },
      { range: '169.254.10.5/30', google: '169.254.10.5', peer: '169.254.10.6' },
    ];
    expect(resources(json, 'google_compute_vpn_tunnel')).toHaveLength(2);
    sessions.forEach((s, i) => {
      const name = `pec-vpn-4106902-t${i}`;
      expect(body(json, 'google_compute_vpn_tunnel', `vpn-tunnel-4106902-${i}`)).toEqual({
        project: config.projectId,
        region: 'southamerica-east1',
        name,
        vpn_gateway: '${google_compute_ha_vpn_gateway.vpn-gateway-5.id}',
        vpn_gateway_interface: i,
        peer_external_gateway: '${google_compute_external_vpn_gateway.vpn-peer-4106902.id}',
        peer_external_gateway_interface: i,
        shared_secret: '${data.google_secret_manager_secret_version.vpn-psk-4106902.secret_data}',
        router: '${google_compute_router.vpn-router-5.id}',
        ike_version: 2,
      });
      expect(body(json, 'google_compute_router_interface', `vpn-interface-4106902-${i}`)).toEqual({
        project: config.projectId,
        region: 'southamerica-east1',
        name: `${name}-if`,
        router: '${google_compute_router.vpn-router-5.name}',
        ip_range: s.range,
        vpn_tunnel: `\${google_compute_vpn_tunnel.vpn-tunnel-4106902-${i}.name}`,
      });
      expect(body(json, 'google_compute_router_peer', `vpn-bgp-4106902-${i}`)).toEqual({
        project: config.projectId,
        region: 'southamerica-east1',
        name: `${name}-bgp`,
        router: '${google_compute_router.vpn-router-5.name}',
        interface: `\${google_compute_router_interface.vpn-interface-4106902-${i}.name}`,
        ip_address: s.google,
        peer_ip_address: s.peer,
        peer_asn: 65010,
        advertised_route_priority: 100,
      });
    });
  });

  test('what the site’s network team is given: Google’s ASN and endpoints, the sessions, the announced range, the address to present, the key’s secret', () => {
    const { json } = synth();
    expect(json.output!.vpn_4106902).toEqual({
      description: "Settings for the network team of Curitiba (4106902): Google's tunnel endpoints, the BGP sessions, the address to present the PEC server on",
      value: {
        google_asn: 64514,
        google_endpoints: [
          '${google_compute_ha_vpn_gateway.vpn-gateway-5.vpn_interfaces[0].ip_address}',
          '${google_compute_ha_vpn_gateway.vpn-gateway-5.vpn_interfaces[1].ip_address}',
        ],
        bgp_sessions: [
          { tunnel: 'pec-vpn-4106902-t0', google: '169.254.10.1', municipality: '169.254.10.2', prefix_length: 30 },
          { tunnel: 'pec-vpn-4106902-t1', google: '169.254.10.5', municipality: '169.254.10.6', prefix_length: 30 },
        ],
        advertised_range: '10.8.0.0/23',
        present_pec_server_on: '100.64.0.10/32',
        pre_shared_key_secret: 'vpn-psk-4106902',
      },
    });
  });

  test('a site with one device: single-IP redundancy, both tunnels to its interface 0', () => {
    const { registry } = synth();
    const oneDevice = MunicipalityRegistry.parse({
      municipalities: registry.municipalities.map((m) => (m.vpn ? { ...m, vpn: { ...m.vpn, peerIps: ['203.0.113.10'] } } : m)),
    });
    const { json } = synth({ registry: oneDevice });
    const peer = body(json, 'google_compute_external_vpn_gateway', 'vpn-peer-4106902');
    expect([peer.redundancy_type, peer.interface]).toEqual(['SINGLE_IP_INTERNALLY_REDUNDANT', [{ id: 0, ip_address: '203.0.113.10' }]]);
    expect([0, 1].map((i) => body(json, 'google_compute_vpn_tunnel', `vpn-tunnel-4106902-${i}`).peer_external_gateway_interface)).toEqual([0, 0]);
    expect([0, 1].map((i) => body(json, 'google_compute_vpn_tunnel', `vpn-tunnel-4106902-${i}`).vpn_gateway_interface)).toEqual([0, 1]);
  });

  test('several spokes: each spoke’s routers on it, and the peerings chained (Google runs one peering operation per network at a time)', () => {
    // Three sites whose /29 blocks (k-th block of 169.254.0.0/16 → router slot ⌊k / 64⌋) land on
    // router slots 0 and 4 (spoke 0) and 5 (spoke 1): what 321 sites handed out in order would give.
    const synthetic = syntheticDeployment(readEnvironmentConfig(repoRoot, 'prod'), 3, 'vpn');
    const [a, b, c] = Object.keys(synthetic.config.network.vpnBgp);
    const config = { ...synthetic.config, network: { ...synthetic.config.network, vpnBgp: { [a!]: '169.254.0.0/29', [b!]: '169.254.8.0/29', [c!]: '169.254.10.0/29' } } };
    const { json } = synth({ env: 'prod', registry: synthetic.registry, config: () => config });
    expect(resources(json, 'google_compute_network').map(([id]) => id)).toEqual(['vpc', 'vpn-network-0', 'vpn-network-1']);
    expect(
      resources(json, 'google_compute_router')
        .map(([id, r]) => [id, r.network])
        .sort(),
    ).toEqual([0, 4, 5].map((k) => [`vpn-router-${k}`, `\${google_compute_network.vpn-network-${k < 5 ? 0 : 1}.id}`]));
    expect(body(json, 'google_compute_ha_vpn_gateway', 'vpn-gateway-5').network).toBe('${google_compute_network.vpn-network-1.id}');
    expect(body(json, 'google_compute_network_peering', 'vpn-peering-0-to-spoke').depends_on).toBeUndefined();
    expect(body(json, 'google_compute_network_peering', 'vpn-peering-1-to-spoke').depends_on).toEqual(['google_compute_network_peering.vpn-peering-0-to-hub']);
    expect(body(json, 'google_compute_network_peering', 'vpn-peering-1-to-hub').depends_on).toEqual(['google_compute_network_peering.vpn-peering-1-to-spoke']);
    expect(resources(json, 'google_compute_vpn_tunnel')).toHaveLength(6);
    expect(resources(json, 'google_compute_router_nat')).toEqual([]);
  });
});

describe('network module: a site of several municipalities (one installation)', () => {
  // n municipalities on one installation: one VPN site, its peer gateway described by all of them.
  const oneSite = (n: number, name: (i: number) => string) => {
    const synthetic = syntheticDeployment(readEnvironmentConfig(repoRoot, 'dev'), n, 'vpn');
    const [first] = synthetic.registry.municipalities;
    const registry = MunicipalityRegistry.parse({
      municipalities: synthetic.registry.municipalities.map((m, i) => ({ ...m, name: name(i), installation: first!.ibge, vpn: first!.vpn, connection: first!.connection })),
    });
    const config = { ...synthetic.config, network: { ...synthetic.config.network, vpnBgp: { [first!.ibge]: '169.254.10.0/29' } } };
    const { json } = synth({ registry, config: () => config });
    return { registry, description: body(json, 'google_compute_external_vpn_gateway', `vpn-peer-${first!.ibge}`).description as string };
  };

  test('the peer gateway names every municipality of the site, "name (IBGE)" separated by commas', () => {
    const { registry, description } = oneSite(2, (i) => `Município ${i}`);
    const [a, b] = registry.municipalities;
    expect(description).toBe(`PEC server network of ${a!.name} (${a!.ibge}), ${b!.name} (${b!.ibge})`);
  });

  test('a long list is cut at the 2048 characters Google accepts for a description', () => {
    const { registry, description } = oneSite(30, (i) => `${'Município de nome muito longo '.repeat(3)}${i}`);
    const full = `PEC server network of ${registry.municipalities.map((m) => `${m.name} (${m.ibge})`).join(', ')}`;
    expect(full.length).toBeGreaterThan(2048);
    expect(description).toBe(full.slice(0, 2048));
  });
});
