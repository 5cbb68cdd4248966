// The fixture corpus through webpack and rspack 2 and 1 (the webpack plugin and loader API): see corpus.ts.
import { corpusSuites } from './corpus.js';

corpusSuites('webpack', ['webpack', 'rspack', 'rspack-v1']);
