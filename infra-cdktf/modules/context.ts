import type { MunicipalityRegistry } from '../../shared/contracts/municipalities';
import type { TerraformStack } from '../cdk';
import type { EnvironmentConfig } from '../config';
import type { DataGoogleProject } from '../google';
import type { Names } from '../naming';

/** What every module needs: the stack to add resources to and the validated inputs. */
export interface StackContext {
  scope: TerraformStack;
  config: EnvironmentConfig;
  names: Names;
  registry: MunicipalityRegistry;
  /** Read at plan time: the project number names Google's service agents. */
  project: DataGoogleProject;
}

export const iamCtx = (ctx: StackContext) => ({ projectId: ctx.config.projectId, region: ctx.config.region });
