import { ConfigError } from '../shared/contracts/config';
import type { MunicipalityRegistry } from '../shared/contracts/municipalities';
import { GcsBackend, TerraformOutput, TerraformStack, type Construct } from './cdk';
import { cloudRegistryProblems, type EnvironmentConfig } from './config';
import { DataGoogleProject, GoogleProvider } from './google';
import { enableApis } from './modules/apis';
import { warehouse } from './modules/bigquery';
import type { StackContext } from './modules/context';
import { functions, type FunctionInputs } from './modules/functions';
import { monitoring } from './modules/monitoring';
import { network } from './modules/network';
import { orchestration, type WorkflowSource } from './modules/orchestration';
import { powerBi } from './modules/powerbi';
import { topics } from './modules/pubsub';
import { secrets } from './modules/secrets';
import { buckets } from './modules/storage';
import { names } from './naming';

export interface PipelineStackInputs extends FunctionInputs {
  config: EnvironmentConfig;
  /** Validated with MunicipalityRegistry; the cloud rules are checked here. */
  registry: MunicipalityRegistry;
  workflows: readonly WorkflowSource[];
}

/**
 * Everything the pipeline needs in one Google Cloud project, for one environment. All inputs are
 * plain values (no file or network access here), so tests build stacks from fixtures.
 */
export class PipelineStack extends TerraformStack {
  constructor(scope: Construct, id: string, inputs: PipelineStackInputs) {
    super(scope, id);
    const { config, registry } = inputs;
    const problems = cloudRegistryProblems(registry, config);
    if (problems.length > 0) throw new ConfigError(problems.map((p) => `${config.environment} registry ${config.registryFile}: ${p}`));

    new GcsBackend(this, { bucket: config.stateBucket, prefix: config.statePrefix });
    new GoogleProvider(this, 'google', {
      project: config.projectId,
      region: config.region,
      // Labels on every resource that takes them: cost reports per environment and application.
      defaultLabels: { app: 'pec-pipeline', env: config.environment, managed_by: 'cdktf', ...config.labels },
    });

    const ctx: StackContext = {
      scope: this,
      config,
      names: names(config),
      registry,
      project: new DataGoogleProject(this, 'project', { projectId: config.projectId }),
    };

    enableApis(ctx);
    const b = buckets(ctx);
    const t = topics(ctx);
    const s = secrets(ctx);
    const w = warehouse(ctx);
    const n = network(ctx);
    const f = functions(ctx, { buckets: b, topics: t, secrets: s, warehouse: w, network: n }, inputs);
    const o = orchestration(ctx, { topics: t, warehouse: w, runStatus: f.functions.runStatus, runReport: f.functions.runReport }, inputs.workflows);
    monitoring(ctx, { functions: f.functions, subscriptions: f.subscriptions, topics: t });
    powerBi(ctx, w, o);

    new TerraformOutput(this, 'staging_bucket', { value: b.staging.name });
    new TerraformOutput(this, 'dead_letter_subscription', { value: t.deadLetterHold.name });
  }
}
