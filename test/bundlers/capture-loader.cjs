// Records the text each module has after the loaders before it (stepmark's pre-loader), into the
// store named by its `store` option, and passes it on unchanged: what the tests compare with the
// esbuild plugin's output for the same file.
const STORES = Symbol.for('stepmark.test.captured-modules');

module.exports = function captureLoader(source, map, meta) {
  const { store } = this.getOptions();
  globalThis[STORES] ??= new Map();
  if (!globalThis[STORES].has(store)) globalThis[STORES].set(store, new Map());
  globalThis[STORES].get(store).set(this.resourcePath, source);
  this.callback(null, source, map, meta);
};
