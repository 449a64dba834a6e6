import { z } from 'zod';
import { IbgeCode } from './ibge';

/**
 * The municipality registry: which PEC databases exist, how to reach them, and where each one's
 * password comes from. A message names only a municipality; connection and credentials come from
 * here, so one municipality's credentials can never be pointed at another's source.
 *
 * Example (YAML or JSON):
 *   municipalities:
 *     - ibge: "3550308"
 *       name: São Paulo
 *       cohort: capitals
 *       network: vpn
 *       vpn: { peerIps: ["203.0.113.10", "203.0.113.11"], peerAsn: 65010 }
 *       connection:
 *         host: 100.64.0.5          # presented by the municipal VPN device (NAT), from the reserved range
 *         port: 5433
 *         database: esus
 *         user: esus_leitura
 *         password: { secret: pec-db-password-3550308 }
 */

/** Where a database password comes from. The password itself never appears in the registry. */
export const PasswordSource = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)') }),
  z.strictObject({ secret: z.string().regex(/^[a-zA-Z0-9_-]{1,255}$/, 'must be a Secret Manager secret id') }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type PasswordSource = z.infer<typeof PasswordSource>;

// An IPv6 address bare or in brackets, never with one bracket only.
const hostname = z.string().regex(/^[A-Za-z0-9.-]{1,253}$|^[0-9a-fA-F:]+$|^\[[0-9a-fA-F:]+\]$/, 'must be a host name or IP address');

export const Connection = z.strictObject({
  host: hostname,
  /** The PEC's bundled PostgreSQL listens on 5433 (5432 in container setups). */
  port: z.number().int().min(1).max(65535).default(5433),
  database: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a database name')
    .default('esus'),
  /** The PEC's read-only role; never the superuser. */
  user: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a role name')
    .default('esus_leitura'),
  password: PasswordSource,
  /**
   * TLS to PostgreSQL. Defaults (sslmodeOf): `verify-full` on the TLS path, `require` inside a VPN
   * too (the tunnel ends at the municipal device: the LAN behind it is not ours to trust), and no
   * TLS only to a loopback address (the laptop runtime). `disable` over a network needs a reason.
   */
  sslmode: z.enum(['disable', 'require', 'verify-full']).optional(),
  /** Why this source cannot do TLS (e.g. "PEC 4.2 on Windows without OpenSSL; upgrade booked for 2027-03"). */
  sslmodeReason: z.string().trim().min(10, 'must say why TLS is off (at least 10 characters)').max(300).optional(),
});
export type Connection = z.infer<typeof Connection>;

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const ipv4 = z.string().regex(IPV4, 'must be an IPv4 address');

/** A source on this machine: no network between the extract and PostgreSQL (the laptop runtime). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === '[::1]';
}

export const MunicipalityEntry = z
  .strictObject({
    ibge: IbgeCode,
    name: z.string().min(2).max(100),
    /** Groups municipalities for scheduling and staged roll-outs (e.g. "pilot", "wave-2"). */
    cohort: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, 'must be lower-case letters, digits and "-"')
      .default('default'),
    /** Network path from Google Cloud to this source: see README "Network paths and their cost". */
    network: z.enum(['vpn', 'tls']),
    vpn: z.strictObject({ peerIps: z.array(ipv4).min(1).max(2), peerAsn: z.number().int().min(64512).max(65534) }).optional(),
    connection: Connection,
    /**
     * Sources that are the same PostgreSQL server (one installation holding several municipalities)
     * share an installation id, so concurrency caps count them as one server.
     */
    installation: z
      .string()
      .regex(/^[a-z0-9-]{1,63}$/, 'must be lower-case letters, digits and "-"')
      .optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((m, ctx) => {
    const loopback = isLoopback(m.connection.host);
    if (m.network === 'vpn' && !m.vpn && !loopback) ctx.addIssue({ code: 'custom', path: ['vpn'], message: 'network "vpn" needs vpn.peerIps and vpn.peerAsn' });
    // Municipal LANs overlap (192.168.1.0/24 everywhere), so a VPN source is never routed by its own
    // address: its VPN device presents the PEC server, by NAT, on an address the registry assigns
    // from the range reserved for VPN sources (docs/deploy.md "VPN addressing").
    if (m.network === 'vpn' && !loopback && !IPV4.test(m.connection.host))
      ctx.addIssue({
        code: 'custom',
        path: ['connection', 'host'],
        message:
          'network "vpn" needs the IPv4 address the municipal VPN device presents the PEC server on (NAT), assigned from the reserved range; host names do not resolve across the tunnel',
      });
    if (m.network === 'tls' && m.connection.sslmode === 'disable')
      ctx.addIssue({ code: 'custom', path: ['connection', 'sslmode'], message: 'network "tls" cannot use sslmode "disable"' });
    if (m.network === 'vpn' && !loopback && m.connection.sslmode === 'disable' && !m.connection.sslmodeReason)
      ctx.addIssue({
        code: 'custom',
        path: ['connection', 'sslmodeReason'],
        message: 'sslmode "disable" over a VPN needs connection.sslmodeReason: TLS inside the tunnel is the rule (the tunnel ends at the municipal device, not at the server)',
      });
    if (m.connection.sslmodeReason && m.connection.sslmode !== 'disable')
      ctx.addIssue({ code: 'custom', path: ['connection', 'sslmodeReason'], message: 'explains sslmode "disable" only: remove it, or set sslmode: disable' });
  });
export type MunicipalityEntry = z.infer<typeof MunicipalityEntry>;

export const MunicipalityRegistry = z.strictObject({ municipalities: z.array(MunicipalityEntry).min(1, 'must list at least one municipality') }).superRefine((r, ctx) => {
  const seen = new Map<string, number>();
  r.municipalities.forEach((m, i) => {
    if (seen.has(m.ibge)) ctx.addIssue({ code: 'custom', path: ['municipalities', i, 'ibge'], message: `municipality ${m.ibge} is listed twice` });
    seen.set(m.ibge, i);
  });
  for (const p of vpnAddressProblems(r.municipalities)) ctx.addIssue({ code: 'custom', path: ['municipalities', p.index, ...p.field], message: p.message });
});
export type MunicipalityRegistry = z.infer<typeof MunicipalityRegistry>;

/** The installation (server) a municipality's data lives on. */
export function installationOf(m: MunicipalityEntry): string {
  return m.installation ?? m.ibge;
}

/**
 * Effective sslmode: `verify-full` on the TLS path; `require` inside a VPN (encrypted to the server,
 * not only to the municipal VPN device; the presented NAT address matches no certificate name, hence
 * not verify-full); none to a loopback address only.
 */
export function sslmodeOf(m: MunicipalityEntry): 'disable' | 'require' | 'verify-full' {
  if (m.connection.sslmode) return m.connection.sslmode;
  if (m.network === 'tls') return 'verify-full';
  return isLoopback(m.connection.host) ? 'disable' : 'require';
}

/**
 * Two VPN sources on one presented address would be routed to whichever municipality announced it
 * last, and would receive each other's passwords. One address belongs to one installation (several
 * municipalities on one server share an `installation` and its address), and the municipalities of
 * one installation share one VPN device (the same vpn settings). Each problem names both IBGE codes.
 */
export function vpnAddressProblems(list: readonly MunicipalityEntry[]): { index: number; field: (string | number)[]; message: string }[] {
  const out: { index: number; field: (string | number)[]; message: string }[] = [];
  const byHost = new Map<string, number>();
  const byInstallation = new Map<string, number>();
  list.forEach((m, i) => {
    if (m.network !== 'vpn' || isLoopback(m.connection.host)) return;
    const host = m.connection.host;
    const first = byHost.get(host);
    if (first === undefined) byHost.set(host, i);
    else if (installationOf(list[first]!) !== installationOf(m))
      out.push({
        index: i,
        field: ['connection', 'host'],
        message: `presented address ${host} of municipality ${m.ibge} is already the address of municipality ${list[first]!.ibge} (municipalities.${first}): each VPN installation needs its own address from the reserved range (the same server? give both the same installation)`,
      });
    const inst = installationOf(m);
    const head = byInstallation.get(inst);
    if (head === undefined) byInstallation.set(inst, i);
    else {
      const h = list[head]!;
      if (h.connection.host !== host)
        out.push({
          index: i,
          field: ['connection', 'host'],
          message: `installation ${inst}: municipality ${m.ibge} is at ${host} but municipality ${h.ibge} (municipalities.${head}) at ${h.connection.host}; one installation is one server`,
        });
      if (JSON.stringify(h.vpn) !== JSON.stringify(m.vpn))
        out.push({
          index: i,
          field: ['vpn'],
          message: `installation ${inst}: municipality ${m.ibge} has other vpn settings than municipality ${h.ibge} (municipalities.${head}); one installation is reached through one VPN device`,
        });
    }
  });
  return out;
}
