import { differential } from './differential.js';

differential('acorn');
