// One project per workspace; `npm test` runs them all, in band, because the real-engine tests share one engine.
export default {
  // pilot and factory join when they have code (issues 3 and 4).
  projects: ['<rootDir>/packages/mounter', '<rootDir>/test'],
};
