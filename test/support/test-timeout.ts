import { jest } from '@jest/globals';

// Jest takes `testTimeout` from the root configuration only, so under `npm test` a project's own value is ignored.
// Real-engine hooks stop containers and unmount, which takes longer than jest's 5 s default.
jest.setTimeout(120_000);
