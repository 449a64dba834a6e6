import { TerraformOutput } from '../cdk';
import {
  ComputeAddress,
  ComputeExternalVpnGateway,
  ComputeHaVpnGateway,
  ComputeNetwork,
  ComputeNetworkPeering,
  ComputeRouter,
  ComputeRouterInterface,
  ComputeRouterNat,
  ComputeRouterPeer,
  ComputeSubnetwork,
  ComputeVpnTunnel,
  VpcAccessConnector,
} from '../google';
import type { StackContext } from './context';
import { vpnPreSharedKey } from './secrets';
import { ROUTERS_PER_SPOKE, vpnPlan, type VpnPlan } from '../vpn-plan';

export interface Network {
  /** Serverless VPC Access connector the extract function sends its traffic through. */
  connectorId: string;
  /**
   * ALL_TRAFFIC as soon as one municipality is reached over TLS: its server is a public address
   * that must see our static NAT address, and only traffic routed into the VPC goes through Cloud
   * NAT. PRIVATE_RANGES_ONLY otherwise: VPN sources are private addresses and Google APIs need no VPC.
   */
  egress: 'ALL_TRAFFIC' | 'PRIVATE_RANGES_ONLY';
}

/**
 * The pipeline's private network and one path per municipality, chosen in the registry:
 *
 *   extract ──connector──► hub VPC ─┬─ peering ─► spoke VPCs: shared Cloud Routers + HA VPN (2 tunnels, BGP)
 *                                   │     ──► municipal VPN device ─NAT─► PEC server (presented address)  network: vpn
 *                                   └─ Cloud NAT (static IP) ──► municipal server (public, TLS)            network: tls
 *
 * Why a connector and not Direct VPC egress: the google provider bundled with the last cdktf
 * bindings (6.50) cannot set Direct VPC egress on google_cloudfunctions2_function (it arrived in 7.x
 * as service_config.direct_vpc_network_interface). The switch is local to this file and
 * functions.ts once the bindings are on a 7.x provider (CDK Terrain); municipalities already
 * allow-list `network.egressRange`, which covers a future Direct VPC subnet.
 */
export function network(ctx: StackContext): Network {
  const { config, names } = ctx;
  const project = config.projectId;
  const region = config.region;

  const vpc = new ComputeNetwork(ctx.scope, 'vpc', {
    project,
    name: names.network,
    // Subnets are declared one by one: no auto subnets in every region of the world.
    autoCreateSubnetworks: false,
    routingMode: 'REGIONAL',
  });

  const subnet = new ComputeSubnetwork(ctx.scope, 'subnet-connector', {
    project,
    region,
    name: names.connectorSubnet,
    network: vpc.id,
    ipCidrRange: config.network.connectorCidr,
    // The connector has no external address: Google APIs (Storage, Pub/Sub, Secret Manager) are
    // reached through Private Google Access when the function sends ALL_TRAFFIC into the VPC.
    privateIpGoogleAccess: true,
  });

  const connector = new VpcAccessConnector(ctx.scope, 'vpc-connector', {
    project,
    region,
    name: names.connector,
    subnet: { name: subnet.name, projectId: project },
    machineType: config.network.connector.machineType,
    // Connectors scale out but never back in: the maximum bounds the bill as well as the throughput.
    minInstances: config.network.connector.minInstances,
    maxInstances: config.network.connector.maxInstances,
  });

  const tls = ctx.registry.municipalities.filter((m) => m.network === 'tls');

  if (tls.length > 0) {
    // The address municipalities on the TLS path allow-list on their firewall and pg_hba.conf.
    const address = new ComputeAddress(ctx.scope, 'nat-address', {
      project,
      region,
      name: names.natAddress,
      addressType: 'EXTERNAL',
      networkTier: 'PREMIUM',
      description: 'Static egress address of the PEC extraction (allow-listed by municipalities on the TLS path)',
    });
    const router = new ComputeRouter(ctx.scope, 'nat-router', { project, region, name: names.natRouter, network: vpc.id });
    new ComputeRouterNat(ctx.scope, 'nat', {
      project,
      region,
      name: names.nat,
      router: router.name,
      // MANUAL_ONLY: the egress address never changes behind the municipalities' allow-lists.
      natIpAllocateOption: 'MANUAL_ONLY',
      natIps: [address.selfLink],
      // Only the connector subnet is translated: nothing else in this VPC gets internet egress.
      sourceSubnetworkIpRangesToNat: 'LIST_OF_SUBNETWORKS',
      subnetwork: [{ name: subnet.selfLink, sourceIpRangesToNat: ['ALL_IP_RANGES'] }],
      minPortsPerVm: 128,
      logConfig: { enable: true, filter: 'ERRORS_ONLY' },
    });
    new TerraformOutput(ctx.scope, 'nat_egress_ip', {
      value: address.address,
      description: 'Give this address to municipalities on the TLS path to allow-list',
    });
  }

  vpnSpokes(ctx, vpc, vpnPlan(ctx.registry, config));

  return { connectorId: connector.id, egress: tls.length > 0 ? 'ALL_TRAFFIC' : 'PRIVATE_RANGES_ONLY' };
}

/**
 * HA VPN to every VPN site (infra-cdktf/vpn-plan.ts) on shared Cloud Routers: one BGP session per
 * tunnel, at most 128 per router (64 two-tunnel sites), at most 5 routers per spoke network, each
 * spoke peered with the hub (the connector's network), which imports the routes the sites announce:
 * their presented addresses, one per installation, inside network.vpnPresentedRange. A site's
 * device NATs that address to its PEC server, so municipal LANs may overlap freely.
 *
 * Gateways and routers are free; the cost is two tunnels per site (docs/cost.md). Two tunnels (one
 * per gateway interface) are what Google's 99.99 % SLA needs. Removing a site from the registry
 * removes exactly its peer gateway, tunnels, interfaces and BGP peers; the routers stay.
 */
function vpnSpokes(ctx: StackContext, hub: ComputeNetwork, plan: VpnPlan): void {
  const { config, names } = ctx;
  const project = config.projectId;
  const region = config.region;
  const spokes = new Map<number, ComputeNetwork>();
  // Google runs one peering operation per network at a time: chain them so Terraform never starts two.
  let previous: ComputeNetworkPeering | undefined;
  for (const k of plan.spokes) {
    const net = new ComputeNetwork(ctx.scope, `vpn-network-${k}`, { project, name: names.vpnNetwork(k), autoCreateSubnetworks: false, routingMode: 'REGIONAL' });
    spokes.set(k, net);
    const toSpoke: ComputeNetworkPeering = new ComputeNetworkPeering(ctx.scope, `vpn-peering-${k}-to-spoke`, {
      name: names.vpnPeering(k, 'to-spoke'),
      network: hub.selfLink,
      peerNetwork: net.selfLink,
      // The hub learns the sites' presented addresses (BGP routes of the spoke's Cloud Routers)...
      importCustomRoutes: true,
      exportCustomRoutes: false,
      dependsOn: previous ? [previous] : undefined,
    });
    previous = new ComputeNetworkPeering(ctx.scope, `vpn-peering-${k}-to-hub`, {
      name: names.vpnPeering(k, 'to-hub'),
      network: net.selfLink,
      peerNetwork: hub.selfLink,
      // ...and the spoke exports them; the connector subnet reaches the spoke as a subnet route.
      exportCustomRoutes: true,
      importCustomRoutes: false,
      dependsOn: [toSpoke],
    });
  }

  const routers = new Map<number, { router: ComputeRouter; gateway: ComputeHaVpnGateway }>();
  for (const slot of plan.slots) {
    const net = spokes.get(Math.floor(slot / ROUTERS_PER_SPOKE))!;
    routers.set(slot, {
      gateway: new ComputeHaVpnGateway(ctx.scope, `vpn-gateway-${slot}`, { project, region, name: names.vpnGateway(slot), network: net.id }),
      router: new ComputeRouter(ctx.scope, `vpn-router-${slot}`, {
        project,
        region,
        name: names.vpnRouter(slot),
        network: net.id,
        bgp: {
          asn: config.network.routerAsn,
          // Announce only the pipeline's egress range: a municipality learns nothing else about these
          // networks, and nothing about other municipalities.
          advertiseMode: 'CUSTOM',
          advertisedIpRanges: [{ range: config.network.egressRange, description: 'PEC pipeline egress' }],
        },
      }),
    });
  }

  for (const site of plan.sites) {
    const { router, gateway } = routers.get(site.slot)!;
    const twoPeerIps = site.vpn.peerIps.length === 2;
    const label = site.municipalities.map((m) => `${m.name} (${m.ibge})`).join(', ');
    const peer = new ComputeExternalVpnGateway(ctx.scope, `vpn-peer-${site.id}`, {
      project,
      name: names.vpnPeer(site.id),
      // One public address on the municipal side (one device) or two (a redundant pair).
      redundancyType: twoPeerIps ? 'TWO_IPS_REDUNDANCY' : 'SINGLE_IP_INTERNALLY_REDUNDANT',
      interface: site.vpn.peerIps.map((ipAddress, id) => ({ id, ipAddress })),
      description: `PEC server network of ${label}`.slice(0, 2048),
    });
    const psk = vpnPreSharedKey(ctx, site.id);
    site.sessions.forEach((s, i) => {
      const tunnel = new ComputeVpnTunnel(ctx.scope, `vpn-tunnel-${site.id}-${i}`, {
        project,
        region,
        name: names.vpnTunnel(site.id, i),
        vpnGateway: gateway.id,
        vpnGatewayInterface: i,
        peerExternalGateway: peer.id,
        peerExternalGatewayInterface: twoPeerIps ? i : 0,
        sharedSecret: psk.secretData,
        router: router.id,
        ikeVersion: 2,
      });
      const iface = new ComputeRouterInterface(ctx.scope, `vpn-interface-${site.id}-${i}`, {
        project,
        region,
        name: `${names.vpnTunnel(site.id, i)}-if`,
        router: router.name,
        ipRange: s.range,
        vpnTunnel: tunnel.name,
      });
      new ComputeRouterPeer(ctx.scope, `vpn-bgp-${site.id}-${i}`, {
        project,
        region,
        name: `${names.vpnTunnel(site.id, i)}-bgp`,
        router: router.name,
        interface: iface.name,
        ipAddress: s.googleIp,
        peerIpAddress: s.peerIp,
        peerAsn: site.vpn.peerAsn,
        advertisedRoutePriority: 100,
      });
    });

    new TerraformOutput(ctx.scope, `vpn_${site.id}`, {
      description: `Settings for the network team of ${label}: Google's tunnel endpoints, the BGP sessions, the address to present the PEC server on`,
      value: {
        google_asn: config.network.routerAsn,
        google_endpoints: [0, 1].map((i) => gateway.vpnInterfaces.get(i).ipAddress),
        bgp_sessions: site.sessions.map((s, i) => ({ tunnel: names.vpnTunnel(site.id, i), google: s.googleIp, municipality: s.peerIp, prefix_length: 30 })),
        advertised_range: config.network.egressRange,
        // NAT on the municipal device: this /32 → the PEC server's real address, announced over BGP.
        present_pec_server_on: `${site.presentedAddress}/32`,
        pre_shared_key_secret: names.vpnPskSecret(site.id),
      },
    });
  }
}
