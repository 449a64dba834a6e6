/**
 * The adapter seam for the Google provider bindings. Only this file names the provider package;
 * modules import resource classes from here. Each class comes from its own submodule
 * (`lib/<resource>`), never from the package root: the root loads ~1,400 bindings (~1.5 s per
 * jest worker) where the submodules we use load in ~0.1 s.
 *
 * To move to CDK Terrain, replace `@cdktf/provider-google` with `@cdktn/provider-google` below
 * (same submodule layout) and in package.json.
 */
export { GoogleProvider } from '@cdktf/provider-google/lib/provider';
export { ProjectService } from '@cdktf/provider-google/lib/project-service';
export { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project';
export { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network';
export { ComputeNetworkPeering } from '@cdktf/provider-google/lib/compute-network-peering';
export { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
export { ComputeRouter } from '@cdktf/provider-google/lib/compute-router';
export { ComputeRouterNat } from '@cdktf/provider-google/lib/compute-router-nat';
export { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
export { ComputeHaVpnGateway } from '@cdktf/provider-google/lib/compute-ha-vpn-gateway';
export { ComputeExternalVpnGateway } from '@cdktf/provider-google/lib/compute-external-vpn-gateway';
export { ComputeVpnTunnel } from '@cdktf/provider-google/lib/compute-vpn-tunnel';
export { ComputeRouterInterface } from '@cdktf/provider-google/lib/compute-router-interface';
export { ComputeRouterPeer } from '@cdktf/provider-google/lib/compute-router-peer';
export { VpcAccessConnector } from '@cdktf/provider-google/lib/vpc-access-connector';
export { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
export { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
export { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
export { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic';
export { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
export { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member';
export { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member';
export { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
export { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
export { DataGoogleSecretManagerSecretVersion } from '@cdktf/provider-google/lib/data-google-secret-manager-secret-version';
export { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
export { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
export { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
export { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function';
export { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
export { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
export { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member';
export { BigqueryDataset } from '@cdktf/provider-google/lib/bigquery-dataset';
export { BigqueryDatasetIamMember } from '@cdktf/provider-google/lib/bigquery-dataset-iam-member';
export { BigqueryTable } from '@cdktf/provider-google/lib/bigquery-table';
export { BigqueryRoutine } from '@cdktf/provider-google/lib/bigquery-routine';
export { DataCatalogTaxonomy } from '@cdktf/provider-google/lib/data-catalog-taxonomy';
export { DataCatalogPolicyTag } from '@cdktf/provider-google/lib/data-catalog-policy-tag';
export { DataCatalogTaxonomyIamMember } from '@cdktf/provider-google/lib/data-catalog-taxonomy-iam-member';
export { DataCatalogPolicyTagIamMember } from '@cdktf/provider-google/lib/data-catalog-policy-tag-iam-member';
export { BigqueryRowAccessPolicy } from '@cdktf/provider-google/lib/bigquery-row-access-policy';
export { WorkflowsWorkflow } from '@cdktf/provider-google/lib/workflows-workflow';
export { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
export { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric';
export { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy';
export { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel';
export { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard';
