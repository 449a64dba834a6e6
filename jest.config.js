/**
 * One jest run covers every tier; the tier is visible in the path
 * (test/unit, test/integration, test/contract, test/infra, test/faults).
 * @swc/jest transpiles only: `npm run typecheck` (tsc --noEmit) is the type gate.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs', ignoreDynamic: true } }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  // Integration tests share one PostgreSQL server and DuckDB files on a 2-core machine.
  maxWorkers: 2,
};
