// @ts-check
/**
 * `npm run mutation:source`: mutation testing of the extractor's PostgreSQL side —
 * shared/extract/extract-municipality.ts and shared/extract/source.ts — against the fastest tests that
 * reach them: test/integration/extract-municipality.test.ts (small crafted tables on a real PostgreSQL,
 * `extractMunicipality` called directly) and the catalogue test.
 *
 * Every mutant of these files reruns PostgreSQL tests, and StrykerJS runs jest's `runCLI` once per
 * mutant: with the suite's global setup, each mutant would start (and stop) its own embedded
 * PostgreSQL. So global setup is off here and the server is started ONCE per Stryker run by
 * scripts/mutation-source.ts, which passes it to every test run as PIPELINE_TEST_PG_URL (the tests
 * create their own databases on it, as under jest). Run it through that script (the npm script
 * does): `nice -n 19 npm run mutation:source -- --mutate 'shared/extract/source.ts'`. See
 * docs/mutation.md.
 */
import base from './stryker.config.mjs';

// STRYKER_TESTS=<glob,glob>: run a part against other test files. Say which in docs/mutation.md.
const only = process.env.STRYKER_TESTS?.split(',');

if (!process.env.PIPELINE_TEST_PG_URL)
  throw new Error('stryker.source.config.mjs: PIPELINE_TEST_PG_URL is not set; run `npm run mutation:source` (scripts/mutation-source.ts starts PostgreSQL once)');

// STRYKER_PART=<name>: a part with its own report (reports/mutation/source-<name>.*) and its own
// sandbox directory, so two parts can run at once without one cleaning up the other's sandbox.
const part = process.env.STRYKER_PART ? `-${process.env.STRYKER_PART}` : '';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ['shared/extract/extract-municipality.ts', 'shared/extract/source.ts'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: {
      testMatch: only ?? ['**/test/integration/extract-municipality.test.ts', '**/test/integration/source-catalogue.test.ts'],
      globalSetup: null,
      globalTeardown: null,
    },
  },
  // No type check per mutant: ts-jest only transpiles; survivors are read by hand for "would this compile".
  checkers: [],
  // Generous under load: a slow PostgreSQL test is not a detected mutant.
  timeoutMS: 45_000,
  htmlReporter: { fileName: `reports/mutation/source${part}.html` },
  jsonReporter: { fileName: `reports/mutation/source${part}.json` },
  tempDirName: `.stryker-tmp${part}`,
  ignorePatterns: ['.stryker-tmp*'],
};
export default config;
