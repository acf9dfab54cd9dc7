/** Unit tests: fast, no root, no network. The replication harness has its own config (test/e2e). */
module.exports = {
  testEnvironment: 'node',
  // One worker per core (jest's default leaves one core to itself, which mostly waits): most suites
  // wait on child processes (bash, git, node), so two workers on two cores finish in about 2/3 of the time.
  maxWorkers: '100%',
  // Only a guard against a hung test: the script suites run real bash processes whose own waits are bounded
  // (a background run's waitFor 10 s, a run 20 s); jest's 5 s default cut such a test short on a loaded 2-core
  // machine (seen: sidecar-credentials 'the previous keys removed while it runs', in a clean-clone CI run).
  testTimeout: 60_000,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
