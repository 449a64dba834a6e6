import type { Construct } from './cdk';
import {
  ArtifactRegistryRepository,
  ArtifactRegistryRepositoryIamMember,
  BigqueryDataset,
  BigqueryDatasetIamMember,
  CloudRunV2ServiceIamMember,
  Cloudfunctions2Function,
  DataCatalogPolicyTag,
  DataCatalogPolicyTagIamMember,
  DataCatalogTaxonomy,
  DataCatalogTaxonomyIamMember,
  ProjectIamMember,
  PubsubSubscription,
  PubsubSubscriptionIamMember,
  PubsubTopic,
  PubsubTopicIamMember,
  SecretManagerSecret,
  SecretManagerSecretIamMember,
  ServiceAccount,
  ServiceAccountIamMember,
  StorageBucket,
  StorageBucketIamMember,
} from './google';

/**
 * One role for one identity on one resource. Grants are additive `*_iam_member` resources (never
 * authoritative policies, which would wipe bindings Google's own service agents rely on) and are
 * scoped to the narrowest resource the API allows; `project` appears only for roles that exist at
 * project level alone (job creation, telemetry writers, workflow invocation).
 */
export type Grant =
  | { on: 'project'; role: string }
  | { on: 'bucket'; bucket: StorageBucket; role: string }
  | { on: 'topic'; topic: PubsubTopic; role: string }
  | { on: 'subscription'; subscription: PubsubSubscription; role: string }
  | { on: 'secret'; secret: SecretManagerSecret; role: string }
  | { on: 'dataset'; dataset: BigqueryDataset; role: string }
  | { on: 'function'; fn: Cloudfunctions2Function; role: string }
  | { on: 'repository'; repository: ArtifactRegistryRepository; role: string }
  | { on: 'serviceAccount'; account: ServiceAccount; role: string }
  | { on: 'taxonomy'; taxonomy: DataCatalogTaxonomy; role: string }
  | { on: 'policyTag'; tag: DataCatalogPolicyTag; role: string };

export const serviceAccountMember = (sa: ServiceAccount) => `serviceAccount:${sa.email}`;

const roleId = (role: string) => role.replace(/^roles\//, '').replace(/[^A-Za-z0-9]+/g, '-');

/** Creates one IAM member resource per grant; `who` names the identity in construct ids. */
export function grant(scope: Construct, who: string, member: string, grants: readonly Grant[], ctx: { projectId: string; region: string }): void {
  for (const g of grants) {
    const id = `iam-${who}-${targetId(g)}-${roleId(g.role)}`;
    const role = g.role;
    switch (g.on) {
      case 'project':
        new ProjectIamMember(scope, id, { project: ctx.projectId, role, member });
        break;
      case 'bucket':
        new StorageBucketIamMember(scope, id, { bucket: g.bucket.name, role, member });
        break;
      case 'topic':
        new PubsubTopicIamMember(scope, id, { project: ctx.projectId, topic: g.topic.name, role, member });
        break;
      case 'subscription':
        new PubsubSubscriptionIamMember(scope, id, { project: ctx.projectId, subscription: g.subscription.name, role, member });
        break;
      case 'secret':
        new SecretManagerSecretIamMember(scope, id, { project: ctx.projectId, secretId: g.secret.secretId, role, member });
        break;
      case 'dataset':
        new BigqueryDatasetIamMember(scope, id, { project: ctx.projectId, datasetId: g.dataset.datasetId, role, member });
        break;
      case 'function':
        // A 2nd-gen function is served by the Cloud Run service of the same name: invocation is run.invoker there.
        new CloudRunV2ServiceIamMember(scope, id, { project: ctx.projectId, location: ctx.region, name: g.fn.name, role, member });
        break;
      case 'repository':
        new ArtifactRegistryRepositoryIamMember(scope, id, {
          project: ctx.projectId,
          location: ctx.region,
          repository: g.repository.repositoryId,
          role,
          member,
        });
        break;
      case 'serviceAccount':
        new ServiceAccountIamMember(scope, id, { serviceAccountId: g.account.name, role, member });
        break;
      case 'taxonomy':
        new DataCatalogTaxonomyIamMember(scope, id, { taxonomy: g.taxonomy.name, role, member });
        break;
      case 'policyTag':
        new DataCatalogPolicyTagIamMember(scope, id, { policyTag: g.tag.name, role, member });
        break;
    }
  }
}

/** Construct id of the resource a grant is on: keeps IAM construct ids unique and readable. */
function targetId(g: Grant): string {
  switch (g.on) {
    case 'project':
      return 'project';
    case 'bucket':
      return g.bucket.node.id;
    case 'topic':
      return g.topic.node.id;
    case 'subscription':
      return g.subscription.node.id;
    case 'secret':
      return g.secret.node.id;
    case 'dataset':
      return g.dataset.node.id;
    case 'function':
      return g.fn.node.id;
    case 'repository':
      return g.repository.node.id;
    case 'serviceAccount':
      return g.account.node.id;
    case 'taxonomy':
      return g.taxonomy.node.id;
    case 'policyTag':
      return g.tag.node.id;
  }
}
