import { differential } from './differential.js';

differential('zod');
