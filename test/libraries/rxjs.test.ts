import { differential } from './differential.js';

differential('rxjs');
