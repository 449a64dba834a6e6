import path from 'node:path';
import { bgpSessions, cidrContains, cidrOverlaps, cloudRegistryProblems, parseCidr, parseEnvironmentConfig, type EnvironmentConfig } from '../../infra-cdktf/config';
import { readEnvironmentConfig, readRegistry } from '../../infra-cdktf/inputs';
import { ConfigError, ExtractSettingsSchema } from '../../shared/contracts/config';
import { MunicipalityRegistry, type MunicipalityEntry } from '../../shared/contracts/municipalities';

/**
 * infra-cdktf/config.ts without a stack: the environment config's rules at their edges, its
 * defaults, the CIDR helpers, the BGP sessions of a /29 and the cloud rules on the registry, each
 * problem word for word. placement-and-paths.test.ts checks that a bad config stops the synth.
 */

// Not support/synth's repoRoot: importing that module loads the whole stack, whose module-level
// parseCidr calls (vpn-plan.ts, synthetic.ts) crash the file under a parseCidr mutant, which mutation
// testing then counts as an error instead of a test that catches it.
const repoRoot = path.resolve(__dirname, '../..');

const base = { projectId: 'pec-test-project', stateBucket: 'pec-test-state', alertEmail: 'a@example.org' };

function problemsOf(input: unknown): string[] {
  try {
    parseEnvironmentConfig('dev', input);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('parseEnvironmentConfig', () => {
  test('the defaults, every one', () => {
    expect(parseEnvironmentConfig('dev', base)).toEqual({
      ...base,
      region: 'southamerica-east1',
      topicPrefix: '',
      namePrefix: 'pec-',
      datasets: { raw: 'raw', marts: 'marts', ops: 'ops' },
      powerBiMunicipalityGroups: {},
      powerBiAllRowsReaders: [],
      piiFineGrainedReaders: [],
      logLevel: 'info',
      lookbackDays: 35,
      extract: ExtractSettingsSchema.parse({}),
      stagingRetentionDays: 30,
      functionsRuntime: 'nodejs22',
      schedule: { argument: {} },
      alerts: { freshnessHours: 26, staleSourceHours: 26 },
      network: {
        connectorCidr: '10.8.0.0/28',
        egressRange: '10.8.0.0/23',
        vpnPresentedRange: '100.64.0.0/16',
        routerAsn: 64514,
        connector: { machineType: 'e2-micro', minInstances: 2, maxInstances: 4 },
        vpnBgp: {},
      },
      labels: {},
      environment: 'dev',
      registryFile: 'registry/municipalities.dev.yaml',
      statePrefix: 'pec-pipeline/dev',
    });
  });

  test("the schedule's argument: a cohort and municipalities (RunRequest's rules), kept as given", () => {
    const argument = { cohort: 'pilot-1', municipalities: ['3509502', '4106902'] };
    expect(parseEnvironmentConfig('dev', { ...base, schedule: { argument } }).schedule).toEqual({ argument });
    expect(problemsOf({ ...base, schedule: { argument: { cohort: 'Pilot' } } })).toEqual(['dev: schedule.argument.cohort: Invalid string: must match pattern /^[a-z0-9-]{1,40}$/']);
    expect(problemsOf({ ...base, schedule: { argument: { municipalities: ['350950'] } } })).toHaveLength(1);
  });

  test('given values win over the defaults', () => {
    const c = parseEnvironmentConfig('prod', { ...base, registryFile: 'r.yaml', statePrefix: 's/p', network: { connector: { maxInstances: 10 } } });
    expect([c.environment, c.registryFile, c.statePrefix, c.network.connector]).toEqual(['prod', 'r.yaml', 's/p', { machineType: 'e2-micro', minInstances: 2, maxInstances: 10 }]);
  });

  // [what, patch, the problem it must raise (undefined: accepted)]
  const cases: [string, object, string | undefined][] = [
    ['shortest project id', { projectId: 'abcdef' }, undefined],
    ['project id of 5', { projectId: 'abcde' }, 'dev: projectId: must be a Google Cloud project id'],
    ['project id of 30', { projectId: `a${'b'.repeat(29)}` }, undefined],
    ['project id of 31', { projectId: `a${'b'.repeat(30)}` }, 'dev: projectId: must be a Google Cloud project id'],
    ['project id ending in -', { projectId: 'abcde-' }, 'dev: projectId: must be a Google Cloud project id'],
    ['project id starting with a digit', { projectId: '1abcde' }, 'dev: projectId: must be a Google Cloud project id'],
    ['project id with a capital', { projectId: 'abcdeF' }, 'dev: projectId: must be a Google Cloud project id'],
    ['region elsewhere', { region: 'us-central1' }, 'dev: region: Invalid input: expected "southamerica-east1"'],
    ['state bucket of 3', { stateBucket: 'a.b' }, undefined],
    ['state bucket of 2', { stateBucket: 'ab' }, 'dev: stateBucket: must be a bucket name'],
    ['state bucket of 63', { stateBucket: `a${'b'.repeat(62)}` }, undefined],
    ['state bucket of 64', { stateBucket: `a${'b'.repeat(63)}` }, 'dev: stateBucket: must be a bucket name'],
    ['state bucket ending in -', { stateBucket: 'abc-' }, 'dev: stateBucket: must be a bucket name'],
    ['state bucket starting with -', { stateBucket: '-abc' }, 'dev: stateBucket: must be a bucket name'],
    ['empty state prefix', { statePrefix: '' }, 'dev: statePrefix: Too small: expected string to have >=1 characters'],
    ['empty registry file', { registryFile: '' }, 'dev: registryFile: Too small: expected string to have >=1 characters'],
    ['empty topic prefix, written out', { topicPrefix: '' }, undefined],
    ['topic prefix of 30', { topicPrefix: `a${'b'.repeat(29)}` }, undefined],
    ['topic prefix of 31', { topicPrefix: `a${'b'.repeat(30)}` }, 'dev: topicPrefix: lower-case letters, digits and "-"'],
    ['topic prefix starting with a digit', { topicPrefix: '1a' }, 'dev: topicPrefix: lower-case letters, digits and "-"'],
    ['topic prefix with a capital at the end', { topicPrefix: 'aB' }, 'dev: topicPrefix: lower-case letters, digits and "-"'],
    ['name prefix of 8', { namePrefix: 'abcdefg-' }, undefined],
    ['name prefix of 9', { namePrefix: 'abcdefgh-' }, 'dev: namePrefix: at most 8 lower-case letters, digits and "-", starting with a letter'],
    ['empty name prefix', { namePrefix: '' }, 'dev: namePrefix: at most 8 lower-case letters, digits and "-", starting with a letter'],
    ['name prefix starting with -', { namePrefix: '-a' }, 'dev: namePrefix: at most 8 lower-case letters, digits and "-", starting with a letter'],
    ['dataset ids', { datasets: { raw: 'R_1', marts: 'm', ops: 'o' } }, undefined],
    ['raw dataset with -', { datasets: { raw: 'a-b' } }, 'dev: datasets.raw: Invalid string: must match pattern /^[A-Za-z0-9_]{1,1024}$/'],
    ['empty marts dataset', { datasets: { marts: '' } }, 'dev: datasets.marts: Invalid string: must match pattern /^[A-Za-z0-9_]{1,1024}$/'],
    ['ops dataset with a space at the end', { datasets: { ops: 'a ' } }, 'dev: datasets.ops: Invalid string: must match pattern /^[A-Za-z0-9_]{1,1024}$/'],
    ['unknown dataset', { datasets: { other: 'x' } }, 'dev: datasets: Unrecognized key: "other"'],
    ['1 extract instance', { maxExtractInstances: 1 }, undefined],
    ['0 extract instances', { maxExtractInstances: 0 }, 'dev: maxExtractInstances: Too small: expected number to be >=1'],
    ['100 extract instances', { maxExtractInstances: 100 }, undefined],
    ['101 extract instances', { maxExtractInstances: 101 }, 'dev: maxExtractInstances: Too big: expected number to be <=100'],
    ['1.5 extract instances', { maxExtractInstances: 1.5 }, 'dev: maxExtractInstances: Invalid input: expected int, received number'],
    ['Power BI group not an e-mail', { powerBiGroup: 'readers' }, 'dev: powerBiGroup: Invalid email address'],
    ['all-rows reader', { powerBiAllRowsReaders: ['group:a@b', 'user:c@d', 'serviceAccount:e@f', 'domain:example.org'] }, undefined],
    ['all-rows reader of another kind', { powerBiAllRowsReaders: ['team:a@b'] }, 'dev: powerBiAllRowsReaders.0: must be an IAM member such as "group:analysts@example.org"'],
    ['all-rows reader with a space', { powerBiAllRowsReaders: ['group:a @b'] }, 'dev: powerBiAllRowsReaders.0: must be an IAM member such as "group:analysts@example.org"'],
    ['all-rows reader without a name', { powerBiAllRowsReaders: ['group:'] }, 'dev: powerBiAllRowsReaders.0: must be an IAM member such as "group:analysts@example.org"'],
    ['fine-grained reader after text', { piiFineGrainedReaders: ['x group:a@b'] }, 'dev: piiFineGrainedReaders.0: must be an IAM member such as "group:analysts@example.org"'],
    ['every log level', { logLevel: 'trace' }, undefined],
    ['unknown log level', { logLevel: 'verbose' }, 'dev: logLevel: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"'],
    ['lookback 1 day', { lookbackDays: 1 }, undefined],
    ['lookback 0 days', { lookbackDays: 0 }, 'dev: lookbackDays: Too small: expected number to be >=1'],
    ['lookback 366 days', { lookbackDays: 366 }, undefined],
    ['lookback 367 days', { lookbackDays: 367 }, 'dev: lookbackDays: Too big: expected number to be <=366'],
    ['staging kept 1 day', { stagingRetentionDays: 1 }, undefined],
    ['staging kept 0 days', { stagingRetentionDays: 0 }, 'dev: stagingRetentionDays: Too small: expected number to be >=1'],
    ['staging kept 365 days', { stagingRetentionDays: 365 }, undefined],
    ['staging kept 366 days', { stagingRetentionDays: 366 }, 'dev: stagingRetentionDays: Too big: expected number to be <=365'],
    ['runtime nodejs20', { functionsRuntime: 'nodejs20' }, undefined],
    ['runtime nodejs18', { functionsRuntime: 'nodejs18' }, 'dev: functionsRuntime: Invalid option: expected one of "nodejs20"|"nodejs22"'],
    ['a schedule cron', { schedule: { cron: '0 3 * * *' } }, 'dev: schedule: Unrecognized key: "cron"'],
    ['a schedule argument of its own', { schedule: { argument: { trigger: 'daily' } } }, 'dev: schedule.argument: Unrecognized key: "trigger"'],
    ['freshness 2 h', { alerts: { freshnessHours: 2 } }, undefined],
    ['freshness 1 h', { alerts: { freshnessHours: 1 } }, 'dev: alerts.freshnessHours: Too small: expected number to be >=2'],
    ['freshness 168 h', { alerts: { freshnessHours: 168 } }, undefined],
    ['freshness 169 h', { alerts: { freshnessHours: 169 } }, 'dev: alerts.freshnessHours: Too big: expected number to be <=168'],
    ['stale source 1 h', { alerts: { staleSourceHours: 1 } }, undefined],
    ['stale source 0 h', { alerts: { staleSourceHours: 0 } }, 'dev: alerts.staleSourceHours: Too small: expected number to be >=1'],
    ['stale source 720 h', { alerts: { staleSourceHours: 720 } }, undefined],
    ['stale source 721 h', { alerts: { staleSourceHours: 721 } }, 'dev: alerts.staleSourceHours: Too big: expected number to be <=720'],
    ['connector /27', { network: { connectorCidr: '10.8.0.0/27' } }, 'dev: network.connectorCidr: must be an aligned IPv4 CIDR with a prefix between /28 and /28'],
    ['egress /16', { network: { egressRange: '10.8.0.0/16', vpnPresentedRange: '100.64.0.0/16' } }, undefined],
    ['egress /15', { network: { egressRange: '10.8.0.0/15' } }, 'dev: network.egressRange: must be an aligned IPv4 CIDR with a prefix between /16 and /28'],
    ['egress /28', { network: { egressRange: '10.8.0.0/28' } }, undefined],
    ['egress /29', { network: { egressRange: '10.8.0.0/29' } }, 'dev: network.egressRange: must be an aligned IPv4 CIDR with a prefix between /16 and /28'],
    ['presented /12', { network: { vpnPresentedRange: '100.64.0.0/12' } }, undefined],
    ['presented /11', { network: { vpnPresentedRange: '100.64.0.0/11' } }, 'dev: network.vpnPresentedRange: must be an aligned IPv4 CIDR with a prefix between /12 and /28'],
    ['presented /28', { network: { vpnPresentedRange: '100.64.0.0/28' } }, undefined],
    ['presented /29', { network: { vpnPresentedRange: '100.64.0.0/29' } }, 'dev: network.vpnPresentedRange: must be an aligned IPv4 CIDR with a prefix between /12 and /28'],
    ['router ASN 64512', { network: { routerAsn: 64512 } }, undefined],
    ['router ASN 64511', { network: { routerAsn: 64511 } }, 'dev: network.routerAsn: Too small: expected number to be >=64512'],
    ['router ASN 65534', { network: { routerAsn: 65534 } }, undefined],
    ['router ASN 65535', { network: { routerAsn: 65535 } }, 'dev: network.routerAsn: Too big: expected number to be <=65534'],
    ['connector machine types', { network: { connector: { machineType: 'f1-micro' } } }, undefined],
    ['connector machine type e2-standard-4', { network: { connector: { machineType: 'e2-standard-4' } } }, undefined],
    [
      'unknown connector machine type',
      { network: { connector: { machineType: 'n1-standard-1' } } },
      'dev: network.connector.machineType: Invalid option: expected one of "e2-micro"|"e2-standard-4"|"f1-micro"',
    ],
    ['connector min 1', { network: { connector: { minInstances: 1 } } }, 'dev: network.connector.minInstances: Too small: expected number to be >=2'],
    ['connector min 9, max 10', { network: { connector: { minInstances: 9, maxInstances: 10 } } }, undefined],
    ['connector min 10', { network: { connector: { minInstances: 10, maxInstances: 10 } } }, 'dev: network.connector.minInstances: Too big: expected number to be <=9'],
    ['connector max 3', { network: { connector: { maxInstances: 3 } } }, undefined],
    ['connector max 2', { network: { connector: { maxInstances: 2 } } }, 'dev: network.connector.maxInstances: Too small: expected number to be >=3'],
    ['connector max 11', { network: { connector: { maxInstances: 11 } } }, 'dev: network.connector.maxInstances: Too big: expected number to be <=10'],
    ['connector min = max', { network: { connector: { minInstances: 4, maxInstances: 4 } } }, 'dev: network.connector.minInstances must be below maxInstances'],
    ['VPN block for an installation id', { network: { vpnBgp: { 'site-1': '169.254.0.8/29' } } }, undefined],
    // A refused record key shows the key rule's own message (zod's own is "Invalid key in record").
    ['VPN block key with a capital', { network: { vpnBgp: { Site: '169.254.0.8/29' } } }, 'dev: network.vpnBgp.Site: key must be an installation id or IBGE code'],
    ['VPN block key of 63', { network: { vpnBgp: { ['a'.repeat(63)]: '169.254.0.8/29' } } }, undefined],
    ['VPN block key of 64', { network: { vpnBgp: { ['a'.repeat(64)]: '169.254.0.8/29' } } }, `dev: network.vpnBgp.${'a'.repeat(64)}: key must be an installation id or IBGE code`],
    ['empty VPN block key', { network: { vpnBgp: { '': '169.254.0.8/29' } } }, 'dev: network.vpnBgp.: key must be an installation id or IBGE code'],
    ['VPN block /30', { network: { vpnBgp: { a: '169.254.0.8/30' } } }, 'dev: network.vpnBgp.a: must be an aligned IPv4 CIDR with a prefix between /29 and /29'],
    ['connector outside the egress range', { network: { connectorCidr: '10.9.0.0/28' } }, 'dev: network.connectorCidr 10.9.0.0/28 must lie inside network.egressRange 10.8.0.0/23'],
    [
      'presented range over the egress range',
      { network: { vpnPresentedRange: '10.8.0.0/16' } },
      'dev: network.vpnPresentedRange 10.8.0.0/16 overlaps network.egressRange 10.8.0.0/23',
    ],
    ['labels', { labels: { team: 'data_1', 'cost-centre': '' } }, undefined],
    [
      'label key starting with a digit',
      { labels: { '1team': 'x' } },
      'dev: labels.1team: key must be a label key: a lowercase letter, then up to 62 lowercase letters, digits, _ or -',
    ],
    ['label value with a capital', { labels: { team: 'X' } }, 'dev: labels.team: must be a label value: up to 63 lowercase letters, digits, _ or -'],
    ['an unknown key', { colour: 'blue' }, 'dev: (root): Unrecognized key: "colour"'],
  ];
  test.each(cases)('%s', (_what, patch, problem) => {
    expect(problemsOf({ ...base, ...patch })).toEqual(problem === undefined ? [] : [problem]);
  });

  test('Power BI municipality groups need powerBiGroup, and name municipalities by IBGE code with an e-mail', () => {
    expect(problemsOf({ ...base, powerBiMunicipalityGroups: { '3509502': 'g@example.org' } })).toEqual([
      "dev: powerBiMunicipalityGroups needs powerBiGroup: row access policies choose the rows, the group's dataset-level read access lets its members query at all (nest the municipality groups in it)",
    ]);
    expect(problemsOf({ ...base, powerBiGroup: 'all@example.org', powerBiMunicipalityGroups: { '3509502': 'g@example.org' } })).toEqual([]);
    expect(problemsOf({ ...base, powerBiGroup: 'all@example.org', powerBiMunicipalityGroups: { '3509502': 'not a group' } })).toEqual([
      'dev: powerBiMunicipalityGroups.3509502: Invalid email address',
    ]);
  });

  test('all cross-field problems at once, and a non-object', () => {
    expect(
      problemsOf({
        ...base,
        powerBiMunicipalityGroups: { '3509502': 'g@example.org' },
        network: { connectorCidr: '10.9.0.0/28', vpnPresentedRange: '10.8.0.0/16', connector: { minInstances: 5, maxInstances: 4 } },
      }),
    ).toHaveLength(4);
    expect(problemsOf('x')).toEqual(['dev: (root): Invalid input: expected object, received string']);
  });
});

describe('CIDR helpers', () => {
  test.each([
    ['10.0.0.0/8', { base: 167772160, prefix: 8, size: 16777216 }],
    ['0.0.0.0/0', { base: 0, prefix: 0, size: 4294967296 }],
    ['255.255.255.255/32', { base: 4294967295, prefix: 32, size: 1 }],
    ['169.254.10.8/29', { base: (169 * 256 + 254) * 65536 + 10 * 256 + 8, prefix: 29, size: 8 }],
    ['10.0.0.1/8', undefined],
    ['10.0.0.0/33', undefined],
    ['256.0.0.0/8', undefined],
    ['10.0.256.0/24', undefined],
    ['10.0.0/24', undefined],
    [' 10.0.0.0/8', undefined],
    ['10.0.0.0/8 ', undefined],
    ['1000.0.0.0/8', undefined],
    ['10.0.0.0/100', undefined],
    ['10.0.0.0', undefined],
  ])('parseCidr(%j)', (cidr, parsed) => {
    expect(parseCidr(cidr)).toEqual(parsed);
  });

  test.each([
    ['10.8.0.0/23', '10.8.0.0/28', true],
    ['10.8.0.0/23', '10.8.1.240/28', true],
    ['10.8.0.0/23', '10.8.2.0/28', false],
    ['10.8.0.0/23', '10.7.255.240/28', false],
    ['10.8.0.0/23', '10.8.0.0/23', true],
    ['10.8.0.0/23', '10.8.0.0/22', false],
    ['10.8.0.0/23', '10.8.1.255', true],
    ['10.8.0.0/23', '10.8.2.0', false],
    ['10.8.0.0/23', '10.8.1.2x', false],
    ['10.8.0.0/23', 'x10.8.1.2', false],
    ['10.8.0.0/23', 'pec.example.net', false],
    ['10.8.0.1/23', '10.8.0.0/28', false],
  ])('cidrContains(%s, %s) is %s', (outer, inner, contains) => {
    expect(cidrContains(outer, inner)).toBe(contains);
  });

  test.each([
    ['10.0.0.0/24', '10.0.1.0/24', false],
    ['10.0.1.0/24', '10.0.0.0/24', false],
    ['10.0.0.0/23', '10.0.1.0/24', true],
    ['10.0.1.0/24', '10.0.0.0/23', true],
    ['10.0.0.0/24', '10.0.0.0/24', true],
    ['10.0.0.0/24', 'x', false],
    ['x', '10.0.0.0/24', false],
  ])('cidrOverlaps(%s, %s) is %s', (a, b, overlaps) => {
    expect(cidrOverlaps(a, b)).toBe(overlaps);
  });

  test('a /29 holds two /30 BGP sessions: Google on the first host address, the municipality on the second', () => {
    expect(bgpSessions('169.254.10.248/29')).toEqual([
      { range: '169.254.10.249/30', googleIp: '169.254.10.249', peerIp: '169.254.10.250' },
      { range: '169.254.10.253/30', googleIp: '169.254.10.253', peerIp: '169.254.10.254' },
    ]);
    expect(() => bgpSessions('169.254.10.248/30')).toThrow(/^169\.254\.10\.248\/30 is not a \/29$/);
    expect(() => bgpSessions('169.254.10.249/29')).toThrow(/^169\.254\.10\.249\/29 is not a \/29$/);
  });
});

describe('cloudRegistryProblems', () => {
  // Read before the tests, not while jest collects them: a defect in the reading then fails these
  // tests instead of crashing the file (which mutation testing counts as an error, not a kill).
  let config: EnvironmentConfig;
  let registry: MunicipalityRegistry;
  let vpn: MunicipalityEntry;
  beforeAll(() => {
    config = readEnvironmentConfig(repoRoot, 'dev');
    registry = readRegistry(path.resolve(repoRoot, config.registryFile));
    vpn = registry.municipalities.find((m) => m.network === 'vpn')!;
  });
  const withVpn = (patch: Partial<MunicipalityEntry>, others: MunicipalityEntry[] = []) =>
    MunicipalityRegistry.parse({ municipalities: [...registry.municipalities.map((m) => (m === vpn ? { ...m, ...patch } : m)), ...others] });
  const problems = (r: MunicipalityRegistry, c: EnvironmentConfig = config) => cloudRegistryProblems(r, c);

  test('a VPN municipality on a loopback host (the laptop form) has no vpn block to check: refused in the cloud', () => {
    const laptop = MunicipalityRegistry.parse({
      municipalities: registry.municipalities.map((m) => (m === vpn ? { ...m, vpn: undefined, connection: { ...m.connection, host: '127.0.0.1' } } : m)),
    });
    expect(problems(laptop)).toEqual([
      `${where}: network "vpn" needs vpn.peerIps and vpn.peerAsn`,
      `${where}: connection.host 127.0.0.1 must be the address its VPN device presents the PEC server on, inside network.vpnPresentedRange 100.64.0.0/16 (docs/deploy.md "VPN addressing")`,
    ]);
  });
  const where = 'municipality 4106902 (Curitiba)';

  test('the dev registry and config are fine', () => {
    expect(vpn.ibge).toBe('4106902');
    expect(problems(registry)).toEqual([]);
  });

  test('a password that is not a secret', () => {
    expect(problems(withVpn({ connection: { ...vpn.connection, password: { env: 'PGPASSWORD' } } }))).toEqual([
      `${where}: connection.password must be { secret: <id> } in the cloud (env and file sources exist only on a laptop)`,
    ]);
  });

  test('the peer ASN may not be the Cloud Router’s', () => {
    expect(problems(withVpn({ vpn: { ...vpn.vpn!, peerAsn: config.network.routerAsn } }))).toEqual([`${where}: vpn.peerAsn equals the Cloud Router ASN 64514`]);
  });

  test('the host must be inside the presented range', () => {
    expect(problems(withVpn({ connection: { ...vpn.connection, host: '100.128.0.1' } }))).toEqual([
      `${where}: connection.host 100.128.0.1 must be the address its VPN device presents the PEC server on, inside network.vpnPresentedRange 100.64.0.0/16 (docs/deploy.md "VPN addressing")`,
    ]);
  });

  test('TLS municipalities need no VPN settings', () => {
    const tls = registry.municipalities.find((m) => m.network === 'tls')!;
    expect(tls.vpn).toBeUndefined();
    expect(cidrContains(config.network.vpnPresentedRange, tls.connection.host)).toBe(false);
  });

  test('installation ids: the longest VPN name must fit in 63 characters', () => {
    const c = { ...config, network: { ...config.network, vpnBgp: { ['a'.repeat(48)]: '169.254.10.0/29' } } };
    expect(problems(withVpn({ installation: 'a'.repeat(48) } as Partial<MunicipalityEntry>), c)).toEqual([]);
    const c2 = { ...config, network: { ...config.network, vpnBgp: { ['a'.repeat(49)]: '169.254.10.0/29' } } };
    expect(problems(withVpn({ installation: 'a'.repeat(49) } as Partial<MunicipalityEntry>), c2)).toEqual([
      `${where}: installation id "${'a'.repeat(49)}" is too long for VPN resource names (at most 48 characters)`,
    ]);
  });

  test('BGP blocks: present, link-local, not the metadata server’s, one per installation, and none for nobody', () => {
    const at = (vpnBgp: Record<string, string>) => ({ ...config, network: { ...config.network, vpnBgp } });
    expect(problems(registry, at({}))).toEqual([`${where}: no BGP block in network.vpnBgp["4106902"] of the dev config (pick the next free 169.254.x.y/29)`]);
    expect(problems(registry, at({ '4106902': '169.255.0.0/29' }))).toEqual([
      `${where}: BGP block 169.255.0.0/29 must be inside 169.254.0.0/16 and outside 169.254.169.0/24 (metadata server)`,
    ]);
    expect(problems(registry, at({ '4106902': '169.254.169.8/29' }))).toEqual([
      `${where}: BGP block 169.254.169.8/29 must be inside 169.254.0.0/16 and outside 169.254.169.0/24 (metadata server)`,
    ]);
    expect(problems(registry, at({ '4106902': '169.254.168.248/29' }))).toEqual([]);
    expect(problems(registry, at({ '4106902': '169.254.170.0/29' }))).toEqual([]);
    expect(problems(registry, at({ '4106902': '169.254.10.0/29', '9999999': '169.254.10.8/29' }))).toEqual([
      'network.vpnBgp["9999999"] names no VPN installation or municipality of the registry',
    ]);
    const second = { ...vpn, ibge: '4113700', name: 'Londrina', connection: { ...vpn.connection, host: '100.64.0.11' } };
    expect(problems(withVpn({}, [second]), at({ '4106902': '169.254.10.0/29', '4113700': '169.254.10.0/29' }))).toEqual([
      'municipality 4113700 (Londrina): BGP block 169.254.10.0/29 is already used by installation 4106902',
    ]);
    // Two municipalities of one installation share its block: checked once.
    const sameSite = { ...second, installation: 'shared', connection: vpn.connection };
    const first = { installation: 'shared' } as Partial<MunicipalityEntry>;
    expect(problems(withVpn(first, [sameSite as MunicipalityEntry]), at({ shared: '169.254.10.0/29' }))).toEqual([]);
  });

  test('Power BI groups must name municipalities of the registry', () => {
    expect(problems(registry, { ...config, powerBiMunicipalityGroups: { ...config.powerBiMunicipalityGroups, '3550308': 'sp@example.org' } })).toEqual([
      'powerBiMunicipalityGroups["3550308"] names no municipality of the registry',
    ]);
  });
});
