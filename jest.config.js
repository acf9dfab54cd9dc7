/** Unit tests: fast, no root, no network. The replication harness has its own config (test/e2e). */
module.exports = {
  testEnvironment: 'node',
  // One worker per core (jest's default leaves one core to itself, which mostly waits): most suites
  // wait on child processes (bash, git, node), so two workers on two cores finish in about 2/3 of the time.
  maxWorkers: '100%',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
