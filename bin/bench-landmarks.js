#!/usr/bin/env node
// npm run bench:landmarks: see bench/landmarks.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/landmarks.ts');
