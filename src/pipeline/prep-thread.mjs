// Entry of the face-finding thread (src/pipeline/prep-thread.ts): TypeScript through tsx, as bin/ganon.js does.
import { register } from 'tsx/esm/api';

register();
await import('./prep-thread-main.ts');
