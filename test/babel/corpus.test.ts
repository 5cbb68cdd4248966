// The shared fixture corpus through the Babel plugin: Babel 8 emitting ESM and Babel 7
// emitting CommonJS (both with preset-typescript, the decorators plugin and a plugin of unknown
// effect in the same pass), and both majors without preset-typescript on the plain-JavaScript
// fixtures. A plugin of unknown effect is not passive, so those runs take the plugin's general
// path (frames written at once, then walked by the other plugins); the "-passive" runs have only
// passive plugins in the pass and take the shared traversal with frames written at
// Program.exit (docs/BABEL.md), on every fixture but the decorators one. "-decorators" has the
// decorators plugin alone beside the preset: passive for a file without decorators, so each
// fixture takes the path its own content calls for.
import type { StepmarkOptions } from '../../instrument/index.js';
import { runCorpus } from '../corpus/harness.js';
import {
  type BabelSetup,
  compileWith,
  decoratorsPlugin,
  decoratorsSyntax,
  generalPathPlugin,
} from './compile.js';

const compile = (setup: BabelSetup) => (source: string, filename: string, options: StepmarkOptions | null) =>
  compileWith(
    { ...setup, plugins: [decoratorsPlugin(setup.major), generalPathPlugin()] },
    source,
    filename,
    options,
  );

runCorpus({ label: 'babel8-esm', moduleFormat: 'esm', compile: compile({ major: 8, moduleFormat: 'esm' }) });

runCorpus({ label: 'babel7-cjs', moduleFormat: 'cjs', compile: compile({ major: 7, moduleFormat: 'cjs' }) });

runCorpus({
  label: 'babel8-esm-decorators',
  moduleFormat: 'esm',
  compile: (source, filename, options) =>
    compileWith({ major: 8, moduleFormat: 'esm', plugins: [decoratorsPlugin(8)] }, source, filename, options),
});

const withoutDecorators = (f: string) => f !== 'decorators.ts';
const passive = (setup: BabelSetup) => (source: string, filename: string, options: StepmarkOptions | null) =>
  compileWith(setup, source, filename, options);

runCorpus({
  label: 'babel8-esm-passive',
  moduleFormat: 'esm',
  filter: withoutDecorators,
  compile: passive({ major: 8, moduleFormat: 'esm' }),
});

runCorpus({
  label: 'babel7-cjs-passive',
  moduleFormat: 'cjs',
  filter: withoutDecorators,
  compile: passive({ major: 7, moduleFormat: 'cjs' }),
});

runCorpus({
  label: 'babel8-cjs-js',
  moduleFormat: 'cjs',
  filter: (f) => f.endsWith('.js'),
  compile: compile({ major: 8, moduleFormat: 'cjs', typescript: false }),
});

runCorpus({
  label: 'babel7-esm-js',
  moduleFormat: 'esm',
  filter: (f) => f.endsWith('.js'),
  compile: compile({ major: 7, moduleFormat: 'esm', typescript: false }),
});

// Idempotence on every construct: the instrumented output of a first pass (TypeScript
// stripped, decorators kept) goes through the plugin again, with decorators lowered in that
// second pass, and must behave and trace exactly the same.
runCorpus({
  label: 'babel8-twice',
  moduleFormat: 'esm',
  // Its second pass reads the first pass's output, where TypeScript's enum and namespace
  // functions are already written out: input code, which callbacks: true instruments.
  filter: (f) => f !== 'compiled-helpers.ts',
  compile: async (source, filename, options) => {
    const once = await compileWith(
      { major: 8, moduleFormat: 'esm', plugins: [decoratorsSyntax()] },
      source,
      filename,
      options,
    );
    return compile({ major: 8, moduleFormat: 'esm', typescript: false })(once.code, filename, options);
  },
});
