// @ts-check
/**
 * `npm run mutation:load`: mutation testing of shared/load/** (the fan-in load, the slice guard, the
 * data-error messages) against the tests that exercise it: the slice-guard unit test, loadRun's own test and the
 * warehouse behaviour suite (DuckDB and the BigQuery adapter on a fake server; no PostgreSQL, so the
 * suite's global setup is off). See docs/mutation.md.
 */
import base from './stryker.config.mjs';

// STRYKER_TESTS=<glob,glob>: run a part against fewer test files (e.g. only the unit test of the file
// being mutated), when the whole list would not finish on a busy machine. Say which in docs/mutation.md.
const only = process.env.STRYKER_TESTS?.split(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/load/**/*.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: only ?? ['**/test/unit/slice-guard.test.ts', '**/test/integration/load-run.test.ts', '**/test/integration/warehouse-behaviour.test.ts'],
      globalSetup: null,
      globalTeardown: null,
    },
  },
  // The few static mutants (the ledger timestamp formats, the identifier pattern) matter and are cheap.
  ignoreStatic: false,
  // No type check per mutant (~10 s each here): ts-jest only transpiles, so a mutant that would not
  // compile still runs; survivors are read by hand for that (docs/mutation.md).
  checkers: [],
  timeoutMS: 30_000,
  htmlReporter: { fileName: 'reports/mutation/load.html' },
  jsonReporter: { fileName: 'reports/mutation/load.json' },
};
export default config;
