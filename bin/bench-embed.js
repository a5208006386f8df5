#!/usr/bin/env node
// npm run bench:embed: see bench/embed.ts.
import { register } from 'tsx/esm/api';

register();
await import('../bench/embed.ts');
