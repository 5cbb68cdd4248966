import * as stepmark from 'stepmark';
import { greet } from './loaded.js';

const { result, trace } = await stepmark.capture(() => greet());
console.log(JSON.stringify({ result, spans: trace.spans.map((s) => [s.name, s.location]) }));
