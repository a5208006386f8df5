#!/usr/bin/env node
// npm run bench:pipeline: see bench/pipeline.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/pipeline.ts');
