import { projectConfig } from '../../jest.project.js';

export default projectConfig('factory', ['<rootDir>/src/**/*.test.ts']);
