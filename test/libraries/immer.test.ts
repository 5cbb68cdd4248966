import { differential } from './differential.js';

differential('immer');
