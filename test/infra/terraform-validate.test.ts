import { ENVIRONMENTS } from '../../infra-cdktf/config';
import { readEnvironmentConfig } from '../../infra-cdktf/inputs';
import { syntheticDeployment } from '../../infra-cdktf/synthetic';
import { repoRoot, synthEnvironment } from './support/synth';
import { isProviderMissing, terraformAvailable, terraformValidate, type ValidateResult } from './support/terraform';

/**
 * `terraform validate` on every synthesized stack: the JSON tests elsewhere read what we meant to
 * write, this is what Terraform will accept. Without a terraform binary the suite fails in CI
 * (CI=true) and is skipped loudly elsewhere.
 */
const tf = terraformAvailable();
const inCi = process.env.CI === 'true';
if (!tf.ok && !inCi)
  console.warn(
    `\n${'!'.repeat(100)}\n!! SKIPPED: terraform validate of the synthesized stacks: ${tf.reason}.\n!! Install Terraform ${'>='} 1.11 (see .github/workflows/infra.yml TERRAFORM_VERSION) to run them.\n${'!'.repeat(100)}\n`,
  );

function onlyProviderMissing(r: ValidateResult): void {
  const others = r.diagnostics.filter((d) => !isProviderMissing(d));
  // Printing the first few makes a failure readable (352 identical errors are not).
  expect(others.slice(0, 5).map((d) => `${d.severity}: ${d.summary}: ${d.detail ?? ''}`)).toEqual([]);
  expect(others).toHaveLength(0);
  expect(r.diagnostics.filter(isProviderMissing)).toHaveLength(1);
}

if (!tf.ok && inCi) {
  it('terraform is installed in CI', () => {
    throw new Error(`CI=true but terraform cannot run: ${tf.reason}. Add hashicorp/setup-terraform before npm test.`);
  });
} else if (!tf.ok) {
  it.skip(`SKIPPED: terraform validate (${tf.reason})`, () => {});
} else {
  describe(`terraform validate (Terraform ${tf.version})`, () => {
    it.each(ENVIRONMENTS)('stack %s: the only diagnostic is the google provider that cannot be downloaded here', (env) => {
      onlyProviderMissing(terraformValidate(synthEnvironment(env).text));
    });

    it('a 650-municipality stack, half VPN (shared routers, spokes, peerings), half TLS', () => {
      const { registry, config } = syntheticDeployment(readEnvironmentConfig(repoRoot, 'prod'), 650, 'mix');
      onlyProviderMissing(terraformValidate(synthEnvironment('prod', { registry, config: () => config }).text));
    });

    it('rejects what the stack used to write (control: the check can fail)', () => {
      const { json } = synthEnvironment('dev');
      const [type, byId] = Object.entries(json.resource).find(([, r]) => Object.values(r).some((b) => b.depends_on))!;
      const body = Object.values(byId).find((b) => b.depends_on)!;
      body.depends_on = ['${terraform_data.apis-ready}'];
      const r = terraformValidate(JSON.stringify(json));
      expect(type).toBeTruthy();
      expect(r.diagnostics.some((d) => d.summary === 'Invalid expression')).toBe(true);
    });
  });
}
