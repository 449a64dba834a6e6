import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../shared/contracts/config';
import { DAILY_WORKFLOW, DAILY_WORKFLOW_FILE, WORKFLOW_ENV } from '../../shared/workflow/daily';
import { MunicipalityRegistry, sslmodeOf } from '../../shared/contracts/municipalities';
import { parseEnvironmentConfig } from '../../infra-cdktf/config';
import { repoRoot, resolve, resources, some, synthEnvironment, type Body, type TfJson } from './support/synth';

/**
 * Where things are (LGPD: São Paulo only), the network path per municipality, orchestration and
 * alerting, and the config errors that stop a bad deployment at synth time.
 */

const REGION = 'southamerica-east1';
const dev = synthEnvironment('dev');

/** Every `location`/`region`-like value anywhere in a resource (arrays included), with its path. */
function* placements(value: unknown, at: string[] = []): Generator<[string, unknown]> {
  if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (['location', 'region', 'allowed_persistence_regions', 'bq_location'].includes(k)) yield [[...at, k].join('.'), v];
      yield* placements(v, [...at, k]);
    }
}

describe('placement', () => {
  test('every resource with a location or region is in southamerica-east1', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const [type, byId] of Object.entries(dev.json.resource))
      for (const [id, body] of Object.entries(byId))
        for (const [p, v] of placements(body)) {
          checked++;
          for (const value of [v].flat()) if (String(value).toLowerCase() !== REGION) wrong.push(`${type}.${id}.${p} = ${value}`);
        }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(30); // guards against the walk silently finding nothing
  });

  test('resources that must be placed are placed (nothing falls back to a multi-region default)', () => {
    const mustHave: Record<string, string> = {
      google_storage_bucket: 'location',
      google_bigquery_dataset: 'location',
      google_cloudfunctions2_function: 'location',
      google_artifact_registry_repository: 'location',
      google_data_catalog_taxonomy: 'region',
      google_workflows_workflow: 'region',
      google_cloud_scheduler_job: 'region',
      google_vpc_access_connector: 'region',
      google_compute_subnetwork: 'region',
    };
    for (const [type, key] of Object.entries(mustHave)) for (const [, b] of some(dev.json, type)) expect(b[key]).toBeDefined();
    for (const [, sec] of some(dev.json, 'google_secret_manager_secret')) expect(sec.replication.user_managed.replicas).toEqual([{ location: REGION }]);
    expect(dev.json.provider.google[0].region).toBe(REGION);
  });
});

function byName(json: TfJson, type: string, name: string): Body | undefined {
  return resources(json, type).find(([, b]) => b.name === name)?.[1];
}

describe('network path per municipality (registry `network`)', () => {
  const vpn = dev.registry.municipalities.filter((m) => m.network === 'vpn');
  const tls = dev.registry.municipalities.filter((m) => m.network === 'tls');

  test('fixture covers both paths', () => {
    expect(vpn.length).toBeGreaterThan(0);
    expect(tls.length).toBeGreaterThan(0);
  });

  test('TLS path: Cloud NAT with one reserved static external address (MANUAL_ONLY), exported for allow-lists', () => {
    const [[, address]] = resources(dev.json, 'google_compute_address') as [[string, Body]];
    expect(address.address_type).toBe('EXTERNAL');
    const [[, nat]] = resources(dev.json, 'google_compute_router_nat') as [[string, Body]];
    expect(nat.nat_ip_allocate_option).toBe('MANUAL_ONLY');
    expect(nat.nat_ips).toEqual(['${google_compute_address.nat-address.self_link}']);
    expect(dev.json.output!.nat_egress_ip).toBeDefined();
  });

  test.each(vpn.map((m) => [m.ibge, m] as const))(
    'VPN path %s: shared router and gateway in a spoke peered with the hub, its own peer gateway, 2 tunnels, 2 BGP sessions',
    (ibge, m) => {
      const j = dev.json;
      // Curitiba's /29 169.254.10.0 is block 320 of 169.254.0.0/16 → router slot 5 (64 blocks each) → spoke 1.
      expect(dev.config.network.vpnBgp[ibge]).toBe('169.254.10.0/29');
      const gateway = byName(j, 'google_compute_ha_vpn_gateway', 'pec-vpn-gw-5')!;
      const router = byName(j, 'google_compute_router', 'pec-vpn-router-5')!;
      const spoke = byName(j, 'google_compute_network', 'pec-vpn-net-1')!;
      expect(spoke.auto_create_subnetworks).toBe(false);
      expect(gateway.network).toBe('${google_compute_network.vpn-network-1.id}');
      expect(router.network).toBe('${google_compute_network.vpn-network-1.id}');
      expect(router.bgp.advertise_mode).toBe('CUSTOM');
      expect(router.bgp.advertised_ip_ranges).toEqual([{ range: dev.config.network.egressRange, description: 'PEC pipeline egress' }]);
      // The hub imports the routes the spoke's routers learn; the spoke exports them.
      const toSpoke = byName(j, 'google_compute_network_peering', 'pec-vpn-net-1-to-spoke')!;
      const toHub = byName(j, 'google_compute_network_peering', 'pec-vpn-net-1-to-hub')!;
      expect([toSpoke.network, toSpoke.peer_network, toSpoke.import_custom_routes]).toEqual([
        '${google_compute_network.vpc.self_link}',
        '${google_compute_network.vpn-network-1.self_link}',
        true,
      ]);
      expect([toHub.network, toHub.peer_network, toHub.export_custom_routes]).toEqual([
        '${google_compute_network.vpn-network-1.self_link}',
        '${google_compute_network.vpc.self_link}',
        true,
      ]);
      expect(toHub.depends_on).toContain('google_compute_network_peering.vpn-peering-1-to-spoke');
      const peer = byName(j, 'google_compute_external_vpn_gateway', `pec-peer-${ibge}`)!;
      expect(peer.interface.map((i: Body) => i.ip_address)).toEqual(m.vpn!.peerIps);
      const tunnels = [0, 1].map((i) => byName(j, 'google_compute_vpn_tunnel', `pec-vpn-${ibge}-t${i}`)!);
      expect(tunnels.map((t) => t.vpn_gateway_interface)).toEqual([0, 1]);
      expect(tunnels.map((t) => t.router)).toEqual(['${google_compute_router.vpn-router-5.id}', '${google_compute_router.vpn-router-5.id}']);
      const peers = [0, 1].map((i) => byName(j, 'google_compute_router_peer', `pec-vpn-${ibge}-t${i}-bgp`)!);
      expect(peers.map((p) => p.peer_asn)).toEqual([m.vpn!.peerAsn, m.vpn!.peerAsn]);
      expect(peers.map((p) => [p.ip_address, p.peer_ip_address])).toEqual([
        ['169.254.10.1', '169.254.10.2'],
        ['169.254.10.5', '169.254.10.6'],
      ]);
      const ifaces = [0, 1].map((i) => byName(j, 'google_compute_router_interface', `pec-vpn-${ibge}-t${i}-if`)!);
      expect(ifaces.map((f) => f.ip_range)).toEqual(peers.map((p) => `${p.ip_address}/30`));
      expect(j.output![`vpn_${ibge}`]!.value).toMatchObject({ present_pec_server_on: `${m.connection.host}/32`, pre_shared_key_secret: `vpn-psk-${ibge}` });
    },
  );

  test('VPN sources talk TLS inside the tunnel (require) unless the registry gives a reason', () => {
    for (const m of vpn) expect(sslmodeOf(m)).toBe('require');
    expect(vpn.length).toBeGreaterThan(0);
  });

  test('a registry with VPN municipalities only: no NAT, no static address, extract stays on private ranges', () => {
    const registry = MunicipalityRegistry.parse({ municipalities: dev.registry.municipalities.filter((m) => m.network === 'vpn') });
    // Per-municipality settings must name registry municipalities: keep only the VPN ones' groups.
    const keep = (groups: Record<string, string>) => Object.fromEntries(Object.entries(groups).filter(([ibge]) => registry.municipalities.some((m) => m.ibge === ibge)));
    const s = synthEnvironment('dev', { registry, config: (c) => ({ ...c, powerBiMunicipalityGroups: keep(c.powerBiMunicipalityGroups) }) });
    expect(s.json.resource.google_compute_router_nat).toBeUndefined();
    expect(s.json.resource.google_compute_address).toBeUndefined();
    const [, extract] = resources(s.json, 'google_cloudfunctions2_function').find(([, f]) => f.name === 'pec-extract')!;
    expect(extract.service_config.vpc_connector_egress_settings).toBe('PRIVATE_RANGES_ONLY');
  });
});

describe('orchestration and alerting', () => {
  test('the daily workflow is deployed as <prefix>daily from the generated file, with its own identity', () => {
    const workflows = resources(dev.json, 'google_workflows_workflow');
    expect(workflows.map(([id, wf]) => [id, wf.name])).toEqual([['workflow-daily', `pec-${DAILY_WORKFLOW.name}`]]);
    const [[, wf]] = workflows as [[string, Body]];
    expect(wf.name).toBe('pec-daily');
    expect(wf.source_contents).toBe(fs.readFileSync(path.join(repoRoot, DAILY_WORKFLOW_FILE), 'utf8'));
    expect(wf.service_account).toBe('${google_service_account.sa-workflows.id}');
  });

  test('the workflow environment is exactly what the YAML reads with sys.get_env, from the contracts and the deployed functions', () => {
    const [[, wf]] = resources(dev.json, 'google_workflows_workflow') as [[string, Body]];
    const read = new Set([...String(wf.source_contents).matchAll(/sys\.get_env\("([A-Z0-9_]+)"\)/g)].map((m) => m[1]!));
    // GOOGLE_CLOUD_PROJECT_ID is built in (and Workflows rejects user variables named GOOGLE*).
    read.delete('GOOGLE_CLOUD_PROJECT_ID');
    expect(Object.keys(wf.user_env_vars).filter((k) => k.startsWith('GOOGLE'))).toEqual([]);
    expect(Object.keys(wf.user_env_vars).sort()).toEqual([...read].sort());
    expect([...read].sort()).toEqual(Object.values(WORKFLOW_ENV).sort());
    const env = wf.user_env_vars as Record<string, string>;
    expect(env[WORKFLOW_ENV.runStatusUrl]).toBe('${google_cloudfunctions2_function.function-run-status.service_config[0].uri}');
    expect(env[WORKFLOW_ENV.runReportUrl]).toBe('${google_cloudfunctions2_function.function-run-report.service_config[0].uri}');
    expect(resolve(dev.json, env[WORKFLOW_ENV.rawDataset])).toBe(dev.config.datasets.raw);
    expect(resolve(dev.json, env[WORKFLOW_ENV.martsDataset])).toBe(dev.config.datasets.marts);
    expect(env[WORKFLOW_ENV.bqLocation]).toBe(REGION);
    expect(env[WORKFLOW_ENV.topicPrefix]).toBe(dev.config.topicPrefix);
    // Every topic the workflow builds from the prefix exists in the stack.
    const topics = [...String(wf.source_contents).matchAll(/topic_prefix \+ "([a-z-]+)"/g)].map((m) => `${dev.config.topicPrefix}${m[1]}`);
    expect(topics.length).toBeGreaterThan(0);
    const names = resources(dev.json, 'google_pubsub_topic').map(([, t]) => t.name);
    for (const t of topics) expect(names).toContain(t);
  });

  test.each(['dev', 'prod'] as const)("%s: a workflow reading EXTRACT_MAX_IN_FLIGHT gets the extract function's instance cap", (env) => {
    const daily = fs.readFileSync(path.join(repoRoot, DAILY_WORKFLOW_FILE), 'utf8');
    const s = synthEnvironment(env, { workflows: [{ name: DAILY_WORKFLOW.name, source: `${daily}\n# reads sys.get_env("${WORKFLOW_ENV.extractMaxInFlight}")\n` }] });
    const [[, wf]] = resources(s.json, 'google_workflows_workflow') as [[string, Body]];
    const [, extract] = resources(s.json, 'google_cloudfunctions2_function').find(([, f]) => f.name === 'pec-extract')!;
    expect(wf.user_env_vars[WORKFLOW_ENV.extractMaxInFlight]).toBe(String(extract.service_config.max_instance_count));
    expect(wf.user_env_vars[WORKFLOW_ENV.extractMaxInFlight]).toBe(env === 'dev' ? '5' : '20');
  });

  test("the printed finalize command names the workflow's location", () => {
    expect(dev.json.output!.finalize_command!.value).toBe(`gcloud workflows run pec-daily --location=${REGION} --project=${dev.config.projectId} --data='{"finalizeOnly":true}'`);
  });

  test('an empty topic prefix is left unset: the workflow defaults it to ""', () => {
    const s = synthEnvironment('dev', { config: (c) => ({ ...c, topicPrefix: '' }) });
    const [[, wf]] = resources(s.json, 'google_workflows_workflow') as [[string, Body]];
    expect(wf.user_env_vars[WORKFLOW_ENV.topicPrefix]).toBeUndefined();
    expect(wf.source_contents).toContain(`default(sys.get_env("${WORKFLOW_ENV.topicPrefix}"), "")`);
  });

  test('Cloud Scheduler starts it on DAILY_WORKFLOW.schedule in America/Sao_Paulo, with OAuth and the configured arguments', () => {
    const [[, job]] = resources(dev.json, 'google_cloud_scheduler_job') as [[string, Body]];
    expect(job.name).toBe('pec-daily-schedule');
    expect(job.schedule).toBe(DAILY_WORKFLOW.schedule.cron);
    expect(job.time_zone).toBe(DAILY_WORKFLOW.schedule.timeZone);
    expect(job.time_zone).toBe('America/Sao_Paulo');
    expect(job.http_target.uri).toBe('https://workflowexecutions.googleapis.com/v1/${google_workflows_workflow.workflow-daily.id}/executions');
    expect(job.http_target.oauth_token.service_account_email).toBe('${google_service_account.sa-scheduler.email}');
    expect(JSON.parse(JSON.parse(Buffer.from(job.http_target.body, 'base64').toString()).argument)).toEqual({});
    const pilot = synthEnvironment('dev', { config: (c) => ({ ...c, schedule: { argument: { cohort: 'pilot' } } }) });
    const [[, pilotJob]] = resources(pilot.json, 'google_cloud_scheduler_job') as [[string, Body]];
    expect(JSON.parse(JSON.parse(Buffer.from(pilotJob.http_target.body, 'base64').toString()).argument)).toEqual({ cohort: 'pilot' });
  });

  test('without workflow files the stack still synthesizes, schedules nothing and warns', () => {
    const s = synthEnvironment('dev', { workflows: [] });
    expect(s.json.resource.google_workflows_workflow).toBeUndefined();
    expect(s.json.resource.google_cloud_scheduler_job).toBeUndefined();
    expect(s.warnings.join('\n')).toMatch(/No daily schedule/);
  });

  test('five alert policies (no 5xx ratio), all notifying the configured e-mail channel', () => {
    const [[, channel]] = resources(dev.json, 'google_monitoring_notification_channel') as [[string, Body]];
    expect(channel.labels.email_address).toBe(dev.config.alertEmail);
    const policies = resources(dev.json, 'google_monitoring_alert_policy');
    expect(policies.map(([id]) => id).sort()).toEqual([
      'alert-data-freshness',
      'alert-dead-letter-backlog',
      'alert-municipalities-not-loaded',
      'alert-municipality-failed',
      'alert-run-report',
    ]);
    for (const [, p] of policies) expect(p.notification_channels).toEqual(['${google_monitoring_notification_channel.alert-email.name}']);
  });

  test('alert conditions watch the right signals', () => {
    const metric = (id: string) => dev.json.resource.google_logging_metric![id]!;
    const failed = metric('metric-municipality-failed');
    expect(failed.filter).toContain('severity=ERROR');
    expect(failed.filter).toContain('jsonPayload.errorClass:*');
    expect(failed.filter).toContain('resource.labels.service_name="${google_cloudfunctions2_function.function-extract.name}"');
    const policy = (id: string) => dev.json.resource.google_monitoring_alert_policy![id]!.conditions[0];
    expect(policy('alert-municipality-failed').condition_threshold.filter).toContain('${google_logging_metric.metric-municipality-failed.name}');
    const dlq = policy('alert-dead-letter-backlog').condition_threshold.filter;
    expect(dlq).toContain('pubsub.googleapis.com/subscription/num_undelivered_messages');
    expect(dlq).toContain('${google_pubsub_subscription.subscription-dead-letter-hold.name}');
    expect(policy('alert-data-freshness').condition_prometheus_query_language.query).toMatch(/^absent_over_time\(.*\[26h\]\) and on\(\) \(.*offset 26h\) > 0\)$/);
    // The run report's alert lines (stale source, reconciliation mismatch, late …) from the workflow.
    const runAlerts = metric('metric-run-alerts');
    expect(runAlerts.filter).toContain('resource.type="workflows.googleapis.com/Workflow"');
    expect(runAlerts.filter).toContain('jsonPayload.alert="pec-pipeline"');
    expect(policy('alert-run-report').condition_threshold.filter).toContain('${google_logging_metric.metric-run-alerts.name}');
    expect(resources(dev.json, 'google_monitoring_dashboard')).toHaveLength(1);
  });
});

describe('config errors stop a bad deployment at synth time', () => {
  const base = { projectId: 'pec-test-project', stateBucket: 'pec-test-state', alertEmail: 'a@example.org' };
  const registryWith = (patch: object) => MunicipalityRegistry.parse({ municipalities: dev.registry.municipalities.map((m) => (m.network === 'vpn' ? { ...m, ...patch } : m)) });
  const expectProblem = (fn: () => unknown, text: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(text);
  };

  test('the region is fixed to southamerica-east1', () => {
    expectProblem(() => parseEnvironmentConfig('dev', { ...base, region: 'us-central1' }), /region/);
    expect(parseEnvironmentConfig('dev', base).region).toBe(REGION);
  });

  test('defaults: registry path per environment, state prefix per environment', () => {
    const c = parseEnvironmentConfig('prod', base);
    expect(c.registryFile).toBe('registry/municipalities.prod.yaml');
    expect(c.statePrefix).toBe('pec-pipeline/prod');
    expect(c.extract.lockTimeoutMs).toBe(5000);
  });

  test('a password from an environment variable is refused in the cloud', () => {
    const registry = registryWith({ connection: { ...dev.registry.municipalities.find((m) => m.network === 'vpn')!.connection, password: { env: 'PGPASSWORD' } } });
    expectProblem(() => synthEnvironment('dev', { registry }), /connection\.password must be \{ secret/);
  });

  test('a VPN municipality without agreed BGP addresses is refused', () => {
    expectProblem(() => synthEnvironment('dev', { config: (c) => ({ ...c, network: { ...c.network, vpnBgp: {} } }) }), /no BGP block/);
  });

  test('BGP blocks must be link-local, outside the metadata range, and unique', () => {
    const ibge = dev.registry.municipalities.find((m) => m.network === 'vpn')!.ibge;
    expectProblem(() => synthEnvironment('dev', { config: (c) => ({ ...c, network: { ...c.network, vpnBgp: { [ibge]: '169.254.169.248/29' } } }) }), /metadata/);
    expectProblem(() => parseEnvironmentConfig('dev', { ...base, network: { vpnBgp: { [ibge]: '169.254.10.3/29' } } }), /aligned/);
  });

  test('a VPN source outside the reserved presented range is refused, naming the municipality and the range', () => {
    const registry = registryWith({ connection: { ...dev.registry.municipalities.find((m) => m.network === 'vpn')!.connection, host: '192.168.1.10' } });
    expectProblem(
      () => synthEnvironment('dev', { registry }),
      /municipality 4106902 \(Curitiba\): connection\.host 192\.168\.1\.10 must be the address its VPN device presents the PEC server on, inside network\.vpnPresentedRange 100\.64\.0\.0\/16/,
    );
  });

  test('the presented range may not overlap the egress range', () => {
    expectProblem(
      () => parseEnvironmentConfig('dev', { ...base, network: { vpnPresentedRange: '10.8.0.0/16' } }),
      /vpnPresentedRange 10\.8\.0\.0\/16 overlaps network\.egressRange/,
    );
  });

  test('Power BI municipality groups must name municipalities of the registry, and need powerBiGroup', () => {
    expectProblem(
      () => synthEnvironment('dev', { config: (c) => ({ ...c, powerBiMunicipalityGroups: { ...c.powerBiMunicipalityGroups, '3550308': 'pec-bi-sp@example.org' } }) }),
      /powerBiMunicipalityGroups\["3550308"\] names no municipality of the registry/,
    );
    expectProblem(() => parseEnvironmentConfig('dev', { ...base, powerBiMunicipalityGroups: { '3509502': 'pec-bi@example.org' } }), /powerBiMunicipalityGroups needs powerBiGroup/);
    expectProblem(
      () => parseEnvironmentConfig('dev', { ...base, powerBiGroup: 'g@example.org', powerBiMunicipalityGroups: { '3509502': 'not a group' } }),
      /powerBiMunicipalityGroups\.3509502/,
    );
  });

  test('the schedule takes no cron or workflow of its own: both come from the workflow specification', () => {
    expectProblem(() => parseEnvironmentConfig('dev', { ...base, schedule: { cron: '0 3 * * *' } }), /schedule/);
    expectProblem(() => parseEnvironmentConfig('dev', { ...base, schedule: { argument: { trigger: 'daily' } } }), /schedule\.argument/);
  });
});
