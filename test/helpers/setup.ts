// Every test file runs on the wasm backend unless it switches on purpose.
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { initBackend } from '../../src/backend/index.js';

beforeAll(async () => {
  await initBackend(process.env.GANON_TEST_BACKEND ?? 'wasm');
});

// TF.js work is synchronous, and its `await t.data()` resolves as a microtask, so a file of
// long tests can run for minutes without the event loop ever polling the worker's IPC channel.
// vitest's RPC calls (onTaskUpdate) then time out after 60 s ("Timeout calling onTaskUpdate")
// although the main process answered at once. A real macrotask turn around every test lets
// the answers in.
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
beforeEach(turn);
afterEach(turn);
