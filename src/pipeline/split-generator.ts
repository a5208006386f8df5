/**
 * The generator on two threads for one image at a time (wasm and cpu run one
 * thread per TF.js engine): this thread computes the first half of every
 * layer's channels and a peer thread, with its own engine and a copy of the
 * weights, the second half (src/models/unet-split.ts); the halves are swapped
 * after each layer. Same output as unetForward, about 1.7x faster on 2 cores
 * (docs/performance.md). Used by `ganon anonymize` when it runs as one process.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../util/thread.js';
import { canSplitUNet, splitUNetWeights, splitWeightData, unetForwardSplit, type HalfExchange } from '../models/unet-split.js';
import type { Params } from '../models/params.js';
import type { UNetConfig } from '../models/unet.js';

export interface SplitGenerator {
  /** Eval-mode forward of x (caller disposes the result). One call at a time. */
  forward(x: tf.Tensor4D): Promise<tf.Tensor4D>;
  close(): Promise<void>;
}

interface Msg { type: string; id?: number; step?: number; data?: Float32Array; message?: string }

const PEER = new URL('./split-generator-main.ts', import.meta.url);

/**
 * The halves in flight between the two parts (both sides use one): what the other side
 * posted, by forward id and layer, and the calls waiting for it.
 */
export class HalfMailbox {
  private readonly inbox = new Map<string, Float32Array>();
  private readonly waiting = new Map<string, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();

  constructor(private readonly post: (msg: unknown, transfer: ArrayBuffer[]) => void) {}

  /** A half the other side posted. */
  deliver(id: number, step: number, data: Float32Array): void {
    const key = `${id}:${step}`;
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      w.resolve(data);
    } else this.inbox.set(key, data);
  }

  /** The exchange of forward `id`: posts this side's half (moved, not copied) and waits for the other's. */
  exchange(id: number): HalfExchange {
    return {
      exchange: (step, mine) => {
        this.post({ type: 'half', id, step, data: mine }, [mine.buffer as ArrayBuffer]);
        const key = `${id}:${step}`;
        const got = this.inbox.get(key);
        if (got) {
          this.inbox.delete(key);
          return Promise.resolve(got);
        }
        return new Promise((resolve, reject) => this.waiting.set(key, { resolve, reject }));
      },
    };
  }

  /** Every waiting exchange fails with `e` (the other side is gone). */
  failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

export { canSplitUNet };

/**
 * Starts the peer thread (its engine loads while the caller loads the weights): `attach`
 * then sends it its half of the weights, in TF layout (no permutation on either side).
 */
export function spawnSplitPeer(backend: string): { attach(p: Params, cfg: UNetConfig): Promise<SplitGenerator>; close(): Promise<void> } {
  const worker = startThread(PEER);
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
  const mail = new HalfMailbox((msg, transfer) => worker.postMessage(msg, transfer));
  let ready: (v: null | Error) => void = () => {};
  const readyP = new Promise<null | Error>((r) => { ready = r; });
  const fail = (message: string) => {
    ready(new Error(message));
    mail.failAll(new Error(`generator thread: ${message}`));
  };
  worker.on('message', (m: Msg) => {
    if (m.type === 'ready') ready(null);
    else if (m.type === 'error') fail(m.message ?? 'failed');
    else if (m.type === 'half') mail.deliver(m.id!, m.step!, m.data!);
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
      worker.postMessage({ type: 'forward', id, x: x.dataSync(), shape: x.shape });
      return (await unetForwardSplit(w0, cfg, x, mail.exchange(id)))!;
    },
    async close() {
      w0.dispose();
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
