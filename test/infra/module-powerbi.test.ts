import { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { MART_TABLES } from '../../shared/marts/marts';
import { rowAccessPolicies } from '../../shared/marts/row-access';
import { BigqueryDataset, BigqueryTable, ServiceAccount } from '../../infra-cdktf/google';
import type { EnvironmentConfig } from '../../infra-cdktf/config';
import { names } from '../../infra-cdktf/naming';
import { serviceAccountMember } from '../../infra-cdktf/iam';
import type { Warehouse } from '../../infra-cdktf/modules/bigquery';
import type { StackContext } from '../../infra-cdktf/modules/context';
import { MAX_ROW_ACCESS_POLICIES_PER_TABLE, powerBi, powerBiWarnings } from '../../infra-cdktf/modules/powerbi';
import { readEnvironmentConfig } from '../../infra-cdktf/inputs';
import { syntheticDeployment } from '../../infra-cdktf/synthetic';
import { grantIds, once, synthModule } from './support/module-stack';
import { repoRoot, resources, type TfJson } from './support/synth';

/**
 * infra-cdktf/modules/powerbi.ts on its own (support/module-stack.ts says why): Power BI on bare
 * marts tables (`bareMarts`) with a bare runner service account in place of the warehouse and
 * orchestration modules, each stack synthesized once, in a `beforeAll` (`once`). Expected values
 * come from their single definitions: rowAccessPolicies, MART_TABLES and the environment config.
 * The wired-together checks stay in contracts.test.ts and security.test.ts.
 */

const ref = (type: string, id: string, attr: string) => `\${${type}.${id}.${attr}}`;
const datasetRef = (key: string) => ref('google_bigquery_dataset', `dataset-${key}`, 'dataset_id');

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

const withoutFirstGroup = (c: EnvironmentConfig) => ({ ...c, powerBiMunicipalityGroups: Object.fromEntries(Object.entries(c.powerBiMunicipalityGroups).slice(1)) });

// Each stack the tests check, synthesized once (support/module-stack.ts's `once` says why).
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

/** [role, target] of every IAM member resource granted to `member`. */
function grantsTo(json: TfJson, member: string): string[] {
  const out: string[] = [];
  for (const [type, members] of Object.entries(json.resource)) {
    if (!type.endsWith('_iam_member')) continue;
    for (const [, b] of Object.entries(members)) if (b.member === member) out.push(`${b.role} on ${b.dataset_id ?? b.taxonomy ?? `project ${b.project}`}`);
  }
  return out.sort();
}

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
    // Each grant's Terraform address names its holder: a rename would make a deployed stack destroy
    // and re-create the grants (Power BI without access in between).
    const ids = (who: string) => [
      `google_bigquery_dataset_iam_member.iam-${who}-dataset-marts-bigquery-dataViewer`,
      `google_project_iam_member.iam-${who}-project-bigquery-jobUser`,
      `google_project_iam_member.iam-${who}-project-bigquery-readSessionUser`,
    ];
    expect(grantIds(json, serviceAccountMember({ email: ref('google_service_account', 'sa-powerbi', 'email') } as ServiceAccount))).toEqual(ids('powerbi'));
    expect(grantIds(json, `group:${config.powerBiGroup}`)).toEqual(ids('powerbi-group'));
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
    // Several, listed comma-separated (the module adds powerBiWarnings' text as it is).
    const enabled = powerBiDev()
      .registry.municipalities.filter((m) => m.enabled)
      .map((m) => m.ibge);
    expect(enabled.length).toBeGreaterThan(1);
    expect(powerBiWarnings(powerBiDev().registry, {}, [])).toEqual([
      `powerBiMunicipalityGroups has no group for ${enabled.join(', ')}: no Power BI user sees these municipalities' marts rows (only the pipeline and powerBiAllRowsReaders)`,
    ]);
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
