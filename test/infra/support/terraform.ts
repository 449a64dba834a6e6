import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The real Terraform CLI over synthesized JSON. Terraform reads the configuration (expressions,
 * references, depends_on, blocks) before it looks for providers, so `terraform validate` catches
 * every configuration-level error here even though the google provider cannot be downloaded on
 * this machine; CI additionally runs it after `terraform init` (.github/workflows/infra.yml).
 */

export interface Diagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
  range?: { filename: string; start: { line: number } };
}
export interface ValidateResult {
  valid: boolean;
  error_count: number;
  warning_count: number;
  diagnostics: Diagnostic[];
}

const BIN = process.env.TERRAFORM_BIN ?? 'terraform';

/** `terraform version` answers: the CLI is installed. */
export function terraformAvailable(): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync(BIN, ['version', '-json'], { encoding: 'utf8', timeout: 30_000, env: quietEnv() });
  if (r.error || r.status !== 0) return { ok: false, reason: `\`${BIN} version\` failed: ${r.error?.message ?? r.stderr.trim()}` };
  return { ok: true, version: (JSON.parse(r.stdout) as { terraform_version: string }).terraform_version };
}

function quietEnv(): NodeJS.ProcessEnv {
  // No update check against checkpoint.hashicorp.com, no colour, no prompts.
  return { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
}

/** Writes one stack's JSON as cdk.tf.json in a fresh directory and runs `terraform validate -json` there. */
export function terraformValidate(stackJson: string): ValidateResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pec-tf-validate-'));
  try {
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stackJson);
    const r = spawnSync(BIN, ['validate', '-json', '-no-color'], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: quietEnv(), maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    // Exit status 1 with a JSON report is a validation result; anything else is a broken run.
    try {
      return JSON.parse(r.stdout) as ValidateResult;
    } catch {
      throw new Error(`terraform validate exited ${r.status} without a JSON report:\n${r.stdout}\n${r.stderr}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The one diagnostic nothing here can clear: the google provider is not installed (no network to
 * registry.terraform.io). Anything else, or more than this, is a real error in the configuration.
 */
export function isProviderMissing(d: Diagnostic): boolean {
  return d.severity === 'error' && d.summary === 'Missing required provider' && /registry\.terraform\.io\/hashicorp\/google\b/.test(d.detail ?? '');
}
