#!/usr/bin/env node
// npm run bench:classifier: see bench/classifier.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/classifier.ts');
