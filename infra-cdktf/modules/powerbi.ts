import { TerraformOutput } from '../cdk';
import { ServiceAccount } from '../google';
import { grant, serviceAccountMember, type Grant } from '../iam';
import type { Warehouse } from './bigquery';
import { iamCtx, type StackContext } from './context';

/**
 * Read-only access for Power BI, limited to `marts`: data viewer on that dataset alone, plus the
 * two project-level roles a BigQuery client needs to run queries (jobUser) and read results fast
 * through the Storage Read API (readSessionUser). Neither role reads any table by itself.
 * Which rows a reader sees inside marts is decided by row access policies per municipality group
 * (docs/deploy.md "Power BI"), written with the marts.
 */
export function powerBi(ctx: StackContext, warehouse: Warehouse): void {
  const reader = new ServiceAccount(ctx.scope, 'sa-powerbi', {
    project: ctx.config.projectId,
    accountId: ctx.names.serviceAccount('powerbi-reader'),
    displayName: 'Power BI: read-only on marts',
  });
  const grants: Grant[] = [
    { on: 'dataset', dataset: warehouse.marts, role: 'roles/bigquery.dataViewer' },
    { on: 'project', role: 'roles/bigquery.jobUser' },
    { on: 'project', role: 'roles/bigquery.readSessionUser' },
  ];
  grant(ctx.scope, 'powerbi', serviceAccountMember(reader), grants, iamCtx(ctx));
  if (ctx.config.powerBiGroup) grant(ctx.scope, 'powerbi-group', `group:${ctx.config.powerBiGroup}`, grants, iamCtx(ctx));
  new TerraformOutput(ctx.scope, 'powerbi_service_account', { value: reader.email });
}
