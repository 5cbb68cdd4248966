import { differential } from './differential.js';

differential('date-fns');
