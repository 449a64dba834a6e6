import type { MunicipalityEntry } from '../../shared/contracts/municipalities';
import { TerraformOutput } from '../cdk';
import { bgpSessions } from '../config';
import {
  ComputeAddress,
  ComputeExternalVpnGateway,
  ComputeHaVpnGateway,
  ComputeNetwork,
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
 *   extract ──connector──► VPC ──┬─ HA VPN (2 tunnels, BGP) ──► municipal server (private address)  network: vpn
 *                                └─ Cloud NAT (static IP)  ──► municipal server (public, TLS)       network: tls
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
  const vpn = ctx.registry.municipalities.filter((m): m is MunicipalityEntry & { vpn: NonNullable<MunicipalityEntry['vpn']> } => m.network === 'vpn' && !!m.vpn);

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

  for (const m of vpn) haVpn(ctx, vpc, m);

  return { connectorId: connector.id, egress: tls.length > 0 ? 'ALL_TRAFFIC' : 'PRIVATE_RANGES_ONLY' };
}

/**
 * HA VPN to one municipality: its own gateway and Cloud Router, so that a municipality's tunnels,
 * BGP sessions and quotas never affect another's, and removing one from the registry removes
 * exactly its resources. Gateways and routers are free; the cost is the two tunnels
 * (README "Cost model"). Two tunnels (one per gateway interface) are what Google's 99.99 % SLA needs.
 */
function haVpn(ctx: StackContext, vpc: ComputeNetwork, m: MunicipalityEntry & { vpn: NonNullable<MunicipalityEntry['vpn']> }): void {
  const { config, names } = ctx;
  const project = config.projectId;
  const region = config.region;
  const ibge = m.ibge;
  const sessions = bgpSessions(config.network.vpnBgp[ibge]!);

  const gateway = new ComputeHaVpnGateway(ctx.scope, `vpn-gateway-${ibge}`, { project, region, name: names.vpnGateway(ibge), network: vpc.id });
  const twoPeerIps = m.vpn.peerIps.length === 2;
  const peer = new ComputeExternalVpnGateway(ctx.scope, `vpn-peer-${ibge}`, {
    project,
    name: names.vpnPeer(ibge),
    // One public address on the municipal side (one device) or two (a redundant pair).
    redundancyType: twoPeerIps ? 'TWO_IPS_REDUNDANCY' : 'SINGLE_IP_INTERNALLY_REDUNDANT',
    interface: m.vpn.peerIps.map((ipAddress, id) => ({ id, ipAddress })),
    description: `PEC server network of ${m.name} (${ibge})`,
  });
  const router = new ComputeRouter(ctx.scope, `vpn-router-${ibge}`, {
    project,
    region,
    name: names.vpnRouter(ibge),
    network: vpc.id,
    bgp: {
      asn: config.network.routerAsn,
      // Announce only the pipeline's egress range: a municipality learns nothing else about this VPC
      // (and nothing about other municipalities).
      advertiseMode: 'CUSTOM',
      advertisedIpRanges: [{ range: config.network.egressRange, description: 'PEC pipeline egress' }],
    },
  });
  const psk = vpnPreSharedKey(ctx, ibge);

  sessions.forEach((s, i) => {
    const tunnel = new ComputeVpnTunnel(ctx.scope, `vpn-tunnel-${ibge}-${i}`, {
      project,
      region,
      name: names.vpnTunnel(ibge, i),
      vpnGateway: gateway.id,
      vpnGatewayInterface: i,
      peerExternalGateway: peer.id,
      peerExternalGatewayInterface: twoPeerIps ? i : 0,
      sharedSecret: psk.secretData,
      router: router.id,
      ikeVersion: 2,
    });
    const iface = new ComputeRouterInterface(ctx.scope, `vpn-interface-${ibge}-${i}`, {
      project,
      region,
      name: `${names.vpnTunnel(ibge, i)}-if`,
      router: router.name,
      ipRange: s.range,
      vpnTunnel: tunnel.name,
    });
    new ComputeRouterPeer(ctx.scope, `vpn-bgp-${ibge}-${i}`, {
      project,
      region,
      name: `${names.vpnTunnel(ibge, i)}-bgp`,
      router: router.name,
      interface: iface.name,
      ipAddress: s.googleIp,
      peerIpAddress: s.peerIp,
      peerAsn: m.vpn.peerAsn,
      advertisedRoutePriority: 100,
    });
  });

  new TerraformOutput(ctx.scope, `vpn_${ibge}`, {
    description: `Settings for the network team of ${m.name}: Google's public tunnel endpoints and the BGP sessions`,
    value: {
      google_asn: config.network.routerAsn,
      google_endpoints: [0, 1].map((i) => gateway.vpnInterfaces.get(i).ipAddress),
      bgp_sessions: sessions.map((s, i) => ({ tunnel: names.vpnTunnel(ibge, i), google: s.googleIp, municipality: s.peerIp, prefix_length: 30 })),
      advertised_range: config.network.egressRange,
      pre_shared_key_secret: ctx.names.vpnPskSecret(ibge),
    },
  });
}
