import { installationOf, type MunicipalityEntry, type MunicipalityRegistry } from '../shared/contracts/municipalities';
import { bgpSessions, parseCidr, type EnvironmentConfig } from './config';
import { GOOGLE_LIMITS } from './limits';

/**
 * Where each VPN installation's tunnels land, as a pure function of the registry and the config, so
 * that the network module, the limits model (npm run limits) and the tests share one answer.
 *
 *   one VPN site = one installation (its municipalities share one server and one VPN device)
 *   2 tunnels per site, one BGP session each (HA VPN's 99.99 % SLA needs both)
 *   a Cloud Router holds ≤ 128 BGP peers → 64 sites per router              (GOOGLE_LIMITS.bgpPeersPerRouter)
 *   a VPC network holds ≤ 5 Cloud Routers per region → 5 routers per spoke   (GOOGLE_LIMITS.cloudRoutersPerNetworkRegion)
 *   spokes are VPC networks peered with the connector's network (hub), which imports their
 *   BGP-learned routes; the hub holds the connector and the NAT router only.
 *
 * Placement comes from the site's link-local /29 (network.vpnBgp): block k of 169.254.0.0/16 sits on
 * router slot ⌊k / 64⌋, i.e. spoke ⌊slot / 5⌋, router slot mod 5. Operators hand out "the next free
 * /29", which fills routers in order, and adding or removing a site never moves another one.
 */

export const TUNNELS_PER_SITE = 2;
export const SITES_PER_ROUTER = Math.floor(GOOGLE_LIMITS.bgpPeersPerRouter.value! / TUNNELS_PER_SITE);
export const ROUTERS_PER_SPOKE = GOOGLE_LIMITS.cloudRoutersPerNetworkRegion.value!;
const LINK_LOCAL_BASE = parseCidr('169.254.0.0/16')!.base;

export interface VpnSite {
  /** installation id, or the IBGE code of a municipality without one. */
  id: string;
  municipalities: MunicipalityEntry[];
  vpn: NonNullable<MunicipalityEntry['vpn']>;
  /** The address its device presents the PEC server on (NAT), inside network.vpnPresentedRange. */
  presentedAddress: string;
  block: string;
  sessions: ReturnType<typeof bgpSessions>;
  /** Global router slot; spoke = ⌊slot / ROUTERS_PER_SPOKE⌋. */
  slot: number;
  spoke: number;
}

export interface VpnPlan {
  sites: VpnSite[];
  /** Router slots in use, ascending. */
  slots: number[];
  /** Spoke networks in use, ascending. */
  spokes: number[];
}

export function slotOfBlock(block: string): number {
  const c = parseCidr(block);
  if (!c || c.prefix !== 29) throw new Error(`${block} is not a /29`);
  return Math.floor((c.base - LINK_LOCAL_BASE) / 8 / SITES_PER_ROUTER);
}

/** Assumes cloudRegistryProblems() found nothing (every site has a vpn block and a BGP block). */
export function vpnPlan(registry: MunicipalityRegistry, config: EnvironmentConfig): VpnPlan {
  const bySite = new Map<string, MunicipalityEntry[]>();
  for (const m of registry.municipalities) {
    if (m.network !== 'vpn' || !m.vpn) continue;
    const id = installationOf(m);
    bySite.set(id, [...(bySite.get(id) ?? []), m]);
  }
  const sites = [...bySite.entries()]
    .map(([id, ms]): VpnSite => {
      const block = config.network.vpnBgp[id]!;
      const slot = slotOfBlock(block);
      return {
        id,
        municipalities: ms,
        vpn: ms[0]!.vpn!,
        presentedAddress: ms[0]!.connection.host,
        block,
        sessions: bgpSessions(block),
        slot,
        spoke: Math.floor(slot / ROUTERS_PER_SPOKE),
      };
    })
    .sort((a, b) => a.slot - b.slot || a.id.localeCompare(b.id));
  const slots = [...new Set(sites.map((s) => s.slot))].sort((a, b) => a - b);
  const spokes = [...new Set(sites.map((s) => s.spoke))].sort((a, b) => a - b);
  return { sites, slots, spokes };
}
