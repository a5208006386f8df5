/**
 * The discriminator step on a second thread (wasm and cpu run one thread per
 * TF.js engine): with `discriminatorFake: reuse` (the default), the D step
 * needs only the G step's fake, the batch and D as it was before the step, so
 * it can run while the main thread back-propagates the G loss. The thread owns
 * a copy of D and D's Adam state; after each D step it sends D's new weights
 * back and the main thread assigns them to its own copy of D (the G loss of
 * the next step needs it). Every number is the one-thread step's: the same
 * kernels on the same inputs in the same order (tested bit for bit, over
 * steps, checkpoints and resume).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorMap } from '../io/safetensors.js';
import { tfShape, type Params } from '../models/params.js';
import type { PatchGanConfig } from '../models/patchgan.js';
import { Thread, type ThreadReply } from '../util/thread.js';
import type { AdamConfig } from './adam.js';

interface Reply extends ThreadReply { loss?: number; params?: Float32Array[]; state?: TensorMap }

const ENTRY = new URL('./d-thread-main.ts', import.meta.url);

/** The D optimizer's surface the training loop uses (a local Adam has it too). */
export interface DOptimizer {
  readonly step: number;
  stateTensors(prefix: string): Promise<TensorMap>;
  loadState(map: TensorMap, prefix: string, step: number, source: string): void | Promise<void>;
  dispose(): void;
}

export class RemoteD implements DOptimizer {
  step = 0;
  private pending: Promise<Reply> | null = null;

  private constructor(private readonly thread: Thread<Reply>, private readonly D: Params) {}

  /** Starts the thread with D's current weights and a fresh Adam (about 1-2 s). */
  static async start(D: Params, dCfg: PatchGanConfig, adam: AdamConfig, backend: string): Promise<RemoteD> {
    const thread = new Thread<Reply>(ENTRY);
    const r = await thread.call({ type: 'init', backend, dCfg, adam, weights: await D.toTorch() });
    if (r.error) {
      await thread.terminate();
      throw new Error(`discriminator thread: ${r.error.message}`);
    }
    return new RemoteD(thread, D);
  }

  /** Starts the D step on the fake (synchronous: call it inside the G step). */
  post(fake: Float32Array, real: Float32Array, cond: Float32Array, shape: number[]): void {
    if (this.pending) throw new Error('discriminator thread: a D step is already running');
    this.pending = this.thread.call({ type: 'step', fake, real, cond, shape });
  }

  /** Waits for the D step, puts D's new weights into the main thread's D, returns loss_D. */
  async finish(): Promise<number> {
    const p = this.pending;
    if (!p) throw new Error('discriminator thread: no D step was started');
    this.pending = null;
    const r = await p;
    if (r.error) throw new Error(`discriminator thread: ${r.error.message}`);
    this.step += 1;
    tf.tidy(() => {
      this.D.specs.forEach((spec, i) => this.D.get(spec.name).assign(tf.tensor(r.params![i]!, tfShape(spec))));
    });
    return r.loss!;
  }

  async stateTensors(prefix: string): Promise<TensorMap> {
    const r = await this.thread.call({ type: 'state', prefix });
    if (r.error) throw new Error(`discriminator thread: ${r.error.message}`);
    return r.state!;
  }

  async loadState(map: TensorMap, prefix: string, step: number, source: string): Promise<void> {
    const mine: TensorMap = new Map([...map].filter(([k]) => k.startsWith(prefix)));
    const r = await this.thread.call({ type: 'loadState', map: mine, prefix, step, source, weights: await this.D.toTorch() });
    if (r.error) throw new Error(r.error.message);
    this.step = step;
  }

  dispose(): void {
    void this.thread.terminate();
  }
}
