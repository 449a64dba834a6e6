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
 *         host: 10.20.0.5
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

const hostname = z
  .string()
  .regex(/^[A-Za-z0-9.-]{1,253}$|^\[?[0-9a-fA-F:]+\]?$/, 'must be a host name or IP address');

export const Connection = z.strictObject({
  host: hostname,
  /** The PEC's bundled PostgreSQL listens on 5433 (5432 in container setups). */
  port: z.number().int().min(1).max(65535).default(5433),
  database: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a database name').default('esus'),
  /** The PEC's read-only role; never the superuser. */
  user: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a role name').default('esus_leitura'),
  password: PasswordSource,
  /** `disable` inside a VPN (the tunnel encrypts); `verify-full` when the path is TLS over the internet. */
  sslmode: z.enum(['disable', 'require', 'verify-full']).optional(),
});
export type Connection = z.infer<typeof Connection>;

const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'must be an IPv4 address');

export const MunicipalityEntry = z
  .strictObject({
    ibge: IbgeCode,
    name: z.string().min(2).max(100),
    /** Groups municipalities for scheduling and staged roll-outs (e.g. "pilot", "wave-2"). */
    cohort: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be lower-case letters, digits and "-"').default('default'),
    /** Network path from Google Cloud to this source: see README "Network paths and their cost". */
    network: z.enum(['vpn', 'tls']),
    vpn: z.strictObject({ peerIps: z.array(ipv4).min(1).max(2), peerAsn: z.number().int().min(64512).max(65534) }).optional(),
    connection: Connection,
    /**
     * Sources that are the same PostgreSQL server (one installation holding several municipalities)
     * share an installation id, so concurrency caps count them as one server.
     */
    installation: z.string().regex(/^[a-z0-9-]{1,63}$/, 'must be lower-case letters, digits and "-"').optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((m, ctx) => {
    if (m.network === 'vpn' && !m.vpn && m.connection.host !== 'localhost' && m.connection.host !== '127.0.0.1')
      ctx.addIssue({ code: 'custom', path: ['vpn'], message: 'network "vpn" needs vpn.peerIps and vpn.peerAsn' });
    if (m.network === 'tls' && m.connection.sslmode === 'disable')
      ctx.addIssue({ code: 'custom', path: ['connection', 'sslmode'], message: 'network "tls" cannot use sslmode "disable"' });
  });
export type MunicipalityEntry = z.infer<typeof MunicipalityEntry>;

export const MunicipalityRegistry = z
  .strictObject({ municipalities: z.array(MunicipalityEntry).min(1, 'must list at least one municipality') })
  .superRefine((r, ctx) => {
    const seen = new Map<string, number>();
    r.municipalities.forEach((m, i) => {
      if (seen.has(m.ibge)) ctx.addIssue({ code: 'custom', path: ['municipalities', i, 'ibge'], message: `municipality ${m.ibge} is listed twice` });
      seen.set(m.ibge, i);
    });
  });
export type MunicipalityRegistry = z.infer<typeof MunicipalityRegistry>;

/** The installation (server) a municipality's data lives on. */
export function installationOf(m: MunicipalityEntry): string {
  return m.installation ?? m.ibge;
}

/** Effective sslmode: a VPN path defaults to no TLS (the tunnel encrypts), a TLS path to verify-full. */
export function sslmodeOf(m: MunicipalityEntry): 'disable' | 'require' | 'verify-full' {
  return m.connection.sslmode ?? (m.network === 'tls' ? 'verify-full' : 'disable');
}
