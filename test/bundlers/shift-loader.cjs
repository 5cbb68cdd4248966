// A loader that changes a module before stepmark's sees it: one comment line first, with the map
// of that edit, so the test can check that stepmark chains an input source map.
const MagicString = require('magic-string').default ?? require('magic-string');

module.exports = function shiftLoader(source) {
  const ms = new MagicString(source);
  ms.prepend('// shifted\n');
  this.callback(
    null,
    ms.toString(),
    ms.generateMap({ source: this.resourcePath, includeContent: true, hires: true }),
  );
};
