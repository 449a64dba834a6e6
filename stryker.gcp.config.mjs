// @ts-check
/**
 * `npm run mutation:gcp`: mutation testing of the GCP adapters (shared/adapters/gcp, except
 * errors.ts, which `npm run mutation:errors` covers) against the tests about them: the contract
 * tests that run the real Google clients against the local fake servers (test/contract), the
 * function-configuration unit test, and the Pub/Sub adapter against Google's emulator (skipped
 * loudly without gcloud). Results and survivors: docs/mutation.md, "GCP adapters and infra".
 *
 * Per-test coverage: the adapters run inside the tests (the fake servers start in beforeAll), so
 * a mutant runs only the tests that executed it. Static mutants (module-level constants such as
 * the default chunk size) are counted: they run every selected test, which is affordable here.
 */
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/adapters/gcp/**/*.ts', '!shared/adapters/gcp/errors.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: [
        '**/test/contract/bigquery-sql.contract.test.ts',
        '**/test/contract/bigquery-warehouse.contract.test.ts',
        '**/test/contract/gcs-object-store.contract.test.ts',
        '**/test/contract/secret-manager.contract.test.ts',
        '**/test/contract/bigquery-query.contract.test.ts',
        '**/test/unit/function-config.test.ts',
        '**/test/integration/pubsub-emulator.test.ts',
      ],
      // None of these needs the shared PostgreSQL server (bigquery-types.contract, which extracts
      // from PostgreSQL, is left out: bigquery-warehouse.contract checks the same load options).
      globalSetup: null,
      globalTeardown: null,
    },
  },
  ignoreStatic: false,
  // No type check per mutant (as in stryker.errors.config.mjs): on the shared 2-core machine it
  // re-checks every importer of the mutated file for each mutant. ts-jest only transpiles, so a
  // mutant that would not compile still runs; survivors were read by hand for that.
  checkers: [],
  timeoutMS: 30_000,
  htmlReporter: { fileName: 'reports/mutation/gcp.html' },
  jsonReporter: { fileName: 'reports/mutation/gcp.json' },
};
export default config;
