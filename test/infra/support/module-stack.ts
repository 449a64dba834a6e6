import path from 'node:path';
import { Testing, TerraformStack } from '../../../infra-cdktf/cdk';
import type { EnvironmentConfig, EnvironmentName } from '../../../infra-cdktf/config';
import { DataGoogleProject } from '../../../infra-cdktf/google';
import { readEnvironmentConfig, readRegistry } from '../../../infra-cdktf/inputs';
import type { StackContext } from '../../../infra-cdktf/modules/context';
import { names } from '../../../infra-cdktf/naming';
import type { MunicipalityRegistry } from '../../../shared/contracts/municipalities';
import { repoRoot, type TfJson } from './synth';

/**
 * One module (or a few) in a stack of its own, synthesized INSIDE the test that calls this.
 *
 * Why: the whole-stack tests (synth.ts's synthEnvironment) build their stack at module level, so for
 * mutation testing every mutant of every infra module is "static" — covered outside any test — and
 * runs every test of every selected file (45–150 s per mutant on the shared machine). A stack built
 * here, per test, lets Stryker's per-test coverage run a mutant only against the tests whose
 * module actually executed it, each in well under a second. The whole-stack tests stay: they check
 * the modules wired together.
 */
export interface ModuleStack<T> {
  json: TfJson;
  /** What `build` returned (the module's outputs). */
  out: T;
  config: EnvironmentConfig;
  registry: MunicipalityRegistry;
  warnings: string[];
}

export function synthModule<T>(
  build: (ctx: StackContext) => T,
  o: { env?: EnvironmentName; config?: (c: EnvironmentConfig) => EnvironmentConfig; registry?: MunicipalityRegistry } = {},
): ModuleStack<T> {
  const env = o.env ?? 'dev';
  const base = readEnvironmentConfig(repoRoot, env);
  const config = o.config ? o.config(base) : base;
  const registry = o.registry ?? readRegistry(path.resolve(repoRoot, base.registryFile));
  const stack = new TerraformStack(Testing.app(), env);
  const ctx: StackContext = {
    scope: stack,
    config,
    names: names(config),
    registry,
    project: new DataGoogleProject(stack, 'project', { projectId: config.projectId }),
  };
  const out = build(ctx);
  const json = JSON.parse(Testing.synth(stack)) as TfJson;
  const warnings = stack.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
  return { json, out, config, registry, warnings };
}

/**
 * A value made once, in a `beforeAll` registered where this is called, and read by every test
 * that checks it (tests never modify what they read). For module tests whose stack is costly
 * (the warehouse: every PEC table), or checked by several tests: synthesizing it in each test
 * made a mutant cost one stack per test that executed it. Code run in a `beforeAll` is covered
 * outside any test, so Stryker runs each of its mutants against every test of the file — which
 * then costs the file's few stacks once, not a stack per test. A failure while making it fails
 * every test that reads it.
 */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  beforeAll(() => {
    made = { value: make() };
  });
  return () => {
    if (!made) throw new Error('once(): read before its beforeAll ran');
    return made.value;
  };
}

/** Terraform addresses of the IAM member resources granted to `member` (their state keys), sorted. */
export function grantIds(json: TfJson, member: string): string[] {
  return Object.entries(json.resource)
    .filter(([type]) => type.endsWith('_iam_member'))
    .flatMap(([type, members]) =>
      Object.entries(members)
        .filter(([, b]) => b.member === member)
        .map(([id]) => `${type}.${id}`),
    )
    .sort();
}
