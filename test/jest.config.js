import { projectConfig } from '../jest.project.js';

// Real-engine tests: they mount, start containers and need root and a Docker engine.
export default {
  ...projectConfig('integration', ['<rootDir>/**/*.test.ts']),
  setupFilesAfterEnv: ['<rootDir>/support/test-timeout.ts'],
};
