// Entry of the generator's peer thread (src/pipeline/split-generator.ts): TypeScript through tsx, as bin/ganon.js does.
import { register } from 'tsx/esm/api';

register();
await import('./split-generator-main.ts');
