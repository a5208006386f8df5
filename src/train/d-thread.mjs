// Entry of the discriminator thread (src/train/d-thread.ts): TypeScript through tsx, as bin/ganon.js does.
import { register } from 'tsx/esm/api';

register();
await import('./d-thread-main.ts');
