import { projectConfig } from '../../jest.project.js';

export default projectConfig('cli-kit', ['<rootDir>/src/**/*.test.ts']);
