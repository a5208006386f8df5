// Entry of one embedder thread (src/eval/embed-pool.ts): TypeScript through tsx, as bin/ganon.js does.
import { register } from 'tsx/esm/api';

register();
await import('./embed-thread-main.ts');
