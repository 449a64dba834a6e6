import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import { rowAccessPolicies, type RowAccessPolicy } from '../../shared/marts/row-access';
import { Annotations, TerraformOutput } from '../cdk';
import { BigqueryRowAccessPolicy, ServiceAccount } from '../google';
import { grant, serviceAccountMember, type Grant } from '../iam';
import type { Warehouse } from './bigquery';
import { iamCtx, type StackContext } from './context';
import type { Orchestration } from './orchestration';

/**
 * BigQuery's ceiling on row access policies per table, as recalled from the quotas page
 * ("Row-level security"); not verifiable offline: re-check before relying on it. The stack needs
 * one policy per readers' group plus the all-rows one.
 */
export const MAX_ROW_ACCESS_POLICIES_PER_TABLE = 400;

/**
 * Read-only access for Power BI, limited to `marts`: data viewer on that dataset alone, plus the
 * two project-level roles a BigQuery client needs to run queries (jobUser) and read results fast
 * through the Storage Read API (readSessionUser). Neither role reads any table by itself.
 *
 * Which rows a reader sees is decided by row access policies on every marts table, created here
 * as google_bigquery_row_access_policy resources from `rowAccessPolicies`
 * (shared/marts/row-access.ts): one per municipality group (config `powerBiMunicipalityGroups`)
 * filtering on `municipality_ibge`, and `pipeline_all_rows` (TRUE) for the workflow's identity,
 * which rebuilds the marts, and `powerBiAllRowsReaders`. Once a table has a policy, anyone not
 * named in one sees no rows: the default fails closed.
 */
export function powerBi(ctx: StackContext, warehouse: Warehouse, orchestration: Orchestration): void {
  const { config, registry } = ctx;
  const reader = new ServiceAccount(ctx.scope, 'sa-powerbi', {
    project: config.projectId,
    accountId: ctx.names.serviceAccount('powerbi-reader'),
    displayName: 'Power BI: read-only on marts',
  });
  const grants: Grant[] = [
    { on: 'dataset', dataset: warehouse.marts, role: 'roles/bigquery.dataViewer' },
    { on: 'project', role: 'roles/bigquery.jobUser' },
    { on: 'project', role: 'roles/bigquery.readSessionUser' },
  ];
  grant(ctx.scope, 'powerbi', serviceAccountMember(reader), grants, iamCtx(ctx));
  if (config.powerBiGroup) grant(ctx.scope, 'powerbi-group', `group:${config.powerBiGroup}`, grants, iamCtx(ctx));
  new TerraformOutput(ctx.scope, 'powerbi_service_account', { value: reader.email });

  const groups = config.powerBiMunicipalityGroups;
  const policies = rowAccessPolicies(registry, {
    readersOf: (ibge) => (groups[ibge] ? `group:${groups[ibge]}` : undefined),
    writer: orchestration.runnerMember,
    allRowsReaders: config.powerBiAllRowsReaders,
  });
  for (const p of policies) {
    const table = warehouse.martTables[p.mart];
    if (!table) throw new Error(`row access policy ${p.policyId} names mart ${p.mart}, which has no table in the stack`);
    new BigqueryRowAccessPolicy(ctx.scope, `row-access-${p.mart}-${p.policyId}`, {
      project: config.projectId,
      datasetId: warehouse.marts.datasetId,
      tableId: table.tableId,
      policyId: p.policyId,
      filterPredicate: p.filterPredicate,
      grantees: p.grantees,
      // The grantee is named by its literal e-mail: BigQuery refuses a principal that doesn't exist yet.
      dependsOn: [orchestration.runner],
    });
  }

  for (const w of powerBiWarnings(registry, groups, policies)) Annotations.of(ctx.scope).addWarning(w);
}

/**
 * What the synth warns about Power BI's rows, from the policies alone: an enabled municipality
 * without a readers' group, and a marts table with more policies than BigQuery allows. Apart from
 * powerBi so that the second is tested at its edge (400 groups) without building thousands of
 * policy resources (test/infra/module-warehouse.test.ts).
 */
export function powerBiWarnings(registry: MunicipalityRegistry, groups: Readonly<Record<string, string>>, policies: readonly RowAccessPolicy[]): string[] {
  const warnings: string[] = [];
  const withoutReaders = registry.municipalities.filter((m) => m.enabled && !groups[m.ibge]).map((m) => m.ibge);
  if (withoutReaders.length > 0)
    warnings.push(
      `powerBiMunicipalityGroups has no group for ${withoutReaders.join(', ')}: no Power BI user sees these municipalities' marts rows (only the pipeline and powerBiAllRowsReaders)`,
    );
  const perMart = new Map<string, number>();
  for (const p of policies) perMart.set(p.mart, (perMart.get(p.mart) ?? 0) + 1);
  const perTable = Math.max(0, ...perMart.values());
  if (perTable > MAX_ROW_ACCESS_POLICIES_PER_TABLE)
    warnings.push(
      `${perTable} row access policies per marts table exceed BigQuery's ${MAX_ROW_ACCESS_POLICIES_PER_TABLE}: name one group for several municipalities (a regional group gets one policy)`,
    );
  return warnings;
}
