// Two Jest projects run the same tests against the same instrumented sources
// (../order-service/src, every file marked `// @stepmark`): one transforms TypeScript with
// babel-jest and stepmark/babel-plugin, the other with ts-jest and stepmark/transformer. Both
// register the stepmark matchers from a setup file.
const common = {
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  testEnvironment: 'node',
  setupFilesAfterEnv: ['stepmark/testing/jest'],
  // the sources import './fraud.js' (ESM style): resolve that to fraud.ts
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'babel-jest',
      transform: { '\\.ts$': ['babel-jest', { configFile: `${__dirname}/babel.config.cjs` }] },
    },
    {
      ...common,
      displayName: 'ts-jest',
      transform: {
        '\\.ts$': [
          'ts-jest',
          {
            tsconfig: `${__dirname}/tsconfig.json`,
            // resolved here: ts-jest resolves a bare name from its own folder, not from this project
            astTransformers: { before: [require.resolve('stepmark/transformer')] },
          },
        ],
      },
    },
  ],
};
