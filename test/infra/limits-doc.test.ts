import fs from 'node:fs';
import { GOOGLE_LIMITS } from '../../infra-cdktf/limits';
import { LIMITS_DOC, WORKFLOW_FILE } from '../../infra-cdktf/limits-cli';
import { workflowSteps } from '../../infra-cdktf/limits-model';
import { limitsDocument } from '../../infra-cdktf/limits-report';
import { readEnvironmentConfig } from '../../infra-cdktf/inputs';
import { repoRoot } from './support/synth';

/**
 * docs/limits.md is generated from the limits (infra-cdktf/limits.ts: Google's documented values)
 * and the usage model (limits-model.ts); these checks synthesize no stack, so they are quick
 * enough to run against every mutant of those two files (stryker.infra.config.mjs). That the
 * model counts what the synthesized stack really holds is limits.test.ts.
 */
const base = readEnvironmentConfig(repoRoot, 'prod');
const workflow = fs.readFileSync(WORKFLOW_FILE, 'utf8');

describe('docs/limits.md', () => {
  test('is what `npm run limits -- --write-doc` generates', () => {
    const committed = fs.readFileSync(LIMITS_DOC, 'utf8');
    const generated = limitsDocument(base, workflow);
    // Changes to the workflow YAML, the limits or the stack change it: regenerate, review, commit.
    if (committed !== generated) throw new Error('docs/limits.md is out of date: run `npm run limits -- --write-doc` and commit it');
    expect(committed).toBe(generated);
  });

  test('names, for 650 VPN municipalities, the quotas to request with their numbers, and the deploy guide sends the reader there', () => {
    const doc = fs.readFileSync(LIMITS_DOC, 'utf8');
    expect(doc).toMatch(/\[VPN tunnels \(Classic \+ HA\)\]\([^)]+\) \| quota \| console \| project × region \| 1,300 \| \*\*check quota ≥ count\*\*/);
    expect(fs.readFileSync(`${repoRoot}/docs/deploy.md`, 'utf8')).toMatch(/docs\/limits\.md|\(limits\.md\)/);
  });
});

test('docs/cost.md counts workflow steps from the generated YAML as it is now', () => {
  const { fixed, perMunicipality } = workflowSteps(workflow);
  const cost = fs.readFileSync(`${repoRoot}/docs/cost.md`, 'utf8');
  if (!cost.includes(`**${fixed} steps`) || !cost.includes(`+ ${perMunicipality} per municipality**`))
    throw new Error(`docs/cost.md quotes other workflow step counts than the YAML has now (${fixed} + ${perMunicipality} × N): update its Workflows paragraph`);
  expect(cost).toMatch(new RegExp(`\\*\\*${fixed} steps\\s+once per execution \\+ ${perMunicipality} per municipality\\*\\*`));
});

test('every limit names a Google documentation page', () => {
  for (const l of Object.values(GOOGLE_LIMITS)) expect(l.source).toMatch(/^https:\/\/cloud\.google\.com\//);
});
