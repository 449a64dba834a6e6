import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Testing } from '../../../infra-cdktf/cdk';
import type { EnvironmentConfig, EnvironmentName } from '../../../infra-cdktf/config';
import { prepareBundles, readEnvironmentConfig, readRegistry, readWorkflows } from '../../../infra-cdktf/inputs';
import type { WorkflowSource } from '../../../infra-cdktf/modules/orchestration';
import { PipelineStack } from '../../../infra-cdktf/stack';
import type { MunicipalityRegistry } from '../../../shared/contracts/municipalities';

/**
 * Builds a stack exactly as infra-cdktf/main.ts does (same environment files, same registries,
 * bundles assembled by the same code, placeholder code when dist/functions is not built) and
 * returns the synthesized Terraform JSON. No GCP account, no terraform binary.
 */

export const repoRoot = path.resolve(__dirname, '../../..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;
export interface TfJson {
  resource: Record<string, Record<string, Body>>;
  data?: Record<string, Record<string, Body>>;
  output?: Record<string, { value: unknown }>;
  terraform: Body;
  provider: Body;
}

export interface Synthesized {
  json: TfJson;
  text: string;
  config: EnvironmentConfig;
  registry: MunicipalityRegistry;
  warnings: string[];
}

export function synthEnvironment(
  env: EnvironmentName,
  o: { workflows?: WorkflowSource[]; registry?: MunicipalityRegistry; config?: (c: EnvironmentConfig) => EnvironmentConfig } = {},
): Synthesized {
  const baseConfig = readEnvironmentConfig(repoRoot, env);
  const config = o.config ? o.config(baseConfig) : baseConfig;
  const registryFile = path.resolve(repoRoot, baseConfig.registryFile);
  const registry = o.registry ?? readRegistry(registryFile);
  // The committed, generated workflows (workflows/daily.workflows.yaml), as main.ts reads them.
  const workflows = o.workflows ?? readWorkflows(path.join(repoRoot, 'workflows'));
  const stagingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-infra-test-'));
  try {
    const bundles = prepareBundles({ repoRoot, env, registryFile, stagingDir, placeholder: true });
    const app = Testing.app();
    const stack = new PipelineStack(app, env, { config, registry, workflows, bundles, placeholderBundles: true });
    const text = Testing.synth(stack);
    const warnings = stack.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    return { json: JSON.parse(text) as TfJson, text, config, registry, warnings };
  } finally {
    fs.rmSync(stagingDir, { recursive: true, force: true });
  }
}

/** [logical id, body] of every resource of a type. */
export function resources(json: TfJson, type: string): [string, Body][] {
  return Object.entries(json.resource[type] ?? {});
}

/**
 * Like resources(), for a check that loops over them: at least one must exist, because a check
 * over nothing proves nothing (an "every X is Y" test passes when the stack has no X at all).
 */
export function some(json: TfJson, type: string, where: (b: Body) => boolean = () => true): [string, Body][] {
  const found = resources(json, type).filter(([, b]) => where(b));
  if (found.length === 0) throw new Error(`expected at least one ${type} to check, found none`);
  return found;
}

const REF = /^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/;

/**
 * Follows a `${type.id.attr}` reference to the referenced resource's configured attribute (e.g. a
 * topic's `name`), so assertions speak in real names rather than logical ids. Literals pass through.
 */
export function resolve(json: TfJson, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = REF.exec(value);
  if (!m) return value;
  const [, isData, type, id, attr] = m;
  const body = (isData ? json.data : json.resource)?.[type!]?.[id!];
  if (!body) throw new Error(`dangling reference ${value}`);
  if (attr === 'id' || attr === 'self_link') return `${type}:${body.name ?? body.secret_id ?? body.dataset_id ?? id}`;
  if (attr === 'email') return `${body.account_id}@`;
  return attr! in body ? resolve(json, body[attr!]) : `${type}.${id}.${attr}`;
}

/** Service account id (account_id) of a `serviceAccount:${google_service_account.x.email}` member. */
export function memberAccount(json: TfJson, member: string): string {
  const m = /^serviceAccount:\$\{google_service_account\.([A-Za-z0-9_-]+)\.email\}$/.exec(member);
  if (!m) return member;
  return json.resource.google_service_account![m[1]!]!.account_id as string;
}
