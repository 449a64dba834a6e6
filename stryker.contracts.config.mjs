// @ts-check
/**
 * `npm run mutation:contracts`: mutation testing of shared/contracts/** against the unit tests that
 * exercise the contracts (no PostgreSQL, so the suite's global setup is off). See docs/mutation.md.
 *
 * Static mutants are NOT ignored: the contracts are mostly module-level zod schemas and constants
 * ("static" code that runs once at import), and a strict object made lenient or a bound moved is
 * exactly the defect to catch. Each static mutant runs every selected test, which these few fast
 * unit test files afford.
 */
import base from './stryker.config.mjs';

// STRYKER_TESTS=<glob,glob>: run a part against fewer test files (e.g. only the unit test of the file
// being mutated), when the whole list would not finish on a busy machine. Say which in docs/mutation.md.
const only = process.env.STRYKER_TESTS?.split(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/contracts/**/*.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: only ?? [
        '**/test/unit/contracts.test.ts',
        '**/test/unit/function-config.test.ts',
        '**/test/unit/ibge.test.ts',
        '**/test/unit/registry-file.test.ts',
        '**/test/unit/pinned-numeric.test.ts',
        '**/test/unit/municipalities.test.ts', // the registry's rules at their edges
        '**/test/unit/table-registry.test.ts', // the table registry's rules and the type contract
      ],
      globalSetup: null,
      globalTeardown: null,
    },
  },
  ignoreStatic: false,
  // String literals here are names (env variables, topics, enum values: one definition each, imported
  // by every side, so a renamed one changes both sides alike) and human text (error messages, help):
  // hundreds of mutants, each running every selected test as static code, that measure no guarantee.
  mutator: { excludedMutations: ['StringLiteral'] },
  // No type check per mutant: ts-jest only transpiles, so a mutant that would not compile still
  // runs; survivors are read by hand for that (docs/mutation.md). The checker costs ~10 s a mutant here.
  checkers: [],
  timeoutMS: 10_000,
  htmlReporter: { fileName: 'reports/mutation/contracts.html' },
  jsonReporter: { fileName: 'reports/mutation/contracts.json' },
};
export default config;
