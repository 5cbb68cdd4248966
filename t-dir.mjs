import * as babel from '@babel/core';
import * as esbuild from 'esbuild';
import babelPlugin from 'stepmark/babel-plugin';
import stepmark from 'stepmark/esbuild-plugin';
import tr from 'stepmark/transformer';
import ts from 'typescript';

const cases = {
  const:
    'import x from "y";\nconst a = 1;\n// @stepmark\nconst limit = 2;\nexport function f() { return limit; }\n',
  expr: 'import x from "y";\nconst rate = 1;\n// @stepmark\nconsole.log(rate);\nexport function f() { return rate; }\n',
};
for (const [k, src] of Object.entries(cases)) {
  console.log('==', k);
  (await import('node:fs')).writeFileSync('/tmp/x/src/a.ts', src);
  try {
    const r = await esbuild.build({
      entryPoints: ['/tmp/x/src/a.ts'],
      write: false,
      bundle: false,
      plugins: [stepmark({ root: process.cwd(), prescan: false })],
      logLevel: 'silent',
    });
    console.log(
      'esbuild ok',
      r.warnings.map((w) => w.text),
    );
  } catch (e) {
    console.log(
      'esbuild err',
      e.errors?.map((x) => `${x.text} @${x.location?.file}:${x.location?.line}:${x.location?.column}`),
    );
  }
  try {
    babel.transformSync(src, {
      filename: 'src/a.ts',
      babelrc: false,
      configFile: false,
      plugins: [[babelPlugin, { root: process.cwd() }]],
      presets: ['@babel/preset-typescript'],
    });
    console.log('babel ok');
  } catch (e) {
    console.log('babel err', e.message.split('\n')[0]);
  }
  try {
    const o = ts.transpileModule(src, {
      fileName: 'src/a.ts',
      compilerOptions: { module: ts.ModuleKind.ESNext },
      reportDiagnostics: true,
      transformers: { before: [tr(undefined, { root: process.cwd() }, { ts })] },
    });
    console.log(
      'ts ok',
      o.diagnostics?.map((d) => d.messageText),
    );
  } catch (e) {
    console.log('ts err', e.message.split('\n')[0]);
  }
}
