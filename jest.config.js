/**
 * One jest run covers every tier; the tier is visible in the path
 * (test/unit, test/integration, test/contract, test/infra, test/faults).
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Transpile only (isolatedModules): `npm run typecheck` (tsc --noEmit) is the type gate.
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  // Integration tests share one PostgreSQL server and DuckDB files on a 2-core machine.
  maxWorkers: 2,
};
