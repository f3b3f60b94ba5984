import { projectConfig } from '../../jest.project.js';

export default projectConfig('mounter', ['<rootDir>/src/**/*.test.ts']);
