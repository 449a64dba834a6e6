import { ibgeCheckDigit } from '../shared/contracts/ibge';
import { MunicipalityRegistry, type MunicipalityEntry } from '../shared/contracts/municipalities';
import { parseCidr, type EnvironmentConfig } from './config';

/**
 * A registry and config of any size, shaped like a real one, for the limits tests and
 * `npm run limits`: every VPN municipality is its own site with the next free /29 and the next
 * presented address, exactly what an operator following docs/deploy.md would write.
 */
export type NetworkMix = 'vpn' | 'tls' | 'mix';

const ip = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const METADATA = parseCidr('169.254.169.0/24')!;

/** The k-th /29 of 169.254.0.0/16 an operator hands out, skipping the metadata server's /24. */
export function nthBgpBlock(k: number): string {
  const base = parseCidr('169.254.0.0/16')!.base;
  let i = k;
  if (base + i * 8 >= METADATA.base) i += METADATA.size / 8;
  if (i >= 8192) throw new Error(`no ${k + 1}th /29 left in 169.254.0.0/16`);
  return `${ip(base + i * 8)}/29`;
}

export function syntheticIbge(i: number): string {
  const six = String(110_000 + i);
  return `${six}${ibgeCheckDigit(six)}`;
}

export function syntheticDeployment(base: EnvironmentConfig, n: number, mix: NetworkMix): { registry: MunicipalityRegistry; config: EnvironmentConfig } {
  const presented = parseCidr(base.network.vpnPresentedRange)!;
  const vpnBgp: Record<string, string> = {};
  let sites = 0;
  const municipalities: MunicipalityEntry[] = [];
  for (let i = 0; i < n; i++) {
    const ibge = syntheticIbge(i);
    const network = mix === 'mix' ? (i % 2 === 0 ? 'vpn' : 'tls') : mix;
    const password = { secret: `pec-db-password-${ibge}` };
    if (network === 'vpn') {
      if (sites + 2 >= presented.size) throw new Error(`network.vpnPresentedRange ${base.network.vpnPresentedRange} has no address left for site ${sites + 1}`);
      vpnBgp[ibge] = nthBgpBlock(sites);
      municipalities.push({
        ibge,
        name: `Município ${ibge}`,
        network,
        vpn: { peerIps: [ip(parseCidr('198.18.0.0/15')!.base + 2 * sites), ip(parseCidr('198.18.0.0/15')!.base + 2 * sites + 1)], peerAsn: 65001 },
        connection: { host: ip(presented.base + 1 + sites), password },
      } as MunicipalityEntry);
      sites++;
    } else municipalities.push({ ibge, name: `Município ${ibge}`, network, connection: { host: `pec-${ibge}.example.net`, password } } as MunicipalityEntry);
  }
  const registry = MunicipalityRegistry.parse({ municipalities });
  const config: EnvironmentConfig = { ...base, powerBiMunicipalityGroups: {}, network: { ...base.network, vpnBgp } };
  return { registry, config };
}
