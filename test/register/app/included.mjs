// Selected by options only: STEPMARK_OPTIONS / stepmark.config.json "include": ["unmarked.js"].
import * as stepmark from 'stepmark';
import { boom, helper } from './unmarked.js';

const { trace } = await stepmark.capture(() => helper(1));
let stack = '';
try {
  boom();
} catch (e) {
  stack = e.stack;
}
console.log(
  JSON.stringify({
    spans: trace.spans.map((s) => [s.name, s.location ?? null]),
    at: /unmarked\.js:(\d+):(\d+)/.exec(stack)?.slice(1),
  }),
);
