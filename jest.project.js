// Shared jest settings for every workspace: ts-jest in native ESM mode, `.js` dropped from relative imports.
import { createDefaultEsmPreset } from 'ts-jest';

export function projectConfig(displayName, testMatch) {
  return {
    displayName,
    ...createDefaultEsmPreset({ tsconfig: '<rootDir>/tsconfig.json' }),
    testEnvironment: 'node',
    testMatch,
    moduleNameMapper: {
      '^@docker-cernvm/(mounter|pilot|factory)$': '<rootDir>/../packages/$1/src/index.ts',
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
  };
}
