/**
 * Adam on the native backend as one TensorFlow op per variable: the moments m
 * and v live in TensorFlow resource variables (VarHandleOp) that only
 * libtensorflow holds, and ResourceApplyAdam updates parameter, m and v in one
 * pass, in place. The tfjs-core formulation is 13 elementwise passes over each
 * tensor (0.65 s per step for the generator's 54 M parameters here; this: about
 * a third of that, docs/performance.md).
 *
 * TensorFlow's Adam is PyTorch's with the bias corrections moved:
 *   TF:      p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps')
 *   PyTorch: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * equal for eps' = eps * sqrt(1 - b2^t), which is what is passed. m and v are
 * computed as m + (g - m)(1 - b1) and v + (g^2 - v)(1 - b2). So the update is
 * PyTorch's up to float32 rounding, not bit for bit (tested: test/native).
 *
 * The parameter itself stays a tfjs variable: each step it is assigned to its
 * resource variable (sharing the buffer, so TensorFlow copies it once before
 * updating) and read back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { threadId } from 'node:worker_threads';
import type { NodeBackendLike, OpAttr } from './native-kernels.js';

export interface AdamHyper { lr: number; beta1: number; beta2: number; eps: number; step: number; decay: number }

let counter = 0;

function nativeBackend(): NodeBackendLike | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const be = tf.backend() as unknown as Partial<NodeBackendLike>;
  return typeof be.executeMultipleOutputs === 'function' && be.binding !== undefined ? be as NodeBackendLike : null;
}

interface Slots { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor }

export class NativeAdamSlots {
  private readonly slots = new Map<string, Slots>();
  private readonly dtypeAttr: OpAttr;

  /** Slots for these variables when the active backend is the native one, else null. */
  static create(vars: { name: string; shape: number[] }[]): NativeAdamSlots | null {
    const be = nativeBackend();
    return be === null ? null : new NativeAdamSlots(be, vars);
  }

  private constructor(private readonly be: NodeBackendLike, vars: { name: string; shape: number[] }[]) {
    const b = be.binding;
    this.dtypeAttr = { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
    const id = `ganon-adam-${process.pid}-${threadId}-${++counter}`; // unique per optimizer, thread and process
    for (const { name, shape } of vars) {
      const handle = (kind: string) => be.executeSingleOutput('VarHandleOp', [
        { name: 'container', type: b.TF_ATTR_STRING, value: '' },
        { name: 'shared_name', type: b.TF_ATTR_STRING, value: `${id}/${kind}/${name}` },
        this.dtypeAttr,
        { name: 'shape', type: b.TF_ATTR_SHAPE, value: shape },
      ], []);
      const s: Slots = { p: handle('p'), m: handle('m'), v: handle('v') };
      this.slots.set(name, s);
      for (const kind of ['m', 'v'] as const) {
        const z = tf.zeros(shape);
        this.assign(s[kind], z);
        z.dispose(); // the resource variable now holds the only reference: updated in place
      }
    }
  }

  private assign(handle: tf.Tensor, value: tf.Tensor): void {
    this.be.executeMultipleOutputs('AssignVariableOp', [this.dtypeAttr], [handle, value], 0);
  }

  private slot(name: string): Slots {
    const s = this.slots.get(name);
    if (s === undefined) throw new Error(`no Adam state for '${name}'`);
    return s;
  }

  /** One Adam step: each `p` (a tfjs variable) updated from its `g` and gets the new value. */
  apply(updates: { name: string; p: tf.Variable; g: tf.Tensor }[], h: AdamHyper): void {
    const b = this.be.binding;
    const attrs = [
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false },
      { name: 'use_nesterov', type: b.TF_ATTR_BOOL, value: false },
    ];
    // beta1^t, beta2^t, lr, beta1, beta2, epsilon: the same for every variable of the step
    const scalars = [h.beta1 ** h.step, h.beta2 ** h.step, h.lr, h.beta1, h.beta2, h.eps * Math.sqrt(1 - h.beta2 ** h.step)].map((x) => tf.scalar(x));
    try {
      for (const { name, p, g } of updates) {
        const s = this.slot(name);
        if (h.decay !== 1) {
          const decayed = tf.mul(p, h.decay);
          this.assign(s.p, decayed);
          decayed.dispose();
        } else {
          this.assign(s.p, p);
        }
        this.be.executeMultipleOutputs('ResourceApplyAdam', attrs, [s.p, s.m, s.v, ...scalars, g], 0);
        const next = this.be.executeSingleOutput('ReadVariableOp', [this.dtypeAttr], [s.p]);
        p.assign(next);
        next.dispose();
      }
    } finally {
      tf.dispose(scalars);
    }
  }

  /** The current m or v of `name` (a new tensor; caller disposes). */
  read(name: string, kind: 'm' | 'v'): tf.Tensor {
    return this.be.executeSingleOutput('ReadVariableOp', [this.dtypeAttr], [this.slot(name)[kind]]);
  }

  /** Sets m or v of `name` (the caller may dispose `value` afterwards). */
  write(name: string, kind: 'm' | 'v', value: tf.Tensor): void {
    this.assign(this.slot(name)[kind], value);
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      for (const h of [s.p, s.m, s.v]) {
        this.be.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: this.be.binding.TF_ATTR_BOOL, value: true }], [h], 0);
        h.dispose();
      }
    }
    this.slots.clear();
  }
}
