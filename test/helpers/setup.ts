// Every test file runs on the wasm backend unless it switches on purpose.
import { beforeAll } from 'vitest';
import { initBackend } from '../../src/backend/index.js';

beforeAll(async () => {
  await initBackend(process.env.GANON_TEST_BACKEND ?? 'wasm');
});
