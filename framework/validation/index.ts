export { lazySchema, type Zod, zod } from './lazy-zod.ts';
