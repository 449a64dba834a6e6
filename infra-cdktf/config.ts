import { z } from 'zod';
import { ConfigError, DEFAULT_LOOKBACK_DAYS, ExtractSettingsSchema } from '../shared/contracts/config';
import { issueMessage } from '../shared/contracts/issues';
import { IbgeCode } from '../shared/contracts/ibge';
import { RunRequest } from '../shared/contracts/messages';
import { ALERT_DEFAULTS } from '../shared/ledger/alerts';
import { installationOf, type MunicipalityEntry, type MunicipalityRegistry } from '../shared/contracts/municipalities';

/**
 * Typed configuration of one deployment environment (one stack). Parsed from
 * infra-cdktf/environments/<env>.yaml by a pure function, so tests build stacks from plain objects.
 */

/** LGPD: health data stays in Brazil. Not configurable on purpose. */
export const REGION = 'southamerica-east1' as const;
/** Run days are São Paulo calendar days (see shared/run/plan-run.ts). */
export const TIME_ZONE = 'America/Sao_Paulo' as const;

export const ENVIRONMENTS = ['dev', 'prod'] as const;
export const EnvironmentName = z.enum(ENVIRONMENTS);
export type EnvironmentName = z.infer<typeof EnvironmentName>;

const ipv4ToInt = (ip: string): number => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);

/** `a.b.c.d/n` with a network address aligned to its prefix. */
export function parseCidr(cidr: string): { base: number; prefix: number; size: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = ipv4ToInt(octets.join('.'));
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { base, prefix, size };
}

export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  // A bare address is its /32 (parseCidr refuses anything else with "/32" appended).
  const i = parseCidr(inner) ?? parseCidr(`${inner}/32`);
  return !!o && !!i && i.base >= o.base && i.base + i.size <= o.base + o.size;
}

export function cidrOverlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return !!x && !!y && x.base < y.base + y.size && y.base < x.base + x.size;
}

const cidr = (prefixMin: number, prefixMax: number) =>
  z.string().refine((s) => {
    const c = parseCidr(s);
    return !!c && c.prefix >= prefixMin && c.prefix <= prefixMax;
  }, `must be an aligned IPv4 CIDR with a prefix between /${prefixMin} and /${prefixMax}`);

const LINK_LOCAL = '169.254.0.0/16';

const iamMember = z.string().regex(/^(user|group|serviceAccount|domain):[^\s]+$/, 'must be an IAM member such as "group:analysts@example.org"');

export const EnvironmentConfigSchema = z.strictObject({
  projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id'),
  region: z.literal(REGION).default(REGION),
  /** GCS bucket holding Terraform state; created once by hand (docs/deploy.md "First-time bootstrap"). */
  stateBucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, 'must be a bucket name'),
  statePrefix: z.string().min(1).optional(),
  alertEmail: z.email(),
  /** Municipality registry used for the network paths, secrets and the functions' bundled copy. */
  registryFile: z.string().min(1).optional(),
  /** Prepended to every topic name: lets two environments share one project (one project each is the default). */
  topicPrefix: z
    .string()
    .regex(/^([a-z][a-z0-9-]{0,29})?$/, 'lower-case letters, digits and "-"')
    .default(''),
  /** Prepended to function, service-account, workflow and network resource names. */
  namePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,7}$/, 'at most 8 lower-case letters, digits and "-", starting with a letter')
    .default('pec-'),
  datasets: z
    .strictObject({
      raw: z
        .string()
        .regex(/^[A-Za-z0-9_]{1,1024}$/)
        .default('raw'),
      marts: z
        .string()
        .regex(/^[A-Za-z0-9_]{1,1024}$/)
        .default('marts'),
      ops: z
        .string()
        .regex(/^[A-Za-z0-9_]{1,1024}$/)
        .default('ops'),
    })
    .prefault({}),
  /** Overrides FUNCTIONS.extract.maxInstances: how many municipal servers are read at once. */
  maxExtractInstances: z.number().int().min(1).max(100).optional(),
  /**
   * Google group whose members use Power BI with their own identity: marts only, like the Power BI
   * service account. Which rows they see is decided by the row access policies below, so nest the
   * municipality groups (powerBiMunicipalityGroups) in this group.
   */
  powerBiGroup: z.email().optional(),
  /**
   * Power BI readers per municipality: IBGE code → Google group. Each group gets one row access
   * policy per marts table showing only its municipalities' rows (one policy per group: a group
   * named for several municipalities sees all of them). Enabled municipalities without a group
   * have no readers (a synth warning names them).
   */
  powerBiMunicipalityGroups: z.record(IbgeCode, z.email()).default({}),
  /** Principals that see every municipality's marts rows (state-level analysts), e.g. "group:ses-bi@example.org". */
  powerBiAllRowsReaders: z.array(iamMember).default([]),
  /** Principals allowed to read personal-data columns in clear (fine-grained reader on the `pii` taxonomy). */
  piiFineGrainedReaders: z.array(iamMember).default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  lookbackDays: z.number().int().min(1).max(366).default(DEFAULT_LOOKBACK_DAYS),
  /** Values of the extract limits (EXTRACT_* variables); defaults are the production values in shared/contracts/config.ts. */
  extract: ExtractSettingsSchema.prefault({}),
  /** Staged CSV parts are re-creatable from the sources: delete them after this many days. */
  stagingRetentionDays: z.number().int().min(1).max(365).default(30),
  /** Cloud Run functions runtime; Node 20 leaves Google's support window in 2026. */
  functionsRuntime: z.enum(['nodejs20', 'nodejs22']).default('nodejs22'),
  schedule: z
    .strictObject({
      /**
       * The daily workflow's arguments (RunRequest fields it forwards): e.g. `{ cohort: pilot }` to
       * run one cohort only. The workflow file and the cron come from the workflow specification
       * (shared/workflow/daily.ts: DAILY_WORKFLOW.name, DAILY_WORKFLOW.schedule), never from here.
       */
      argument: z.strictObject({ cohort: RunRequest.shape.cohort, municipalities: RunRequest.shape.municipalities }).default({}),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      /** No successful load for this long raises the freshness incident. */
      freshnessHours: z.number().int().min(2).max(168).default(26),
      /**
       * The run report's `stale_source` threshold (run-report's STALE_SOURCE_HOURS): a PEC whose own
       * data warehouse was processed longer ago than this before the run is reported stale.
       */
      staleSourceHours: z.number().int().min(1).max(720).default(ALERT_DEFAULTS.staleSourceHours),
    })
    .prefault({}),
  network: z
    .strictObject({
      /** Subnet of the Serverless VPC Access connector (a /28 is what connectors accept). */
      connectorCidr: cidr(28, 28).default('10.8.0.0/28'),
      /**
       * What municipalities see and allow-list on their side of a VPN: the aggregate reserved for
       * the pipeline's egress, larger than today's connector subnet so that moving to Direct VPC
       * egress (a /26 or more) needs no change on 650 municipal firewalls.
       */
      egressRange: cidr(16, 28).default('10.8.0.0/23'),
      /**
       * Reserved for VPN sources: each VPN installation's device presents its PEC server, by NAT, on
       * one address of this range (the registry's connection.host), whatever its LAN uses. RFC 6598
       * shared space: routed by the connector's PRIVATE_RANGES_ONLY egress, absent from municipal LANs.
       */
      vpnPresentedRange: cidr(12, 28).default('100.64.0.0/16'),
      /** Google-side ASN of the VPN Cloud Routers (private range). */
      routerAsn: z.number().int().min(64512).max(65534).default(64514),
      connector: z
        .strictObject({
          machineType: z.enum(['e2-micro', 'e2-standard-4', 'f1-micro']).default('e2-micro'),
          minInstances: z.number().int().min(2).max(9).default(2),
          maxInstances: z.number().int().min(3).max(10).default(4),
        })
        .prefault({}),
      /**
       * Link-local /29 per VPN installation (its `installation` id, or its IBGE code when it has
       * none): the first /30 numbers tunnel 0's BGP session, the second tunnel 1's (Google takes
       * .1/.5, the municipality .2/.6). They are agreed with each network team, so they are written
       * down here rather than derived; the block's position also places the installation on a
       * shared Cloud Router (infra-cdktf/vpn-plan.ts), so "the next free /29" fills routers in order
       * and nobody's tunnels move when others are added or removed.
       */
      vpnBgp: z.record(z.string().regex(/^[a-z0-9-]{1,63}$/, 'must be an installation id or IBGE code'), cidr(29, 29)).default({}),
    })
    .prefault({}),
  labels: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be a label key: a lowercase letter, then up to 62 lowercase letters, digits, _ or -'),
      z.string().regex(/^[a-z0-9_-]{0,63}$/, 'must be a label value: up to 63 lowercase letters, digits, _ or -'),
    )
    .default({}),
});
export type EnvironmentConfigInput = z.input<typeof EnvironmentConfigSchema>;

export interface EnvironmentConfig extends z.infer<typeof EnvironmentConfigSchema> {
  environment: EnvironmentName;
  registryFile: string;
  statePrefix: string;
}

/** Parses one environment's settings; every problem is named in one ConfigError. */
export function parseEnvironmentConfig(environment: EnvironmentName, input: unknown): EnvironmentConfig {
  const r = EnvironmentConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${environment}: ${i.path.join('.') || '(root)'}: ${issueMessage(i)}`));
  const problems: string[] = [];
  const net = r.data.network;
  if (!cidrContains(net.egressRange, net.connectorCidr))
    problems.push(`${environment}: network.connectorCidr ${net.connectorCidr} must lie inside network.egressRange ${net.egressRange}`);
  if (cidrOverlaps(net.egressRange, net.vpnPresentedRange))
    problems.push(`${environment}: network.vpnPresentedRange ${net.vpnPresentedRange} overlaps network.egressRange ${net.egressRange}`);
  if (net.connector.minInstances >= net.connector.maxInstances) problems.push(`${environment}: network.connector.minInstances must be below maxInstances`);
  if (Object.keys(r.data.powerBiMunicipalityGroups).length > 0 && !r.data.powerBiGroup)
    problems.push(
      `${environment}: powerBiMunicipalityGroups needs powerBiGroup: row access policies choose the rows, the group's dataset-level read access lets its members query at all (nest the municipality groups in it)`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...r.data,
    environment,
    registryFile: r.data.registryFile ?? `registry/municipalities.${environment}.yaml`,
    statePrefix: r.data.statePrefix ?? `pec-pipeline/${environment}`,
  };
}

/** The /30 of each tunnel and the addresses on both ends, from a municipality's /29. */
export function bgpSessions(block29: string): { range: string; googleIp: string; peerIp: string }[] {
  const c = parseCidr(block29);
  if (!c || c.prefix !== 29) throw new Error(`${block29} is not a /29`);
  const ip = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  return [0, 4].map((off) => ({ range: `${ip(c.base + off + 1)}/30`, googleIp: ip(c.base + off + 1), peerIp: ip(c.base + off + 2) }));
}

/**
 * Cloud-only rules on top of MunicipalityRegistry (which also serves the laptop runtime): passwords
 * come from Secret Manager, every VPN installation has peer settings, an agreed BGP block and a
 * presented address inside the reserved range, and no address plan overlaps. Returns every problem.
 */
export function cloudRegistryProblems(registry: MunicipalityRegistry, config: EnvironmentConfig): string[] {
  const problems: string[] = [];
  const used = new Map<string, string>();
  const where = (m: MunicipalityEntry) => `municipality ${m.ibge} (${m.name})`;
  const sites = new Set<string>();
  for (const m of registry.municipalities) {
    if (!('secret' in m.connection.password)) problems.push(`${where(m)}: connection.password must be { secret: <id> } in the cloud (env and file sources exist only on a laptop)`);
    if (m.network !== 'vpn') continue;
    if (!m.vpn) problems.push(`${where(m)}: network "vpn" needs vpn.peerIps and vpn.peerAsn`);
    if (m.vpn?.peerAsn === config.network.routerAsn) problems.push(`${where(m)}: vpn.peerAsn equals the Cloud Router ASN ${config.network.routerAsn}`);
    if (!cidrContains(config.network.vpnPresentedRange, m.connection.host))
      problems.push(
        `${where(m)}: connection.host ${m.connection.host} must be the address its VPN device presents the PEC server on, inside network.vpnPresentedRange ${config.network.vpnPresentedRange} (docs/deploy.md "VPN addressing")`,
      );
    const site = installationOf(m);
    if (sites.has(site)) continue;
    sites.add(site);
    // The longest name built from it: <prefix>vpn-<site>-t1-bgp, at most 63 characters.
    if (`${config.namePrefix}vpn-${site}-t1-bgp`.length > 63)
      problems.push(`${where(m)}: installation id "${site}" is too long for VPN resource names (at most ${63 - config.namePrefix.length - 11} characters)`);
    const block = config.network.vpnBgp[site];
    if (!block) problems.push(`${where(m)}: no BGP block in network.vpnBgp["${site}"] of the ${config.environment} config (pick the next free 169.254.x.y/29)`);
    else {
      if (!cidrContains(LINK_LOCAL, block) || cidrContains('169.254.169.0/24', block))
        problems.push(`${where(m)}: BGP block ${block} must be inside 169.254.0.0/16 and outside 169.254.169.0/24 (metadata server)`);
      const other = used.get(block);
      if (other) problems.push(`${where(m)}: BGP block ${block} is already used by installation ${other}`);
      used.set(block, site);
    }
  }
  for (const site of Object.keys(config.network.vpnBgp)) if (!sites.has(site)) problems.push(`network.vpnBgp["${site}"] names no VPN installation or municipality of the registry`);
  for (const ibge of Object.keys(config.powerBiMunicipalityGroups))
    if (!registry.municipalities.some((m) => m.ibge === ibge)) problems.push(`powerBiMunicipalityGroups["${ibge}"] names no municipality of the registry`);
  return problems;
}
