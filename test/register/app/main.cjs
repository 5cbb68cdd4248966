// CommonJS entry: the main module and what it requires go through the hooks too.
const stepmark = require('stepmark');
const { audit } = require('./legacy.cjs');

stepmark
  .capture(() => audit({ id: 'c1' }))
  .then(({ result, trace }) =>
    console.log(JSON.stringify({ result, spans: trace.spans.map((s) => [s.name, s.location]) })),
  );
