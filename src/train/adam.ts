/**
 * Adam with PyTorch's exact update (torch.optim.Adam, weight_decay=0, amsgrad=False):
 *   m <- lerp(m, g, 1 - beta1);  v <- beta2 v + (1 - beta2) g^2
 *   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * (tf.train.adam puts eps inside the bias correction, so it differs slightly.)
 * State is plain: step count plus m and v per variable, so checkpoints resume exactly.
 *
 * With `weightDecay` > 0 it is torch.optim.AdamW (decoupled decay): first
 * p <- p * (1 - lr * weight_decay), then the Adam step above with the same lr.
 *
 * Created while the native backend is active, m and v live in TensorFlow resource
 * variables and each update is one ResourceApplyAdam op (src/backend/native-adam.ts:
 * the same update up to float32 rounding, about 3x faster). Elsewhere they are tfjs
 * variables, updated bit for bit as PyTorch does (one SIMD kernel on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NativeAdamSlots } from '../backend/native-adam.js';
import { FUSED_ADAM_KERNEL, type FusedAdamAttrs } from '../backend/wasm-adam.js';
import { ModelLoadError } from '../errors.js';
import type { TensorMap } from '../io/safetensors.js';
import { tfShape, tfToTorch, torchToTf, type Params } from '../models/params.js';

export interface AdamConfig { lr: number; beta1: number; beta2: number; eps: number; weightDecay?: number }

export class Adam {
  step = 0;
  /** The current learning rate (schedulers change it; starts at cfg.lr). */
  lr: number;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly native: NativeAdamSlots | null;

  /** `nativeSlots: false` keeps the tfjs formulation on the native backend too (tests compare the two). */
  constructor(readonly params: Params, readonly cfg: AdamConfig, opts: { nativeSlots?: boolean } = {}) {
    this.lr = cfg.lr;
    this.native = opts.nativeSlots === false ? null : NativeAdamSlots.create(params.specs.map((spec) => ({ name: spec.name, shape: tfShape(spec) })));
    if (this.native !== null) return;
    for (const spec of params.specs) {
      const shape = tfShape(spec);
      // tidy: the zeros themselves would otherwise stay alive (and keep the buffers
      // after dispose()); variables survive tidy.
      this.m.set(spec.name, tf.tidy(() => tf.variable(tf.zeros(shape), false)));
      this.v.set(spec.name, tf.tidy(() => tf.variable(tf.zeros(shape), false)));
    }
  }

  /** Applies one update from gradients keyed by variable name (tf.variableGrads output). */
  apply(grads: tf.NamedTensorMap): void {
    this.step += 1;
    const { beta1, beta2, eps } = this.cfg;
    const lr = this.lr;
    const decay = 1 - lr * (this.cfg.weightDecay ?? 0);
    if (this.native !== null) {
      const updates: { name: string; p: tf.Variable; g: tf.Tensor }[] = [];
      for (const spec of this.params.specs) {
        const p = this.params.get(spec.name);
        const g = grads[p.name];
        if (g !== undefined) updates.push({ name: spec.name, p, g }); // else no gradient reached this variable
      }
      this.native.apply(updates, { lr, beta1, beta2, eps, step: this.step, decay });
      return;
    }
    const bc1 = 1 - beta1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    const stepSize = lr / bc1;
    const w = 1 - beta1;
    // Where the backend has it (wasm), the same operations as one kernel that runs them
    // on cache-sized chunks: bit-identical results (src/backend/wasm-adam.ts).
    const fused = tf.getKernel(FUSED_ADAM_KERNEL, tf.getBackend()) !== undefined;
    const attrs: FusedAdamAttrs = { decay, w, beta2, bc2Sqrt, eps, stepSize };
    for (const spec of this.params.specs) {
      const p = this.params.get(spec.name);
      const g = grads[p.name];
      if (g === undefined) continue; // no gradient reached this variable
      const m = this.m.get(spec.name)!;
      const v = this.v.get(spec.name)!;
      if (fused && g.dtype === 'float32' && g.shape.join() === p.shape.join()) {
        const [p2, m2, v2] = tf.engine().runKernel(FUSED_ADAM_KERNEL, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        p.assign(p2!);
        m.assign(m2!);
        v.assign(v2!);
        tf.dispose([p2!, m2!, v2!]);
        continue;
      }
      tf.tidy(() => {
        const p0 = decay !== 1 ? tf.mul(p, decay) : p;
        // torch.lerp: weight >= 0.5 uses end - (end - start) * (1 - weight)
        const m2 = w < 0.5 ? tf.add(m, tf.mul(tf.sub(g, m), w)) : tf.sub(g, tf.mul(tf.sub(g, m), 1 - w));
        const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v2), bc2Sqrt), eps);
        p.assign(tf.sub(p0, tf.mul(tf.div(m2, denom), stepSize)));
        m.assign(m2);
        v.assign(v2);
      });
    }
  }

  /** State in PyTorch layouts: `m.<name>`, `v.<name>`; the step count goes in JSON. */
  async stateTensors(prefix: string): Promise<TensorMap> {
    const out: TensorMap = new Map();
    for (const spec of this.params.specs) {
      for (const [kind, store] of [['m', this.m], ['v', this.v]] as const) {
        const t = this.native !== null ? this.native.read(spec.name, kind) : store.get(spec.name)!;
        let data: Float32Array;
        try {
          data = (await t.data()) as Float32Array;
        } finally {
          if (this.native !== null) t.dispose();
        }
        out.set(`${prefix}${kind}.${spec.name}`, { shape: spec.torchShape.slice(), data: tfToTorch(spec, data) });
      }
    }
    return out;
  }

  loadState(map: TensorMap, prefix: string, step: number, source: string): void {
    for (const spec of this.params.specs) {
      for (const [kind, store] of [['m', this.m], ['v', this.v]] as const) {
        const t = map.get(`${prefix}${kind}.${spec.name}`);
        if (t === undefined) throw new ModelLoadError(`${source}: missing optimizer tensor '${prefix}${kind}.${spec.name}'`);
        const value = tf.tensor(torchToTf(spec, t.data), tfShape(spec));
        if (this.native !== null) this.native.write(spec.name, kind, value);
        else store.get(spec.name)!.assign(value);
        value.dispose();
      }
    }
    this.step = step;
  }

  dispose(): void {
    this.native?.dispose();
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
