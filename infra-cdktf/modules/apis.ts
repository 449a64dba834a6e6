import { Aspects, DataResource, TerraformResource, dependable, type IConstruct } from '../cdk';
import { ProjectService } from '../google';
import type { StackContext } from './context';

/**
 * Every API the stack's resources call. `cloudresourcemanager` and `serviceusage` must already be on
 * before Terraform can enable anything: docs/deploy.md "First-time bootstrap" does that by hand.
 */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com', // function images
  'bigquery.googleapis.com',
  'bigquerystorage.googleapis.com', // Power BI reads through the Storage Read API (read sessions)
  'cloudbuild.googleapis.com', // builds function bundles into images
  'cloudfunctions.googleapis.com',
  'cloudscheduler.googleapis.com',
  'compute.googleapis.com', // VPC, NAT, HA VPN
  'datacatalog.googleapis.com', // policy tags on personal-data columns
  'iam.googleapis.com',
  'iamcredentials.googleapis.com', // OIDC/OAuth tokens for push, Scheduler and CI
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com', // 2nd-gen functions run as Cloud Run services
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
  'vpcaccess.googleapis.com', // Serverless VPC Access connector (see network.ts)
  'workflowexecutions.googleapis.com', // Scheduler starts executions through this API
  'workflows.googleapis.com',
] as const;

/**
 * Enables the APIs and makes every other resource wait for them through one `terraform_data`
 * barrier (one depends_on entry per resource instead of nineteen). Data sources are left alone:
 * a depends_on would defer their reads to apply time and turn every plan into "known after apply".
 */
export function enableApis(ctx: StackContext): void {
  const services = REQUIRED_APIS.map(
    (service) =>
      new ProjectService(ctx.scope, `api-${service.split('.')[0]}`, {
        project: ctx.config.projectId,
        service,
        // Turning an API off on destroy would break anything else in the project that uses it.
        disableOnDestroy: false,
        disableDependentServices: false,
      }),
  );
  const ready = new DataResource(ctx.scope, 'apis-ready', { input: { apis: [...REQUIRED_APIS] }, dependsOn: services });
  Aspects.of(ctx.scope).add({
    visit(node: IConstruct) {
      if (node instanceof TerraformResource && !(node instanceof ProjectService) && node !== ready) {
        // dependable(), not ready.fqn: depends_on takes a bare address (terraform_data.apis-ready);
        // the fqn token renders as "${terraform_data.apis-ready}", which Terraform rejects.
        node.dependsOn = [...new Set([...(node.dependsOn ?? []), dependable(ready)])];
      }
    },
  });
}
