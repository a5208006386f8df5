// Entry of every worker thread of the toolkit (src/util/thread.ts): TypeScript through tsx, as
// bin/ganon.js does, then the thread's own module (workerData.module, a file URL).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.module);
