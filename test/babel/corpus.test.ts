// The shared fixture corpus through the Babel plugin: Babel 8 emitting ESM and Babel 7
// emitting CommonJS (both with preset-typescript), and both majors without preset-typescript
// on the plain-JavaScript fixtures.
import { runCorpus } from '../corpus/harness.js';
import { compileWith } from './compile.js';

runCorpus({
  label: 'babel8-esm',
  moduleFormat: 'esm',
  compile: (source, filename, options) =>
    compileWith({ major: 8, moduleFormat: 'esm' }, source, filename, options),
});

runCorpus({
  label: 'babel7-cjs',
  moduleFormat: 'cjs',
  compile: (source, filename, options) =>
    compileWith({ major: 7, moduleFormat: 'cjs' }, source, filename, options),
});

runCorpus({
  label: 'babel8-cjs-js',
  moduleFormat: 'cjs',
  filter: (f) => f.endsWith('.js'),
  compile: (source, filename, options) =>
    compileWith({ major: 8, moduleFormat: 'cjs', typescript: false }, source, filename, options),
});

runCorpus({
  label: 'babel7-esm-js',
  moduleFormat: 'esm',
  filter: (f) => f.endsWith('.js'),
  compile: (source, filename, options) =>
    compileWith({ major: 7, moduleFormat: 'esm', typescript: false }, source, filename, options),
});
