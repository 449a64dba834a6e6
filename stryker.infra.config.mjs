// @ts-check
/**
 * `npm run mutation:infra`: mutation testing of the CDK for Terraform code (infra-cdktf: the
 * modules, config, limits, the limits model) against the infra tests that assert on the
 * synthesized JSON. Results and survivors: docs/mutation.md, "GCP adapters and infra".
 *
 * The whole-stack tests (contracts, security, placement-and-paths, monitoring) synthesize their
 * stack at module level, outside any single test: with them in a part, every mutant is "static"
 * for Stryker and runs every test of every selected file. The module tests (test/infra/module-*,
 * config, function-sizing; test/infra/support/module-stack.ts) build what they check inside each
 * test, so per-test coverage runs a mutant only against the tests that executed it: the parts
 * `functions`, `sizing` and `network` use those. The orchestration, warehouse and Power BI module
 * tests synthesize each of their few stacks once, in a beforeAll (support/module-stack.ts `once`):
 * their mutants are static, but the whole file costs those few stacks once. The scope comes in parts, each with the few
 * test files that check it: `INFRA_PART=<part> npm run mutation:infra` (no INFRA_PART: every
 * part's files against the union of their tests, hours here). A narrower re-check of survivors:
 * `INFRA_PART=functions npx stryker run stryker.infra.config.mjs --mutate 'infra-cdktf/modules/functions.ts:175-248'`.
 *
 * Left out of the test set, for their cost per mutant on 2 shared cores (they stay in `npm test`):
 * test/infra/limits.test.ts (three 650-municipality stacks, ~1–3 min per run) and
 * test/infra/terraform-validate.test.ts (terraform validate of every environment, ~2 min per run).
 */
import base from './stryker.config.mjs';

/** @type {Record<string, { mutate: string[]; tests: string[] }>} */
const PARTS = {
  // modules/functions.ts against the tests that build it into a stack of its own INSIDE each test
  // (test/support/module-stack.ts): per-test coverage then runs a mutant only against the tests
  // that executed it, well under a second each, instead of whole stacks per mutant.
  functions: {
    mutate: ['infra-cdktf/modules/functions.ts'],
    tests: ['module-functions', 'function-sizing'],
  },
  // Cloud Run's CPU/memory rules (cpuMemoryProblems) against their own table-driven tests only:
  // no stack per mutant. (module-functions' synths run them too, and could only kill more.)
  sizing: {
    mutate: ['infra-cdktf/modules/functions.ts:146-174'],
    tests: ['function-sizing'],
  },
  // The Pub/Sub topics, subscriptions (delivery values, dead letters) and the functions' service config.
  delivery: {
    mutate: ['infra-cdktf/modules/pubsub.ts', 'infra-cdktf/modules/functions.ts'],
    tests: ['contracts', 'security'],
  },
  // The small modules against their module tests (test/infra/module-basics.test.ts).
  basics: {
    mutate: ['infra-cdktf/modules/storage.ts', 'infra-cdktf/modules/secrets.ts', 'infra-cdktf/modules/pubsub.ts', 'infra-cdktf/modules/apis.ts'],
    tests: ['module-basics'],
  },
  // Google's documented limits and the usage model behind docs/limits.md.
  limits: {
    mutate: ['infra-cdktf/limits.ts', 'infra-cdktf/limits-model.ts'],
    tests: ['limits-doc', 'limits-model'],
  },
  // How the workflow's steps are counted (workflowSteps), against its own test only.
  steps: {
    mutate: ['infra-cdktf/limits-model.ts:130-161'],
    tests: ['limits-model'],
  },
  // Environment config validation (its zod schema is module-level: every schema mutant is static,
  // so it runs every test selected; config.test.ts alone keeps that to a second).
  config: {
    mutate: ['infra-cdktf/config.ts'],
    tests: ['config'],
  },
  // The network paths (NAT, VPN). The whole-stack files (placement-and-paths, security) check
  // them too, but synthesize at module level: with them every mutant here is static and costs
  // minutes. module-network builds what it checks inside each test.
  network: {
    mutate: ['infra-cdktf/modules/network.ts'],
    tests: ['module-network'],
  },
  // The alerts, their log-based metrics and the dashboard, against the module's own tests.
  monitoring: {
    mutate: ['infra-cdktf/modules/monitoring.ts'],
    tests: ['module-monitoring'],
  },
  // The workflows, their identity and variables, the daily schedule, against the module's own tests.
  orchestration: {
    mutate: ['infra-cdktf/modules/orchestration.ts'],
    tests: ['module-orchestration'],
  },
  // Datasets, policy tags, tables, views, mart procedures, and Power BI's grants and row access
  // policies, against their module tests. These synthesize each stack once, in a beforeAll: every
  // mutant is static and runs the whole of its part's test files, so the two modules also come
  // apart (`bigquery`, `powerbi`), each against its own file only.
  warehouse: {
    mutate: ['infra-cdktf/modules/bigquery.ts', 'infra-cdktf/modules/powerbi.ts'],
    tests: ['module-warehouse', 'module-powerbi'],
  },
  bigquery: {
    mutate: ['infra-cdktf/modules/bigquery.ts'],
    tests: ['module-warehouse'],
  },
  powerbi: {
    mutate: ['infra-cdktf/modules/powerbi.ts'],
    tests: ['module-powerbi'],
  },
  // Storage, BigQuery datasets and tables, secrets, Power BI, orchestration, monitoring, APIs.
  rest: {
    mutate: [
      'infra-cdktf/modules/storage.ts',
      'infra-cdktf/modules/bigquery.ts',
      'infra-cdktf/modules/secrets.ts',
      'infra-cdktf/modules/powerbi.ts',
      'infra-cdktf/modules/orchestration.ts',
      'infra-cdktf/modules/monitoring.ts',
      'infra-cdktf/modules/apis.ts',
      'infra-cdktf/modules/context.ts',
    ],
    tests: ['contracts', 'security', 'placement-and-paths', 'monitoring'],
  },
};

const partName = process.env.INFRA_PART;
if (partName !== undefined && !(partName in PARTS)) throw new Error(`INFRA_PART=${partName}: expected one of ${Object.keys(PARTS).join(', ')}`);
const parts = partName ? [PARTS[partName]] : Object.values(PARTS);
const tests = [...new Set(parts.flatMap((p) => p.tests))];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  // A file mutated whole by one part makes another part's line range of it redundant.
  mutate: [...new Set(parts.flatMap((p) => p.mutate))].filter((m, _, all) => !m.includes(':') || !all.includes(m.split(':')[0])),
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    // No PostgreSQL needed by these tests.
    config: {
      testMatch: tests.map((t) => `**/test/infra/${t}.test.ts`),
      globalSetup: null,
      globalTeardown: null,
      // In band: with two or more test files jest would start worker processes for every mutant,
      // each loading cdktf and the provider bindings again (most of a run's cost here).
      maxWorkers: 1,
    },
  },
  // Module-level constants ARE the behaviour here (limits.ts values, DEAD_LETTER_RETENTION): count them.
  ignoreStatic: false,
  // No type check per mutant (see stryker.errors.config.mjs); survivors were read by hand.
  checkers: [],
  timeoutMS: 120_000,
  htmlReporter: { fileName: `reports/mutation/infra${partName ? `-${partName}` : ''}.html` },
  jsonReporter: { fileName: `reports/mutation/infra${partName ? `-${partName}` : ''}.json` },
};
export default config;
