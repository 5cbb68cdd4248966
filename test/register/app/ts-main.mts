// pricing.ts loaded through a TypeScript loader (tsx) on any Node.
import * as stepmark from 'stepmark';
import { discount } from './pricing.ts';

const { result, trace } = await stepmark.capture(() => discount({ id: 'o1', total: 150 }));
console.log(JSON.stringify({ result, spans: trace.spans.map((s) => [s.name, s.location]) }));
