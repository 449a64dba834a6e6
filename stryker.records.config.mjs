// @ts-check
/**
 * `npm run mutation:records`: mutation testing of shared/records/** (the bucket's run records: the
 * create-if-absent writes, manifests, plans, failure and load records, attempt markers, checkpoints,
 * the object names and the per-server source lease) against the tests that exercise them with the
 * local FsObjectStore (a real directory, no PostgreSQL, so the suite's global setup is off):
 *
 * - test/unit/records.test.ts: the records' own guarantees (written once, read back typed, names);
 * - test/integration/source-lease.test.ts: the lease (one holder at a time, expiry, contenders);
 * - test/unit/workflow-run-status.test.ts: the run status read from the records the observer writes.
 *
 * The function-level tests that also write records (test/integration/functions-*.test.ts) and the
 * fault suites need PostgreSQL or the whole runtime: left out for cost. See docs/mutation.md.
 */
import base from './stryker.config.mjs';

// STRYKER_TESTS=<glob,glob>: run a part against fewer test files, when the whole list would not
// finish on a busy machine. Say which in docs/mutation.md.
const only = process.env.STRYKER_TESTS?.split(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/records/**/*.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: only ?? ['**/test/unit/records.test.ts', '**/test/integration/source-lease.test.ts', '**/test/unit/workflow-run-status.test.ts'],
      globalSetup: null,
      globalTeardown: null,
    },
  },
  // The record schemas and the lease defaults are module-level ("static"): a strict record made
  // lenient is exactly the defect to catch, and these test files are fast.
  ignoreStatic: false,
  // No type check per mutant (~10 s each here): ts-jest only transpiles, so a mutant that would not
  // compile still runs; survivors are read by hand for that (docs/mutation.md).
  checkers: [],
  timeoutMS: 10_000,
  htmlReporter: { fileName: 'reports/mutation/records.html' },
  jsonReporter: { fileName: 'reports/mutation/records.json' },
};
export default config;
