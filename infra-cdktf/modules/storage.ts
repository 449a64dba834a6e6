import { StorageBucket } from '../google';
import type { StackContext } from './context';

export interface Buckets {
  staging: StorageBucket;
  sources: StorageBucket;
}

/** Settings every bucket of the pipeline shares: private, uniformly governed, in São Paulo. */
function privateBucket(ctx: StackContext) {
  return {
    project: ctx.config.projectId,
    location: ctx.config.region.toUpperCase(),
    storageClass: 'STANDARD',
    // IAM only (no per-object ACLs), and no way to make an object public even by mistake.
    uniformBucketLevelAccess: true,
    publicAccessPrevention: 'enforced',
    // Deleting a bucket with objects must be a deliberate, manual act.
    forceDestroy: false,
    versioning: { enabled: false },
  } as const;
}

export function buckets(ctx: StackContext): Buckets {
  const staging = new StorageBucket(ctx.scope, 'bucket-staging', {
    ...privateBucket(ctx),
    name: ctx.names.stagingBucket,
    // Staged parts are pseudonymised copies of source data that can be extracted again: keep them only
    // long enough for reruns and investigations, then delete (LGPD minimisation, storage cost).
    lifecycleRule: [{ action: { type: 'Delete' }, condition: { age: ctx.config.stagingRetentionDays } }],
    // Soft delete would keep every deleted part for 7 more days at full price; nothing here needs undelete.
    softDeletePolicy: { retentionDurationSeconds: 0 },
  });
  const sources = new StorageBucket(ctx.scope, 'bucket-sources', {
    ...privateBucket(ctx),
    name: ctx.names.sourceBucket,
    // No lifecycle: Terraform owns each bundle object and would re-upload one deleted behind its back.
  });
  return { staging, sources };
}
