// The fixture corpus through Rollup and rolldown (the Rollup plugin API): see corpus.ts.
import { corpusSuites } from './corpus.js';

corpusSuites('rolldown', ['rollup', 'rolldown']);
