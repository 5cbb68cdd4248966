import { differential } from './differential.js';

differential('lodash');
