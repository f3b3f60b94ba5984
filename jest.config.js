// One project per workspace; `npm test` runs them all, in band, because the real-engine tests share one engine.
export default {
  // factory joins when it has code (issue 4).
  projects: ['<rootDir>/packages/mounter', '<rootDir>/packages/pilot', '<rootDir>/test'],
};
