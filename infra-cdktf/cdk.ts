/**
 * The adapter seam for the CDK itself. Every other file in infra-cdktf imports the construct
 * framework from here, never from `cdktf` directly, so swapping HashiCorp's archived `cdktf` for its
 * community fork CDK Terrain (`cdktn`, 0.22 was a pure rename) is a change to this file, google.ts,
 * package.json and cdktf.json: see docs/deploy.md "Swapping cdktf for CDK Terrain".
 */
export {
  App,
  Aspects,
  Annotations,
  AssetType,
  DataResource,
  GcsBackend,
  TerraformAsset,
  TerraformDataSource,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  Testing,
  dependable,
} from 'cdktf';
export type { IAspect, ITerraformDependable } from 'cdktf';
export { Construct } from 'constructs';
export type { IConstruct } from 'constructs';
