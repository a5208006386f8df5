#!/usr/bin/env node
// npm run bench: see bench/bench.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/bench.ts');
