// A TypeScript loader for the webpack tests, as esbuild-loader or ts-loader would be in a user's
// build: esbuild compiles TS (and lowers standard decorators for Node 20), and the map it makes
// is chained onto the map of the loader before it (stepmark's), as a well-behaved loader does.
const esbuild = require('esbuild');
const remapping = require('@jridgewell/remapping');

module.exports = function tsLoader(source, inputMap) {
  const file = this.resourcePath;
  const result = esbuild.transformSync(source, {
    loader: /\.[cm]?ts$/.test(file) ? 'ts' : 'js',
    format: 'esm',
    target: 'node20',
    sourcemap: this.sourceMap ? 'external' : false,
    sourcefile: file,
  });
  if (!this.sourceMap || !result.map) return this.callback(null, result.code);
  const map = JSON.parse(result.map);
  if (!inputMap) return this.callback(null, result.code, map);
  const input = typeof inputMap === 'string' ? JSON.parse(inputMap) : inputMap;
  // esbuild's map points at the text it was given: continue from there through the input map.
  this.callback(
    null,
    result.code,
    remapping([map, input], () => null),
  );
};
