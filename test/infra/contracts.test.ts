import { ENV } from '../../shared/contracts/config';
import { spawnSync } from 'node:child_process';
import { DELIVERY, FUNCTIONS, type FunctionKey, type FunctionSpec, type PubsubFunctionKey } from '../../shared/contracts/functions';
import { TOPICS } from '../../shared/contracts/messages';
import { COLUMN_TYPES, INGESTION_COLUMNS, landedTables, SET_ASIDE_TABLE, type TableDef } from '../../shared/contracts/tables';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { loadedSlicesSchema, rawTableSchema as loaderRawTableSchema } from '../../shared/adapters/gcp/bigquery-schema';
import { OPS_VIEWS, bigQueryOpsTables } from '../../shared/ledger/schema';
import type { BigQueryTableSpec as OwnedTableSpec } from '../../shared/ledger/table-schema';
import { MARTS, MART_NAMES, MART_TABLES, bigQueryMartTables, bigQueryRefreshScript } from '../../shared/marts/marts';
import { DAILY_WORKFLOW } from '../../shared/workflow/daily';
import { step } from '../../shared/workflow/definition';
import { resolve, resources, some, synthEnvironment, type Body, type TfJson } from './support/synth';

/**
 * The infrastructure is wired to the code through the shared contracts: function specs and ENV
 * names, topic names, and the table registry. Expectations are computed here from the contracts
 * themselves (not from infra-cdktf helpers), so a drift on either side fails.
 */

const s = synthEnvironment('dev');
const { json, config } = s;

const fnBody = (key: FunctionKey): Body => resources(json, 'google_cloudfunctions2_function').find(([, f]) => f.name === `pec-${FUNCTIONS[key].name}`)![1];
const functionKeys = Object.keys(FUNCTIONS) as FunctionKey[];

describe('functions follow FUNCTIONS', () => {
  test('one 2nd-gen function per spec, nothing else', () => {
    expect(
      resources(json, 'google_cloudfunctions2_function')
        .map(([, f]) => f.name)
        .sort(),
    ).toEqual(functionKeys.map((k) => `pec-${FUNCTIONS[k].name}`).sort());
  });

  test.each(functionKeys)('%s: environment variable names are exactly its spec env mapped through ENV, and NODE_OPTIONS when it has node flags', (key) => {
    const vars = fnBody(key).service_config.environment_variables as Record<string, string>;
    const spec: FunctionSpec = FUNCTIONS[key];
    expect(Object.keys(vars).sort()).toEqual([...spec.env.map((k) => ENV[k]), ...(spec.nodeOptions ? ['NODE_OPTIONS'] : [])].sort());
    if (spec.nodeOptions) expect(vars.NODE_OPTIONS).toBe(spec.nodeOptions);
  });

  // Node refuses (exit 9) a flag it does not allow in NODE_OPTIONS: a function deployed with one would never start.
  test.each(functionKeys.filter((k) => (FUNCTIONS[k] as FunctionSpec).nodeOptions))('%s: node starts with its NODE_OPTIONS and applies them', (key) => {
    const flags = (FUNCTIONS[key] as FunctionSpec).nodeOptions!;
    const probe = `const v8 = require('v8'); const keep = []; for (let i = 0; i < 2e6; i++) keep.push({ i });
      process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))`;
    const r = spawnSync(process.execPath, ['-e', probe], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: flags }, encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    // The young generation is two semi-spaces: bounded by the flag (the default grows to 2 × 16 MiB under this allocation).
    const semiMiB = /--max-semi-space-size=(\d+)/.exec(flags)?.[1];
    if (semiMiB) expect(Number(r.stdout)).toBeLessThanOrEqual(2 * Number(semiMiB) * 2 ** 20);
  });

  // A misspelt V8 flag is only an "unrecognized flag" line on stderr: the function would start without it.
  test.each(functionKeys.filter((k) => (FUNCTIONS[k] as FunctionSpec).v8Flags?.length))(
    '%s: its v8Flags are V8 flags this node knows, and node refuses them in NODE_OPTIONS',
    (key) => {
      for (const flag of (FUNCTIONS[key] as FunctionSpec).v8Flags!) {
        const set = spawnSync(process.execPath, ['-e', `require('v8').setFlagsFromString(${JSON.stringify(flag)})`], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
        expect({ flag, status: set.status, stderr: set.stderr }).toEqual({ flag, status: 0, stderr: '' });
        // Where node takes it in NODE_OPTIONS it belongs in nodeOptions, set before V8 starts.
        const asOption = spawnSync(process.execPath, ['-e', ''], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: flag }, encoding: 'utf8' });
        expect({ flag, status: asOption.status, stderr: asOption.stderr.trim() }).toEqual({ flag, status: 9, stderr: expect.stringContaining('is not allowed in NODE_OPTIONS') });
      }
    },
  );

  test.each(functionKeys)('%s: entry point, memory, timeout and instance cap come from the spec', (key) => {
    const spec = FUNCTIONS[key];
    const f = fnBody(key);
    expect(f.build_config.entry_point).toBe(spec.entryPoint);
    expect(f.service_config.available_memory).toBe(`${spec.memoryMb}Mi`);
    expect(f.service_config.available_cpu).toBe('vcpu' in spec ? String(spec.vcpu) : undefined);
    expect(f.service_config.timeout_seconds).toBe(spec.timeoutSeconds);
    expect(f.service_config.max_instance_count).toBe(key === 'extract' ? (config.maxExtractInstances ?? spec.maxInstances) : spec.maxInstances);
  });

  test('environment values that name resources point at the stack’s resources', () => {
    const env = fnBody('extract').service_config.environment_variables as Record<string, string>;
    expect(resolve(json, env[ENV.stagingBucket])).toBe(`${config.projectId}-pec-staging`);
    expect(resolve(json, env[ENV.pseudonymKeySecret])).toBe('pec-pseudonym-key');
    expect(env[ENV.topicPrefix]).toBe(config.topicPrefix);
    expect(env[ENV.projectId]).toBe(config.projectId);
    expect(env[ENV.environment]).toBe('dev');
    const load = fnBody('load').service_config.environment_variables as Record<string, string>;
    expect(resolve(json, load[ENV.rawDataset])).toBe(config.datasets.raw);
    expect(load[ENV.bqLocation]).toBe('southamerica-east1');
  });

  test('bundles that read the registry carry it, and the env var points at it', () => {
    for (const key of functionKeys) {
      const f = fnBody(key);
      const value = f.service_config.environment_variables[ENV.registryFile];
      expect(value === undefined).toBe(!(FUNCTIONS[key].env as readonly string[]).includes('registryFile'));
    }
  });

  test('only extract is attached to the VPC; it sends all traffic there when a TLS municipality exists', () => {
    for (const key of functionKeys) expect(Boolean(fnBody(key).service_config.vpc_connector)).toBe(key === 'extract');
    const hasTls = s.registry.municipalities.some((m) => m.network === 'tls');
    expect(fnBody('extract').service_config.vpc_connector_egress_settings).toBe(hasTls ? 'ALL_TRAFFIC' : 'PRIVATE_RANGES_ONLY');
  });
});

describe('Pub/Sub: every topic of the contract, retry and dead-letter on every delivery', () => {
  const topicName = (ref: string) => resolve(json, ref.replace(/\.id\}$/, '.name}'));
  const subs = resources(json, 'google_pubsub_subscription');
  const deadLetter = `${config.topicPrefix}${TOPICS.deadLetter}`;

  test('topics are TOPIC_PREFIX + TOPICS, kept in the region', () => {
    const topics = resources(json, 'google_pubsub_topic');
    expect(topics.map(([, t]) => t.name).sort()).toEqual(
      Object.values(TOPICS)
        .map((n) => `${config.topicPrefix}${n}`)
        .sort(),
    );
    expect(topics.length).toBeGreaterThan(0);
    for (const [, t] of topics) expect(t.message_storage_policy.allowed_persistence_regions).toEqual(['southamerica-east1']);
  });

  test('the delivery contract holds the reviewed values (an independent copy: a change here is a decision, not a drift)', () => {
    expect(DELIVERY).toEqual({
      minimumBackoffSeconds: 10,
      maximumBackoffSeconds: 600,
      maxDeliveryAttempts: { fanOut: 5, extract: 100, load: 20 },
      messageRetentionSeconds: 86_400,
      deadLetterRetentionSeconds: 604_800,
      ackDeadlineMarginSeconds: 30,
      maxAckDeadlineSeconds: 600,
    });
  });

  const pushedKeys = functionKeys.filter((k) => FUNCTIONS[k].trigger.kind === 'pubsub') as PubsubFunctionKey[];
  test('every Pub/Sub-triggered function has delivery settings, and the fixture has some', () => {
    expect(pushedKeys.length).toBeGreaterThan(0);
    expect(pushedKeys.sort()).toEqual(Object.keys(DELIVERY.maxDeliveryAttempts).sort());
  });

  test.each(pushedKeys)('%s subscription: retry, dead letter, attempts, retention and ack deadline exactly as DELIVERY says', (key) => {
    const [, b] = some(
      json,
      'google_pubsub_subscription',
      (x) => x.name === `${config.topicPrefix}${TOPICS[FUNCTIONS[key].trigger.kind === 'pubsub' ? FUNCTIONS[key].trigger.topic : 'deadLetter']}-to-${FUNCTIONS[key].name}`,
    )[0]!;
    expect(b.retry_policy).toEqual({ minimum_backoff: `${DELIVERY.minimumBackoffSeconds}s`, maximum_backoff: `${DELIVERY.maximumBackoffSeconds}s` });
    expect(topicName(b.dead_letter_policy.dead_letter_topic)).toBe(deadLetter);
    expect(b.dead_letter_policy.max_delivery_attempts).toBe(DELIVERY.maxDeliveryAttempts[key]);
    expect(b.message_retention_duration).toBe(`${DELIVERY.messageRetentionSeconds}s`);
    // Written out rather than through ackDeadlineSeconds(): the timeout plus 30 s, at most 600 s.
    expect(b.ack_deadline_seconds).toBe(Math.min(600, FUNCTIONS[key].timeoutSeconds + 30));
    expect(b.expiration_policy).toEqual({ ttl: '' });
  });

  test('each Pub/Sub-triggered function has exactly one authenticated push subscription on its spec topic', () => {
    for (const key of functionKeys) {
      const spec = FUNCTIONS[key];
      const uri = `\${google_cloudfunctions2_function.function-${spec.name}.service_config[0].uri}`;
      const pushing = subs.filter(([, b]) => b.push_config?.push_endpoint?.startsWith(uri));
      if (spec.trigger.kind !== 'pubsub') {
        expect(pushing).toHaveLength(0);
        continue;
      }
      expect(pushing).toHaveLength(1);
      const [, b] = pushing[0]!;
      expect(topicName(b.topic)).toBe(`${config.topicPrefix}${TOPICS[spec.trigger.topic]}`);
      expect(b.push_config.oidc_token.service_account_email).toMatch(/^\$\{google_service_account\.sa-pubsub-push\.email\}$/);
      expect(b.push_config.oidc_token.audience).toBe(uri);
      // The push waits at least as long as the function may run, or a running message is redelivered.
      expect(b.ack_deadline_seconds).toBeGreaterThanOrEqual(Math.min(600, spec.timeoutSeconds));
    }
  });

  test('no delivery bypasses these subscriptions: no function has an Eventarc trigger (its subscription would have no dead letters)', () => {
    const fns = some(json, 'google_cloudfunctions2_function');
    expect(fns.filter(([, f]) => f.event_trigger !== undefined).map(([id]) => id)).toEqual([]);
  });

  test('dead letters are held a week in a pull subscription that never expires', () => {
    const hold = subs.filter(([, b]) => topicName(b.topic) === deadLetter);
    expect(hold).toHaveLength(1);
    expect(hold[0]![1].push_config).toBeUndefined();
    expect(hold[0]![1].message_retention_duration).toBe(`${DELIVERY.deadLetterRetentionSeconds}s`);
    expect(hold[0]![1].expiration_policy).toEqual({ ttl: '' });
    // An operator's ack removes a replayed dead letter: acked ones are not kept (nor counted, nor billed).
    expect(hold[0]![1].retain_acked_messages).toBe(false);
  });
});

/** Parses a table's schema JSON. */
function schemaOf(json: TfJson, dataset: string, table: string): { name: string; type: string; mode: string; policyTags?: { names: string[] } }[] {
  const found = resources(json, 'google_bigquery_table').find(([, t]) => t.table_id === table && resolve(json, t.dataset_id) === dataset);
  if (!found) throw new Error(`no table ${dataset}.${table}`);
  return JSON.parse(found[1].schema);
}

describe('BigQuery raw tables follow the table registry', () => {
  const raw = config.datasets.raw;
  /** Written from the contract here, independently of infra-cdktf/bigquery-schema.ts. */
  const expectedColumns = (t: TableDef) => [
    ...t.columns.filter((c) => c.pii?.policy !== 'drop').map((c) => ({ name: c.name, type: COLUMN_TYPES[c.pii?.policy === 'hash' ? 'text' : c.type].bigquery })),
    ...INGESTION_COLUMNS.map((c) => ({ name: c.name, type: COLUMN_TYPES[c.type].bigquery })),
  ];
  const tagKind = new Map(resources(json, 'google_data_catalog_policy_tag').map(([id, b]) => [`\${google_data_catalog_policy_tag.${id}.name}`, b.display_name as string]));

  test('exactly one raw table per registry table', () => {
    const tables = resources(json, 'google_bigquery_table').filter(([, t]) => resolve(json, t.dataset_id) === raw);
    expect(tables.map(([, t]) => t.table_id).sort()).toEqual(
      landedTables(PEC_TABLES)
        .map((t) => t.name)
        .sort(),
    );
  });

  test.each(PEC_TABLES.map((t) => [t.name, t] as const))('%s: columns and BigQuery types equal landed columns + ingestion columns', (_name, t) => {
    expect(schemaOf(json, raw, t.name).map(({ name, type }) => ({ name, type }))).toEqual(expectedColumns(t));
  });

  test.each(PEC_TABLES.map((t) => [t.name, t] as const))('%s: a policy tag of the right kind on every kept or hashed personal-data column, none elsewhere', (_name, t) => {
    const schema = schemaOf(json, raw, t.name);
    for (const f of schema) {
      const col = t.columns.find((c) => c.name === f.name);
      if (col?.pii && col.pii.policy !== 'drop') expect(f.policyTags?.names.map((n) => tagKind.get(n))).toEqual([col.pii.kind]);
      else expect(f.policyTags).toBeUndefined();
    }
    for (const dropped of t.columns.filter((c) => c.pii?.policy === 'drop')) expect(schema.map((f) => f.name)).not.toContain(dropped.name);
  });

  test.each(PEC_TABLES.map((t) => [t.name, t] as const))('%s: partitioned on the window key, clustered by municipality', (_name, t) => {
    const [, body] = resources(json, 'google_bigquery_table').find(([, b]) => b.table_id === t.name)!;
    expect(body.clustering[0]).toBe('_municipality_ibge');
    if (t.mode.kind === 'window' && t.mode.keyFormat === 'yyyymmdd') {
      expect(body.range_partitioning.field).toBe(t.mode.column);
      const { start, end, interval } = body.range_partitioning.range;
      // One calendar month per partition (yyyymm01 … yyyymm31 < yyyymm01 + 100), within BigQuery's 10,000.
      expect(interval).toBe(100);
      expect((end - start) / interval).toBeLessThanOrEqual(10_000);
    } else if (t.mode.kind === 'window') expect(body.time_partitioning.field).toBe(t.mode.column);
    else expect(body.range_partitioning ?? body.time_partitioning).toBeUndefined();
  });

  test.each(PEC_TABLES.map((t) => [t.name, t] as const))('%s: exactly the table the loader expects (its rawTableSchema: modes, partitioning, clustering)', (_name, t) => {
    const spec = loaderRawTableSchema(t);
    const [, body] = resources(json, 'google_bigquery_table').find(([, b]) => b.table_id === t.name)!;
    expect(schemaOf(json, raw, t.name).map(({ name, type, mode }) => ({ name, type, mode }))).toEqual(spec.fields.map(({ name, type, mode }) => ({ name, type, mode })));
    expect(body.range_partitioning).toEqual(spec.rangePartitioning);
    expect(body.time_partitioning).toEqual(spec.timePartitioning);
    expect(body.clustering).toEqual(spec.clustering);
  });

  test('the pii taxonomy enforces fine-grained access and has one tag per kind in use', () => {
    const [[, taxonomy]] = resources(json, 'google_data_catalog_taxonomy') as [[string, Body]];
    expect(taxonomy.display_name).toBe('pii');
    expect(taxonomy.activated_policy_types).toEqual(['FINE_GRAINED_ACCESS_CONTROL']);
    const used = new Set(PEC_TABLES.flatMap((t) => t.columns.filter((c) => c.pii && c.pii.policy !== 'drop').map((c) => c.pii!.kind)));
    for (const kind of used) expect([...tagKind.values()]).toContain(kind);
  });

  test('datasets raw, marts, ops exist', () => {
    const datasets = resources(json, 'google_bigquery_dataset')
      .map(([, d]) => d.dataset_id)
      .sort();
    expect(datasets).toEqual([config.datasets.marts, config.datasets.ops, config.datasets.raw].sort());
  });
});

/** A table of the stack as its single definition describes one: fields (name, type, mode, description), partitioning, clustering. */
function tableShape(json: TfJson, dataset: string, table: string) {
  const [, body] = resources(json, 'google_bigquery_table').find(([, t]) => t.table_id === table && resolve(json, t.dataset_id) === dataset)!;
  return {
    description: body.description,
    fields: schemaOf(json, dataset, table).map(({ name, type, mode, description }: { name: string; type: string; mode: string; description?: string }) => ({
      name,
      type,
      mode,
      description,
    })),
    timePartitioning: body.time_partitioning,
    clustering: body.clustering ?? [],
  };
}
const ownedShape = (t: OwnedTableSpec) => ({
  description: t.description,
  fields: t.fields.map(({ name, type, mode, description }) => ({ name, type, mode, description })),
  timePartitioning: t.timePartitioning,
  clustering: t.clustering ?? [],
});

describe('BigQuery ops and marts tables are their single definitions', () => {
  const tablesIn = (dataset: string) =>
    resources(json, 'google_bigquery_table')
      .filter(([, t]) => resolve(json, t.dataset_id) === dataset)
      .map(([, t]) => t.table_id)
      .sort();

  test('ops holds exactly the slice ledger, the run ledger and its views (shared/ledger/schema.ts)', () => {
    expect(tablesIn(config.datasets.ops)).toEqual(['loaded_slices', ...bigQueryOpsTables().map((t) => t.name), ...OPS_VIEWS.map((v) => v.name)].sort());
    expect(schemaOf(json, config.datasets.ops, 'loaded_slices').map(({ name, type, mode }) => ({ name, type, mode }))).toEqual(
      loadedSlicesSchema().fields.map(({ name, type, mode }) => ({ name, type, mode })),
    );
  });

  test('ops.set_aside_values is a standard-SQL view over raw.set_aside_values, as locally', () => {
    expect(OPS_VIEWS.map((v) => v.name)).toContain(SET_ASIDE_TABLE.name);
    for (const v of OPS_VIEWS) {
      const [, body] = resources(json, 'google_bigquery_table').find(([, t]) => t.table_id === v.name && resolve(json, t.dataset_id) === config.datasets.ops)!;
      expect(body.view).toEqual({ query: `SELECT * FROM \`${config.projectId}.${config.datasets.raw}.${v.rawTable}\``, use_legacy_sql: false });
      expect(body.schema).toBeUndefined();
      // Created after the raw table it reads.
      const [rawId] = resources(json, 'google_bigquery_table').find(([, t]) => t.table_id === v.rawTable && resolve(json, t.dataset_id) === config.datasets.raw)!;
      expect(body.depends_on).toContain(`google_bigquery_table.${rawId}`);
    }
  });

  test.each(bigQueryOpsTables().map((t) => [t.name, t] as const))('ops.%s: columns, modes, descriptions, partitioning and clustering as the ledger defines them', (name, t) => {
    expect(tableShape(json, config.datasets.ops, name)).toEqual(ownedShape(t));
  });

  test('marts holds exactly the marts (shared/marts/marts.ts), protected from deletion', () => {
    expect(tablesIn(config.datasets.marts)).toEqual(
      bigQueryMartTables()
        .map((t) => t.name)
        .sort(),
    );
    for (const [, t] of some(json, 'google_bigquery_table')) expect(t.deletion_protection).toBe(true);
  });

  test.each(bigQueryMartTables().map((t) => [t.name, t] as const))('marts.%s: exactly the mart definition', (name, t) => {
    expect(tableShape(json, config.datasets.marts, name)).toEqual(ownedShape(t));
  });
});

describe('the marts SQL lives in BigQuery stored procedures the workflow CALLs', () => {
  const routines = resources(json, 'google_bigquery_routine');
  const called = step(DAILY_WORKFLOW, 'refreshMarts').marts;

  test('one SQL procedure marts.refresh_<mart> per mart the workflow refreshes, nothing else', () => {
    expect(routines.map(([, r]) => `${resolve(json, r.dataset_id)}.${r.routine_id}`).sort()).toEqual(called.map((m) => `${config.datasets.marts}.refresh_${m}`).sort());
    for (const [, r] of routines) expect({ type: r.routine_type, language: r.language, args: r.arguments }).toEqual({ type: 'PROCEDURE', language: 'SQL', args: undefined });
  });

  test.each(called)("refresh_%s: its body is the SQL shared/marts builds, with this environment's datasets", (mart) => {
    const [, r] = routines.find(([, x]) => x.routine_id === `refresh_${mart}`)!;
    const expected = bigQueryRefreshScript(MARTS.find((m) => m.name === mart)!)
      .replaceAll('{{raw}}', `${config.projectId}.${config.datasets.raw}`)
      .replaceAll('{{marts}}', `${config.projectId}.${config.datasets.marts}`)
      .replaceAll('{{ops}}', `${config.projectId}.${config.datasets.ops}`);
    expect(r.definition_body).toBe(expected);
    // It reads the loader's slice ledger to refresh only the municipalities loaded since.
    expect(r.definition_body).toContain(`\`${config.projectId}.${config.datasets.ops}.loaded_slices\``);
    expect(r.definition_body).not.toMatch(/\{\{/);
    expect(r.definition_body).toContain(`\`${config.projectId}.${config.datasets.marts}.${mart}\``);
    // Created after the tables its body names.
    expect(r.depends_on).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^google_bigquery_table\.marts-/),
        expect.stringMatching(/^google_bigquery_table\.raw-/),
        'google_bigquery_table.ops-loaded_slices',
      ]),
    );
  });
});

describe('row access policies on the marts (Power BI: each municipality group sees its municipalities only)', () => {
  const policies = resources(json, 'google_bigquery_row_access_policy');
  const workflowSa = `serviceAccount:pec-workflows@${config.projectId}.iam.gserviceaccount.com`;
  const onTable = (mart: string) => policies.filter(([, p]) => resolve(json, p.table_id) === mart).map(([, p]) => p);

  test('the config has Power BI groups for this test to check', () => {
    expect(Object.keys(config.powerBiMunicipalityGroups).length).toBeGreaterThan(0);
  });

  // Every table of the dataset: the marts and the refresh state (Power BI can read the dataset).
  test.each(MART_TABLES.map((t) => t.name))('%s: the TRUE filter for the identity that refreshes it, one filter per municipality group from config, nothing else', (mart) => {
    const own = onTable(mart);
    for (const p of own) {
      expect(resolve(json, p.dataset_id)).toBe(config.datasets.marts);
      expect(p.project).toBe(config.projectId);
    }
    const all = own.find((p) => p.policy_id === 'pipeline_all_rows')!;
    expect(all.filter_predicate).toBe('TRUE');
    expect(all.grantees).toEqual([workflowSa, ...config.powerBiAllRowsReaders]);
    // The grantee must exist before the policy names it.
    expect(all.depends_on).toContain('google_service_account.sa-workflows');
    // Written from the config here: one group per municipality in the example environments.
    const expected = s.registry.municipalities
      .filter((m) => m.enabled && config.powerBiMunicipalityGroups[m.ibge])
      .map((m) => ({ policy_id: `municipality_${m.ibge}`, grantees: [`group:${config.powerBiMunicipalityGroups[m.ibge]}`], filter_predicate: `municipality_ibge = "${m.ibge}"` }));
    expect(own.filter((p) => p !== all).map(({ policy_id, grantees, filter_predicate }) => ({ policy_id, grantees, filter_predicate }))).toEqual(expected);
  });

  test('the refreshing identity is the workflow service account of this stack', () => {
    const account = json.resource.google_service_account!['sa-workflows']!;
    expect(`serviceAccount:${account.account_id}@${config.projectId}.iam.gserviceaccount.com`).toBe(workflowSa);
  });

  test('prod: state-level readers see every row; a regional group named for two municipalities gets one policy over both', () => {
    const prod = synthEnvironment('prod');
    const all = resources(prod.json, 'google_bigquery_row_access_policy').filter(([, p]) => p.policy_id === 'pipeline_all_rows');
    for (const [, p] of all) expect(p.grantees).toContain('group:pec-bi-estado@example.org');
    const regional = synthEnvironment('dev', {
      config: (c) => ({ ...c, powerBiMunicipalityGroups: { '3509502': 'drs-sp@example.org', '3548500': 'drs-sp@example.org' } }),
    });
    const own = resources(regional.json, 'google_bigquery_row_access_policy').filter(([, p]) => resolve(regional.json, p.table_id) === MART_NAMES[0]);
    expect(own.map(([, p]) => [p.policy_id.replace(/[0-9a-f]{16}$/, '<hash>'), p.grantees, p.filter_predicate])).toEqual([
      ['pipeline_all_rows', [workflowSa], 'TRUE'],
      ['readers_<hash>', ['group:drs-sp@example.org'], 'municipality_ibge IN ("3509502", "3548500")'],
    ]);
    // Curitiba now has no group: the synth says so.
    expect(regional.warnings.join('\n')).toMatch(/no group for 4106902/);
  });

  test('without any municipality group the policies still exist: the marts fail closed (only the pipeline sees rows)', () => {
    const none = synthEnvironment('dev', { config: (c) => ({ ...c, powerBiMunicipalityGroups: {} }) });
    const ps = resources(none.json, 'google_bigquery_row_access_policy');
    expect(ps.map(([, p]) => p.policy_id)).toEqual(MART_TABLES.map(() => 'pipeline_all_rows'));
  });
});
