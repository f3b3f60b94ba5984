import { projectConfig } from '../../jest.project.js';

const base = projectConfig('factory', ['<rootDir>/src/**/*.test.ts']);

// The shared mapper points at `<rootDir>/../packages/…`, right for test/ but not for a package (packages/packages/…):
// map the sibling packages this one imports to their sources, so the tests need no build.
export default {
  ...base,
  moduleNameMapper: {
    ...base.moduleNameMapper,
    '^@docker-cernvm/(mounter|pilot|factory)$': '<rootDir>/../$1/src/index.ts',
  },
};
