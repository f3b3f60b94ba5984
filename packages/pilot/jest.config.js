import { projectConfig } from '../../jest.project.js';

export default projectConfig('pilot', ['<rootDir>/src/**/*.test.ts']);
