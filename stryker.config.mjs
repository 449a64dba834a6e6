// @ts-check
/**
 * Mutation testing (StrykerJS): `npm run mutation`. NOT part of CI — it is slow: every mutant of the
 * modules below is compiled (typescript checker) and run against the tests that cover it.
 *
 * Fits 2 cores: per-test coverage analysis (`perTest`) runs only the tests that execute a mutant,
 * `enableFindRelatedTests` lets jest pick the test files related to the mutated file, and one
 * test-runner process at a time (`concurrency: 1`; raise it on a bigger machine).
 *
 * The `mutate` list is the code that holds users' guarantees (issue 16): extract, load, error
 * classification, contracts, the GCP adapters and the infra modules. A smaller scope that runs in a
 * few minutes: `npm run mutation:errors` (stryker.errors.config.mjs). Results: docs/mutation.md.
 */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'], // the BigQuery client's dynamic import() under jest
  jest: { projectType: 'custom', configFile: 'jest.config.js', enableFindRelatedTests: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.stryker.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // Integration tests share a PostgreSQL server and are slow on a loaded machine: be generous
  // rather than call a slow test a killed mutant.
  timeoutMS: 60_000,
  timeoutFactor: 2,
  mutate: [
    'shared/extract/**/*.ts',
    'shared/load/**/*.ts',
    'shared/records/**/*.ts', // the bucket's records: create-if-absent writes, the source lease
    'shared/errors.ts',
    'shared/error-classes.ts',
    'shared/contracts/**/*.ts',
    'shared/adapters/gcp/**/*.ts',
    'infra-cdktf/**/*.ts',
    '!infra-cdktf/main.ts', // the synth entry point: no logic
    '!infra-cdktf/cdktf.out/**',
  ],
  // Comments and log text are not behaviour.
  ignoreStatic: true,
  thresholds: { high: 90, low: 85, break: null },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
export default config;
