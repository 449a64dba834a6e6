// @ts-check
/**
 * `npm run mutation:errors`: mutation testing of the error classification alone (the table and
 * the classifiers), against the tests that are about it (test/unit/errors-*.test.ts). Minutes, not
 * hours; needs no PostgreSQL (so the suite's global setup is switched off here). See docs/mutation.md.
 *
 * Static mutants are NOT ignored here: the table's rows are module-level constants, i.e. "static"
 * code, and a row flipped from transient to terminal is exactly the defect this must catch. They
 * need every selected test per mutant, which is affordable for two small test files.
 */
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/errors.ts', 'shared/error-classes.ts', 'shared/adapters/gcp/errors.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: ['**/test/unit/errors-*.test.ts'],
      globalSetup: null,
      globalTeardown: null,
    },
  },
  ignoreStatic: false,
  // No type check per mutant here: on this shared 2-core machine the checker re-checks every
  // dependent of shared/errors.ts (most of the code base) for each mutant, ~10 s each. ts-jest
  // transpiles without type checking, so a mutant that would not compile still runs; the survivors
  // were each read by hand for that (docs/mutation.md).
  checkers: [],
  timeoutMS: 10_000,
  htmlReporter: { fileName: 'reports/mutation/errors.html' },
  jsonReporter: { fileName: 'reports/mutation/errors.json' },
};
export default config;
