import { landedTables, PiiKind } from '../../shared/contracts/tables';
import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { OPS_VIEWS, opsViewQuery } from '../../shared/ledger/schema';
import { bigQueryMartProcedures, MART_TABLES } from '../../shared/marts/marts';
import { rowAccessPolicies } from '../../shared/marts/row-access';
import { bindBigQueryDatasets } from '../../shared/marts/sql-dialect';
import { PEC_TABLES } from '../../shared/tables/pec-tables';
import { LOADED_SLICES_TABLE, rawTableSchema, toBigQuerySchemaJson, type BigQueryTableSpec } from '../../infra-cdktf/bigquery-schema';
import { BigqueryDataset, BigqueryTable, ServiceAccount } from '../../infra-cdktf/google';
import type { EnvironmentConfig } from '../../infra-cdktf/config';
import { names } from '../../infra-cdktf/naming';
import { serviceAccountMember } from '../../infra-cdktf/iam';
import { deployedProcedureBody, warehouse, type Warehouse } from '../../infra-cdktf/modules/bigquery';
import type { StackContext } from '../../infra-cdktf/modules/context';
import { MAX_ROW_ACCESS_POLICIES_PER_TABLE, powerBi, powerBiWarnings } from '../../infra-cdktf/modules/powerbi';
import { readEnvironmentConfig } from '../../infra-cdktf/inputs';
import { martTables, opsTables } from '../../infra-cdktf/owned-tables';
import { syntheticDeployment } from '../../infra-cdktf/synthetic';
import { once, synthModule } from './support/module-stack';
import { repoRoot, resources, type Body, type TfJson } from './support/synth';

/**
 * infra-cdktf/modules/bigquery.ts and powerbi.ts on their own (support/module-stack.ts says why):
 * the warehouse module, and Power BI on bare marts tables (`bareMarts`) with a bare runner service
 * account in place of the orchestration module; each stack synthesized once, in a `beforeAll`
 * (`once`). Expected values come from their single definitions: the table specs (rawTableSchema,
 * opsTables, martTables: partitioning, clustering, schema), the ops views, the mart procedures,
 * rowAccessPolicies and the environment config. The wired-together checks stay in
 * contracts.test.ts and security.test.ts.
 */

const ref = (type: string, id: string, attr: string) => `\${${type}.${id}.${attr}}`;
const tagRef = (kind: string) => ref('google_data_catalog_policy_tag', `policy-tag-${kind}`, 'name');
const datasetRef = (key: string) => ref('google_bigquery_dataset', `dataset-${key}`, 'dataset_id');

const synthWarehouse = (o: Parameters<typeof synthModule>[1] = {}) => synthModule((ctx) => warehouse(ctx), o);

/**
 * What powerBi reads of the warehouse, bare: the marts dataset and one table per mart, with the
 * warehouse module's construct ids (its marts test checks them). The whole warehouse (every PEC
 * table) made each Power BI stack several times dearer, for nothing powerBi reads.
 */
function bareMarts(ctx: StackContext): Warehouse {
  const marts = new BigqueryDataset(ctx.scope, 'dataset-marts', { project: ctx.config.projectId, datasetId: ctx.config.datasets.marts });
  const martTables = Object.fromEntries(
    MART_TABLES.map((t) => [t.name, new BigqueryTable(ctx.scope, `marts-${t.name}`, { project: ctx.config.projectId, datasetId: marts.datasetId, tableId: t.name })]),
  );
  return { marts, martTables } as Warehouse;
}

function withPowerBi(ctx: StackContext, edit: (w: Warehouse) => Warehouse = (w) => w) {
  const w = edit(bareMarts(ctx));
  const runner = new ServiceAccount(ctx.scope, 'sa-runner', { project: ctx.config.projectId, accountId: 'test-runner' });
  const runnerMember = `serviceAccount:test-runner@${ctx.config.projectId}.iam.gserviceaccount.com`;
  powerBi(ctx, w, { runner, runnerMember });
  return { runnerMember };
}
const synthPowerBi = (o: Parameters<typeof synthModule>[1] = {}) => synthModule((ctx) => withPowerBi(ctx), o);

const PII_READERS = ['group:dpo@example.org', 'user:auditor@example.org'];
/** The dev config without its first municipality's Power BI group. */
const withoutFirstGroup = (c: EnvironmentConfig) => ({ ...c, powerBiMunicipalityGroups: Object.fromEntries(Object.entries(c.powerBiMunicipalityGroups).slice(1)) });

// Each stack the tests check, synthesized once (support/module-stack.ts's `once` says why).
const dev = once(() => synthWarehouse());
const withPiiReaders = once(() => synthWarehouse({ config: (c) => ({ ...c, piiFineGrainedReaders: PII_READERS }) }));
const powerBiDev = once(() => synthPowerBi());
const powerBiAllRows = once(() => synthPowerBi({ config: (c) => ({ ...c, powerBiAllRowsReaders: ['group:estado@example.org'] }) }));
// Also the stack without powerBiGroup: the group grants and the municipality groups are independent.
const powerBiNoGroupNoFirst = once(() => synthPowerBi({ config: (c) => ({ ...withoutFirstGroup(c), powerBiGroup: undefined }) }));
const powerBiFirstDisabled = once(() => {
  const { registry } = powerBiDev();
  const first = Object.keys(powerBiDev().config.powerBiMunicipalityGroups)[0];
  return synthPowerBi({
    registry: MunicipalityRegistry.parse({ municipalities: registry.municipalities.map((m) => (m.ibge === first ? { ...m, enabled: false } : m)) }),
    config: withoutFirstGroup,
  });
});

/** A table body as the module must write it from its spec (the dataset by reference, tags by reference). */
const tableFrom = (project: string, dataset: string, spec: BigQueryTableSpec): Body => ({
  project,
  dataset_id: datasetRef(dataset),
  table_id: spec.tableId,
  description: spec.description,
  schema: JSON.stringify(toBigQuerySchemaJson(spec, tagRef)),
  ...(spec.rangePartitioning ? { range_partitioning: { field: spec.rangePartitioning.field, range: spec.rangePartitioning.range } } : {}),
  ...(spec.timePartitioning ? { time_partitioning: snake(spec.timePartitioning) } : {}),
  ...(spec.clustering.length > 0 ? { clustering: spec.clustering } : {}),
  deletion_protection: true,
});
const snake = (o: object): Body => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

/** [role, target] of every IAM member resource granted to `member`. */
function grantsTo(json: TfJson, member: string): string[] {
  const out: string[] = [];
  for (const [type, members] of Object.entries(json.resource)) {
    if (!type.endsWith('_iam_member')) continue;
    for (const [, b] of Object.entries(members)) if (b.member === member) out.push(`${b.role} on ${b.dataset_id ?? b.taxonomy ?? `project ${b.project}`}`);
  }
  return out.sort();
}

describe('warehouse module: datasets and personal-data tags', () => {
  test('raw, marts and ops in the region, named from the config, never emptied by a destroy', () => {
    const { json, config, out } = dev();
    const ds = json.resource.google_bigquery_dataset!;
    expect(Object.keys(ds).sort()).toEqual(['dataset-marts', 'dataset-ops', 'dataset-raw']);
    for (const key of ['raw', 'marts', 'ops'] as const) {
      expect(ds[`dataset-${key}`]).toEqual({
        project: config.projectId,
        dataset_id: config.datasets[key],
        location: config.region,
        description: expect.stringMatching(/\S{5,}/),
        delete_contents_on_destroy: false,
      });
      expect(out[key].node.id).toBe(`dataset-${key}`);
    }
    expect(new Set(Object.values(ds).map((d) => d.description)).size).toBe(3);
  });

  test('one taxonomy with fine-grained access control, one policy tag per kind of personal data, each described', () => {
    const { json, config, out } = dev();
    expect(json.resource.google_data_catalog_taxonomy).toEqual({
      'taxonomy-pii': {
        project: config.projectId,
        region: config.region,
        display_name: 'pii',
        description: expect.stringMatching(/\S{5,}/),
        activated_policy_types: ['FINE_GRAINED_ACCESS_CONTROL'],
      },
    });
    const tags = json.resource.google_data_catalog_policy_tag!;
    expect(Object.keys(tags).sort()).toEqual(PiiKind.options.map((k) => `policy-tag-${k}`).sort());
    for (const kind of PiiKind.options) {
      expect(tags[`policy-tag-${kind}`]).toEqual({
        taxonomy: ref('google_data_catalog_taxonomy', 'taxonomy-pii', 'id'),
        display_name: kind,
        description: expect.stringMatching(/\S{5,}/),
      });
      expect(out.policyTags[kind].node.id).toBe(`policy-tag-${kind}`);
    }
    expect(new Set(Object.values(tags).map((t) => t.description)).size).toBe(PiiKind.options.length);
    expect(out.taxonomy.node.id).toBe('taxonomy-pii');
  });

  test('each configured fine-grained reader may read the tagged columns (on the taxonomy); nobody else', () => {
    const { json: none, config: devConfig } = dev();
    expect(devConfig.piiFineGrainedReaders).toEqual([]);
    expect(resources(none, 'google_data_catalog_taxonomy_iam_member')).toEqual([]);
    const { json, config } = withPiiReaders();
    expect(config.piiFineGrainedReaders).toEqual(PII_READERS);
    expect(resources(json, 'google_data_catalog_taxonomy_iam_member').map(([, b]) => b)).toEqual(
      PII_READERS.map((member) => ({ taxonomy: ref('google_data_catalog_taxonomy', 'taxonomy-pii', 'name'), role: 'roles/datacatalog.categoryFineGrainedReader', member })),
    );
  });
});

describe('warehouse module: tables, views, procedures', () => {
  test('raw: one table per landed table, from its spec (partitioning, clustering, schema with policy tags), deletion-protected', () => {
    const { json, config, out } = dev();
    const landed = landedTables(PEC_TABLES);
    const raw = Object.fromEntries(resources(json, 'google_bigquery_table').filter(([id]) => id.startsWith('raw-')));
    expect(Object.keys(raw).sort()).toEqual(landed.map((t) => `raw-${t.name}`).sort());
    const specs = landed.map(rawTableSchema);
    // The oracle must have something to check: partitioned, clustered tables and tagged columns.
    expect(specs.some((s) => s.rangePartitioning)).toBe(true);
    expect(specs.some((s) => s.clustering.length > 0)).toBe(true);
    expect(specs.some((s) => s.personalData.length > 0)).toBe(true);
    for (const [i, t] of landed.entries()) expect(raw[`raw-${t.name}`]).toEqual(tableFrom(config.projectId, 'raw', specs[i]!));
    expect(Object.keys(out.martTables).length).toBeGreaterThan(0);
  });

  test('ops: the ledger tables and the set-aside views over raw, each view after its raw table', () => {
    const { json, config } = dev();
    const tables = resources(json, 'google_bigquery_table');
    const ops = opsTables();
    expect(ops.map((t) => t.tableId)).toContain(LOADED_SLICES_TABLE);
    for (const spec of ops) expect(json.resource.google_bigquery_table![`ops-${spec.tableId}`]).toEqual(tableFrom(config.projectId, 'ops', spec));
    expect(OPS_VIEWS.length).toBeGreaterThan(0);
    expect(tables.filter(([id]) => id.startsWith('ops-view-')).map(([id]) => id)).toEqual(OPS_VIEWS.map((v) => `ops-view-${v.name}`));
    for (const v of OPS_VIEWS)
      expect(json.resource.google_bigquery_table![`ops-view-${v.name}`]).toEqual({
        project: config.projectId,
        dataset_id: datasetRef('ops'),
        table_id: v.name,
        description: v.description,
        view: { query: opsViewQuery(v, (t) => `\`${config.projectId}.${config.datasets.raw}.${t}\``), use_legacy_sql: false },
        deletion_protection: true,
        depends_on: [`google_bigquery_table.raw-${v.rawTable}`],
      });
    expect(tables).toHaveLength(landedTables(PEC_TABLES).length + ops.length + OPS_VIEWS.length + martTables().length);
  });

  test('marts: one table per mart table; one SQL procedure per refreshed mart, its body bound to this environment, after the tables it names', () => {
    const { json, config, out } = dev();
    const marts = martTables();
    expect(marts.map((t) => t.tableId).sort()).toEqual(MART_TABLES.map((t) => t.name).sort());
    for (const spec of marts) {
      expect(json.resource.google_bigquery_table![`marts-${spec.tableId}`]).toEqual(tableFrom(config.projectId, 'marts', spec));
      expect(out.martTables[spec.tableId]!.node.id).toBe(`marts-${spec.tableId}`);
    }
    const procs = bigQueryMartProcedures();
    expect(procs.length).toBeGreaterThan(0);
    const after = [...landedTables(PEC_TABLES).map((t) => `raw-${t.name}`), ...marts.map((t) => `marts-${t.tableId}`), `ops-${LOADED_SLICES_TABLE}`];
    expect(Object.keys(json.resource.google_bigquery_routine!).sort()).toEqual(procs.map((p) => `marts-procedure-${p.mart}`).sort());
    for (const p of procs) {
      const body = bindBigQueryDatasets(p.body, { project: config.projectId, raw: config.datasets.raw, marts: config.datasets.marts, ops: config.datasets.ops });
      expect(json.resource.google_bigquery_routine![`marts-procedure-${p.mart}`]).toEqual({
        project: config.projectId,
        dataset_id: datasetRef('marts'),
        routine_id: p.routineId,
        routine_type: 'PROCEDURE',
        language: 'SQL',
        description: p.description,
        definition_body: body,
        depends_on: after.map((id) => `google_bigquery_table.${id}`),
      });
      expect(out.martProcedures[p.mart]!.node.id).toBe(`marts-procedure-${p.mart}`);
    }
  });

  test('deployedProcedureBody binds every dataset placeholder to this environment', () => {
    const { config } = dev();
    const other = { ...config, projectId: 'other-project', datasets: { raw: 'r1', marts: 'm1', ops: 'o1' } };
    for (const p of bigQueryMartProcedures()) {
      const body = deployedProcedureBody(p, other);
      expect(body).toBe(bindBigQueryDatasets(p.body, { project: 'other-project', raw: 'r1', marts: 'm1', ops: 'o1' }));
      expect(body).not.toMatch(/\{\{/);
    }
  });
});

describe('Power BI module: read-only on marts, rows by municipality group', () => {
  test('its own service account and the configured group: data viewer on marts, job user and read-session user on the project, nothing else', () => {
    const { json, config } = powerBiDev();
    const sa = json.resource.google_service_account!['sa-powerbi']!;
    expect(sa).toEqual({ project: config.projectId, account_id: names(config).serviceAccount('powerbi-reader'), display_name: expect.stringMatching(/\S{5,}/) });
    const expected = [
      'roles/bigquery.dataViewer on ' + datasetRef('marts'),
      `roles/bigquery.jobUser on project ${config.projectId}`,
      `roles/bigquery.readSessionUser on project ${config.projectId}`,
    ].sort();
    expect(grantsTo(json, serviceAccountMember({ email: ref('google_service_account', 'sa-powerbi', 'email') } as ServiceAccount))).toEqual(expected);
    expect(config.powerBiGroup).toBeTruthy();
    expect(grantsTo(json, `group:${config.powerBiGroup}`)).toEqual(expected);
    expect(json.output!.powerbi_service_account!.value).toBe(ref('google_service_account', 'sa-powerbi', 'email'));
  });

  test('without powerBiGroup no group is granted anything', () => {
    const { json, config } = powerBiNoGroupNoFirst();
    expect(config.powerBiGroup).toBeUndefined();
    const members = Object.entries(json.resource)
      .filter(([type]) => type.endsWith('_iam_member'))
      .flatMap(([, m]) => Object.values(m).map((b) => b.member as string));
    expect(members.filter((m) => m.startsWith('group:'))).toEqual([]);
  });

  test('one row access policy per mart table and principal, exactly rowAccessPolicies(registry, config), each after the runner exists', () => {
    const { json, config, registry, out, warnings } = powerBiDev();
    const expected = rowAccessPolicies(registry, {
      readersOf: (ibge) => (config.powerBiMunicipalityGroups[ibge] ? `group:${config.powerBiMunicipalityGroups[ibge]}` : undefined),
      writer: out.runnerMember,
      allRowsReaders: config.powerBiAllRowsReaders,
    });
    // Something to check: a policy per municipality group besides the all-rows one.
    expect(expected.filter((p) => p.grantees.some((g) => g.startsWith('group:'))).length).toBeGreaterThanOrEqual(
      MART_TABLES.length * Object.keys(config.powerBiMunicipalityGroups).length,
    );
    expect(json.resource.google_bigquery_row_access_policy).toEqual(
      Object.fromEntries(
        expected.map((p) => [
          `row-access-${p.mart}-${p.policyId}`,
          {
            project: config.projectId,
            dataset_id: datasetRef('marts'),
            table_id: ref('google_bigquery_table', `marts-${p.mart}`, 'table_id'),
            policy_id: p.policyId,
            filter_predicate: p.filterPredicate,
            grantees: p.grantees,
            depends_on: ['google_service_account.sa-runner'],
          },
        ]),
      ),
    );
    // Every enabled municipality of dev has a group: no warning.
    expect(registry.municipalities.filter((m) => m.enabled).every((m) => config.powerBiMunicipalityGroups[m.ibge])).toBe(true);
    expect(warnings).toEqual([]);
  });

  test('all-rows readers from the config share the pipeline’s TRUE filter', () => {
    const { json, out } = powerBiAllRows();
    const all = resources(json, 'google_bigquery_row_access_policy').filter(([, p]) => p.filter_predicate === 'TRUE');
    expect(all).toHaveLength(MART_TABLES.length);
    for (const [, p] of all) expect(p.grantees).toEqual([out.runnerMember, 'group:estado@example.org']);
  });

  test('an enabled municipality without a group: a warning names it (its rows are seen by no Power BI user)', () => {
    const [first, ...rest] = Object.keys(powerBiDev().config.powerBiMunicipalityGroups);
    const { json, warnings, config } = powerBiNoGroupNoFirst();
    expect(Object.keys(config.powerBiMunicipalityGroups)).toEqual(rest);
    // No policy names it: only the all-rows policy covers its rows.
    const policies = resources(json, 'google_bigquery_row_access_policy').map(([, p]) => p);
    expect(policies.filter((p) => p.filter_predicate !== 'TRUE')).toHaveLength(MART_TABLES.length * rest.length);
    expect(policies.filter((p) => String(p.filter_predicate).includes(first!))).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`powerBiMunicipalityGroups has no group for ${first}:`);
    // A disabled municipality without a group is no reason to warn.
    const quiet = powerBiFirstDisabled();
    expect(quiet.registry.municipalities.filter((m) => !m.enabled).map((m) => m.ibge)).toEqual([first]);
    expect(Object.keys(quiet.config.powerBiMunicipalityGroups)).toEqual(rest);
    expect(quiet.warnings).toEqual([]);
  });

  test('a mart without a table in the stack stops the synth, naming the policy and the mart', () => {
    const [gone] = MART_TABLES;
    expect(() => synthModule((ctx) => withPowerBi(ctx, (w) => ({ ...w, martTables: Object.fromEntries(Object.entries(w.martTables).filter(([k]) => k !== gone!.name)) })))).toThrow(
      new RegExp(`^row access policy \\w+ names mart ${gone!.name}, which has no table in the stack$`),
    );
  });

  test(`more than ${MAX_ROW_ACCESS_POLICIES_PER_TABLE} policies on one table: a warning says so and what to do; exactly that many, none`, () => {
    // n municipalities, each with its own group: n policies per table plus the all-rows one. The
    // warnings powerBi adds are powerBiWarnings' (the test above: exactly its one warning), here on
    // the policies alone: building the thousands of policy resources cost seconds per run.
    const withGroups = (n: number) => {
      const { registry } = syntheticDeployment(readEnvironmentConfig(repoRoot, 'prod'), n, 'tls');
      const groups = Object.fromEntries(registry.municipalities.map((m) => [m.ibge, `g-${m.ibge}@example.org`]));
      const policies = rowAccessPolicies(registry, {
        readersOf: (ibge) => `group:${groups[ibge]}`,
        writer: 'serviceAccount:test-runner@p.iam.gserviceaccount.com',
        allRowsReaders: [],
      });
      // Every mart table has the same n + 1 (many times the limit in all).
      expect(policies).toHaveLength(MART_TABLES.length * (n + 1));
      return powerBiWarnings(registry, groups, policies);
    };
    const max = MAX_ROW_ACCESS_POLICIES_PER_TABLE;
    expect(withGroups(max)).toEqual([
      `${max + 1} row access policies per marts table exceed BigQuery's ${max}: name one group for several municipalities (a regional group gets one policy)`,
    ]);
    expect(withGroups(max - 1)).toEqual([]);
  });
});
