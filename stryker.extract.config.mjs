// @ts-check
/**
 * `npm run mutation:extract`: mutation testing of shared/extract/** against the tests that exercise
 * the extractor: the SQL and CSV unit tests, the source lease, and the behaviour suites that run a real
 * (embedded) PostgreSQL through the real extractor into the local warehouse (guarantees: snapshot,
 * half-open windows, no clear-text identifiers; type round trip: every value lands exactly or is set
 * aside). The suite's global setup starts that PostgreSQL once. See docs/mutation.md.
 *
 * Slow (each mutant of the extraction path reruns the PostgreSQL tests that execute it): run it in
 * parts, e.g. `npx stryker run stryker.extract.config.mjs --mutate shared/extract/sql.ts`.
 */
import base from './stryker.config.mjs';

// STRYKER_TESTS=<glob,glob>: run a part against fewer test files (e.g. only the unit test of the file
// being mutated), when the whole list would not finish on a busy machine. Say which in docs/mutation.md.
const only = process.env.STRYKER_TESTS?.split(',');
// Unit tests only (e.g. `STRYKER_TESTS='**/test/unit/csv-rows.test.ts'`): no PostgreSQL, so no global
// setup. With it, every mutant's jest run ran initdb and started an embedded PostgreSQL it never used
// (a csv-rows run on a loaded machine: 39 of 176 mutants in 13 minutes).
const unitOnly = only?.every((glob) => glob.includes('/test/unit/')) ?? false;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/extract/**/*.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: only ?? [
        '**/test/unit/sql.test.ts',
        '**/test/unit/csv-rows.test.ts',
        '**/test/unit/part-writer.test.ts',
        '**/test/integration/conform-checks.test.ts',
        '**/test/integration/source-lease.test.ts',
        '**/test/integration/guarantees.test.ts',
        '**/test/integration/type-roundtrip.test.ts',
      ],
      ...(unitOnly ? { globalSetup: null, globalTeardown: null } : {}),
    },
  },
  // No type check per mutant (~10 s each here): ts-jest only transpiles, so a mutant that would not
  // compile still runs; survivors are read by hand for that (docs/mutation.md).
  checkers: [],
  htmlReporter: { fileName: 'reports/mutation/extract.html' },
  jsonReporter: { fileName: 'reports/mutation/extract.json' },
};
export default config;
