// Shared jest settings for every workspace: ts-jest in native ESM mode, `.js` dropped from relative imports.
import { fileURLToPath } from 'node:url';
import { createDefaultEsmPreset } from 'ts-jest';

const packages = fileURLToPath(new URL('packages/', import.meta.url));

export function projectConfig(displayName, testMatch) {
  return {
    displayName,
    ...createDefaultEsmPreset({ tsconfig: '<rootDir>/tsconfig.json' }),
    testEnvironment: 'node',
    testMatch,
    // The workspace packages from their sources, so the tests need no build.
    moduleNameMapper: {
      '^@docker-cernvm/(cli-kit|mounter|pilot|factory)$': `${packages}$1/src/index.ts`,
      '^@docker-cernvm/cli-kit/testing$': `${packages}cli-kit/src/testing/index.ts`,
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
  };
}
