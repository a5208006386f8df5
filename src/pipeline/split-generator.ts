/**
 * The generator on two threads for one image at a time (wasm and cpu run one
 * thread per TF.js engine): this thread computes the first half of every
 * layer's channels and a peer thread, with its own engine and a copy of the
 * weights, the second half (src/models/unet-split.ts); the halves are swapped
 * after each layer. Same output as unetForward, about 1.7x faster on 2 cores
 * (docs/performance.md). Used by `ganon anonymize` when it runs as one process.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Worker } from 'node:worker_threads';
import { canSplitUNet, splitUNetWeights, splitWeightData, unetForwardSplit, type HalfExchange } from '../models/unet-split.js';
import type { Params } from '../models/params.js';
import type { UNetConfig } from '../models/unet.js';

export interface SplitGenerator {
  /** Eval-mode forward of x (caller disposes the result). One call at a time. */
  forward(x: tf.Tensor4D): Promise<tf.Tensor4D>;
  close(): Promise<void>;
}

interface Msg { type: string; id?: number; step?: number; data?: Float32Array; message?: string }

const ENTRY = new URL('./split-generator.mjs', import.meta.url);

export { canSplitUNet };

/**
 * Starts the peer thread (its engine loads while the caller loads the weights): `attach`
 * then sends it its half of the weights, in TF layout (no permutation on either side).
 */
export function spawnSplitPeer(backend: string): { attach(p: Params, cfg: UNetConfig): Promise<SplitGenerator>; close(): Promise<void> } {
  const worker = new Worker(ENTRY);
  worker.postMessage({ type: 'init', backend });
  return {
    attach: (p, cfg) => attachPeer(worker, p, cfg),
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

/** Starts the peer thread with its half of the weights (about 1-2 s). */
export async function startSplitGenerator(p: Params, cfg: UNetConfig, backend: string): Promise<SplitGenerator> {
  return spawnSplitPeer(backend).attach(p, cfg);
}

async function attachPeer(worker: Worker, p: Params, cfg: UNetConfig): Promise<SplitGenerator> {
  const inbox = new Map<string, Float32Array>();
  const waiting = new Map<string, (d: Float32Array) => void>();
  let failure: ((e: Error) => void) | null = null;
  let ready: (v: null | Error) => void = () => {};
  const readyP = new Promise<null | Error>((r) => { ready = r; });
  const fail = (message: string) => {
    ready(new Error(message));
    failure?.(new Error(`generator thread: ${message}`));
  };
  worker.on('message', (m: Msg) => {
    if (m.type === 'ready') ready(null);
    else if (m.type === 'error') fail(m.message ?? 'failed');
    else if (m.type === 'half') {
      const key = `${m.id}:${m.step}`;
      const w = waiting.get(key);
      if (w) { waiting.delete(key); w(m.data!); } else inbox.set(key, m.data!);
    }
  });
  worker.on('error', (e) => fail(e.message));
  worker.on('exit', (code) => fail(`exited (code ${code})`));
  const w1 = splitUNetWeights(p, cfg, 1);
  const half = await splitWeightData(w1);
  w1.dispose();
  worker.postMessage({ type: 'weights', cfg, half }, half.tensors.map((t) => t.data.buffer as ArrayBuffer));
  const r = await readyP;
  if (r) {
    await worker.terminate();
    throw r;
  }
  const w0 = splitUNetWeights(p, cfg, 0);
  let nextId = 1;
  return {
    async forward(x) {
      const id = nextId++;
      const ex: HalfExchange = {
        exchange(step, mine) {
          worker.postMessage({ type: 'half', id, step, data: mine }, [mine.buffer as ArrayBuffer]);
          const key = `${id}:${step}`;
          const got = inbox.get(key);
          if (got) { inbox.delete(key); return Promise.resolve(got); }
          return new Promise((resolve, reject) => {
            waiting.set(key, resolve);
            failure = reject;
          });
        },
      };
      worker.postMessage({ type: 'forward', id, x: x.dataSync(), shape: x.shape });
      const y = await unetForwardSplit(w0, cfg, x, ex);
      failure = null;
      return y!;
    },
    async close() {
      w0.dispose();
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
