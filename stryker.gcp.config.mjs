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

/**
 * Parts, each with the test files that check it (`GCP_PART=<part> npm run mutation:gcp`; no
 * GCP_PART: all files against all these tests). The function configuration's zod schemas are
 * module-level ("static") mutants that run every selected test: kept apart with its unit tests,
 * they do not start the Pub/Sub emulator for each one.
 */
/** @type {Record<string, { mutate: string[]; tests: string[] }>} */
const PARTS = {
  config: {
    mutate: ['shared/adapters/gcp/function-config.ts'],
    tests: ['unit/function-config', 'unit/local-endpoints'],
  },
  storage: {
    mutate: ['shared/adapters/gcp/gcs-object-store.ts', 'shared/adapters/gcp/secret-manager-secrets.ts', 'shared/adapters/gcp/bigquery-query.ts'],
    tests: ['contract/gcs-object-store.contract', 'contract/secret-manager.contract', 'contract/bigquery-query.contract'],
  },
  // Apart because its tests start Google's Pub/Sub emulator (a Java process) for every mutant they
  // cover; skipped loudly without gcloud. The attribute checks run without it (unit/pubsub-bus).
  pubsub: {
    mutate: ['shared/adapters/gcp/pubsub-bus.ts'],
    tests: ['unit/pubsub-bus', 'integration/pubsub-emulator'],
  },
  // bigquery-types.contract (which extracts from PostgreSQL) is left out: it needs the shared
  // PostgreSQL server; bigquery-warehouse.contract checks the same load options.
  bigquery: {
    mutate: ['shared/adapters/gcp/bigquery-warehouse.ts', 'shared/adapters/gcp/bigquery-sql.ts', 'shared/adapters/gcp/bigquery-schema.ts'],
    // warehouse-behaviour runs the BigQuery adapter through loadRun against the fake server (DuckDB
    // and no PostgreSQL for the rest of it): a test of bigquery-warehouse.ts too. bigquery-sql-executed
    // runs bigquery-sql.ts's SQL on DuckDB (the only test that executes it).
    tests: [
      'contract/bigquery-warehouse.contract',
      'integration/warehouse-behaviour',
      'contract/bigquery-sql.contract',
      'contract/bigquery-sql-executed',
      'unit/pinned-numeric',
      'unit/bigquery-schema',
    ],
  },
};

const partName = process.env.GCP_PART;
if (partName !== undefined && !(partName in PARTS)) throw new Error(`GCP_PART=${partName}: expected one of ${Object.keys(PARTS).join(', ')}`);
const parts = partName ? [PARTS[partName]] : Object.values(PARTS);
// STRYKER_TESTS=<glob,glob>: run a part against fewer test files, when the part's whole list would
// not finish on a busy machine (as in the other per-scope configs). Say which in docs/mutation.md.
const only = process.env.STRYKER_TESTS?.split(',');
// STRYKER_REPORT=<name>: the reports' file name, so that two parts of one file run side by side
// (each with its own --tempDirName) do not overwrite each other's report.
const report = process.env.STRYKER_REPORT ?? `gcp${partName ? `-${partName}` : ''}`;
const tests = [...new Set(parts.flatMap((p) => p.tests))];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: parts.flatMap((p) => p.mutate),
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    // None of these needs the shared PostgreSQL server.
    config: { testMatch: only ?? tests.map((t) => `**/test/${t}.test.ts`), globalSetup: null, globalTeardown: null },
  },
  ignoreStatic: false,
  // No type check per mutant (as in stryker.errors.config.mjs): on the shared 2-core machine it
  // re-checks every importer of the mutated file for each mutant. ts-jest only transpiles, so a
  // mutant that would not compile still runs; survivors were read by hand for that.
  checkers: [],
  timeoutMS: 30_000,
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
};
export default config;
