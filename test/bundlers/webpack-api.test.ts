// The fixture corpus through webpack and rspack (the webpack plugin and loader API): see corpus.ts.
import { corpusSuites } from './corpus.js';

corpusSuites('webpack', ['webpack', 'rspack']);
