// The unit tests cover the pure modules (formats, messages, polling state,
// paths, sparkline geometry); none of them imports JupyterLab, so ts-jest in
// Node is all they need.
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
