// One project per workspace; `npm test` runs them all, in band, because the real-engine tests share one engine.
export default {
  projects: [
    '<rootDir>/packages/cli-kit',
    '<rootDir>/packages/mounter',
    '<rootDir>/packages/pilot',
    '<rootDir>/packages/factory',
    '<rootDir>/test',
  ],
};
