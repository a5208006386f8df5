/**
 * ganon's own native-backend paths (run by .ci/native.sh): the fused kernels of
 * src/backend/native-kernels.ts against the tfjs-core formulation, the conv-gradient
 * GEMM routes of src/backend/native-conv.ts against libtensorflow's own kernels,
 * Adam as ResourceApplyAdam (src/backend/native-adam.ts) against the tfjs formulation
 * and its state round trip, and the PyTorch training-math fixture on this backend.
 * Each checks that the tensor count stays flat.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeBackend } from '../../src/backend/native.js';
import { gemmRoute } from '../../src/backend/native-conv.js';
import { INSTANCE_NORM, LEAKY_RELU_GRAD, RELU_GRAD } from '../../src/backend/native-kernels.js';
import { instanceNorm, leakyRelu, relu } from '../../src/models/ops.js';
import type { TensorMap } from '../../src/io/safetensors.js';
import { fromTorchMap, Params, type ParamSpec } from '../../src/models/params.js';
import { Adam } from '../../src/train/adam.js';
import { checkTrainSmallParity } from '../helpers/train-parity.js';
import { maxAbsDiff, maxRelDiff, seededValues } from '../helpers/tensors.js';

const probe = await loadNativeBackend();
if (!probe.info) throw new Error('GANON_NATIVE_TESTS=1 but no native backend');

const data = async (t: tf.Tensor) => (await t.data()) as Float32Array;

/** Values and the gradient of sum(f(x) * dy) on one backend. */
async function valueAndGrad(backend: string, f: (x: tf.Tensor4D) => tf.Tensor4D, x: Float32Array, dy: Float32Array, shape: [number, number, number, number]) {
  await tf.setBackend(backend);
  const xt = tf.tensor4d(x, shape);
  const dyt = tf.tensor4d(dy, shape);
  const before = tf.memory().numTensors;
  const y = f(xt);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D), dyt)))(xt);
  const out = { y: await data(y), g: await data(g) };
  tf.dispose([y, g]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([xt, dyt]);
  return { ...out, leaked };
}

describe('native kernels (src/backend/native-kernels.ts)', () => {
  beforeAll(async () => { await tf.setBackend('tensorflow'); });
  afterAll(async () => { await tf.setBackend('wasm'); });

  it('are registered for the native backend only', async () => {
    for (const k of [INSTANCE_NORM, LEAKY_RELU_GRAD, RELU_GRAD]) {
      expect(tf.getKernel(k, 'tensorflow'), k).toBeDefined();
      expect(tf.getKernel(k, 'wasm'), k).toBeUndefined();
    }
  });

  it('LeakyReluGrad and ReluGrad give exactly dy * step(x) (zeros, negatives, positives)', async () => {
    await tf.setBackend('tensorflow');
    const n = 2 * 5 * 5 * 3;
    const xv = seededValues(n, 3).map((v, i) => (i % 7 === 0 ? 0 : v));
    const x = tf.tensor4d(xv, [2, 5, 5, 3]);
    const dy = tf.tensor4d(seededValues(n, 4), [2, 5, 5, 3]);
    for (const [f, alpha] of [[(a: tf.Tensor4D) => leakyRelu(a, 0.2), 0.2], [(a: tf.Tensor4D) => relu(a), 0]] as const) {
      const before = tf.memory().numTensors;
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D), dy)))(x);
      expect(tf.memory().numTensors).toBe(before + 1); // just g
      // tfjs-core's formulation on the same backend (in a tidy: tfjs-node's Step kernel leaves a tensor behind outside one)
      const want = tf.tidy(() => tf.mul(dy, tf.step(x, alpha)));
      expect(Array.from(await data(g))).toEqual(Array.from(await data(want)));
      tf.dispose([g, want]);
    }
    tf.dispose([x, dy]);
  });

  for (const shape of [[1, 16, 16, 8], [3, 8, 6, 5], [1, 2, 2, 4]] as [number, number, number, number][]) {
    it(`instance norm [${shape.join(', ')}]: values and gradient equal wasm's tf.moments formulation within 1e-5`, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = seededValues(n, 11).map((v, i) => v * 3 + (i % 5)); // non-zero means, varied scales
      const dy = seededValues(n, 12);
      const nat = await valueAndGrad('tensorflow', instanceNorm, x, dy, shape);
      const ref = await valueAndGrad('wasm', instanceNorm, x, dy, shape);
      expect(maxAbsDiff(nat.y, ref.y)).toBeLessThan(1e-5);
      expect(maxAbsDiff(nat.g, ref.g)).toBeLessThan(1e-5);
      expect(nat.leaked).toBe(0);
    });
  }
});

describe('conv-gradient GEMM routes (src/backend/native-conv.ts)', () => {
  const saved = { ...gemmRoute };
  beforeAll(async () => { await tf.setBackend('tensorflow'); });
  afterAll(async () => {
    Object.assign(gemmRoute, saved);
    await tf.setBackend('wasm');
  });

  type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
  const cases: { x: [number, number, number, number]; w: [number, number, number, number]; stride: number; pad: Pad }[] = [
    { x: [1, 2, 2, 16], w: [4, 4, 16, 8], stride: 2, pad: 'same' }, // the innermost pix2pix layer: one output pixel
    { x: [2, 8, 8, 16], w: [4, 4, 16, 32], stride: 2, pad: 'same' },
    { x: [1, 9, 7, 4], w: [4, 4, 4, 6], stride: 2, pad: 'same' }, // odd sides: asymmetric 'same' padding
    { x: [1, 10, 10, 4], w: [4, 4, 4, 6], stride: 2, pad: 'valid' },
    { x: [1, 9, 11, 4], w: [4, 4, 4, 6], stride: 2, pad: 'valid' }, // the last row and column are never read: zero dX there
    { x: [1, 6, 6, 4], w: [4, 4, 4, 3], stride: 1, pad: 'valid' },
    { x: [1, 7, 7, 4], w: [3, 3, 4, 3], stride: 1, pad: 'same' },
    { x: [1, 8, 8, 4], w: [6, 6, 4, 3], stride: 3, pad: 'same' },
    { x: [1, 6, 6, 8], w: [4, 4, 8, 6], stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] }, // explicit: dX by GEMM, dW by TensorFlow
    { x: [1, 7, 6, 8], w: [4, 4, 8, 6], stride: 2, pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
  ];
  for (const c of cases) {
    it(`x [${c.x.join(', ')}], w [${c.w.join(', ')}], stride ${c.stride} ${JSON.stringify(c.pad)}: dX, dW and conv2dTranspose equal TensorFlow's kernels to rounding`, async () => {
      const x = tf.tensor4d(seededValues(c.x.reduce((a, b) => a * b, 1), 21), c.x);
      const w = tf.tensor4d(seededValues(c.w.reduce((a, b) => a * b, 1), 22), c.w);
      const y0 = tf.conv2d(x, w, c.stride, c.pad);
      const dyv = seededValues(y0.size, 23);
      const dy = tf.tensor4d(dyv, y0.shape);
      const run = async (on: boolean) => {
        gemmRoute.minRatioInput = gemmRoute.minRatioFilter = on ? 0 : Infinity;
        const before = tf.memory().numTensors;
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)))([x, w]);
        const t = tf.conv2dTranspose(dy, w, c.x, c.stride, c.pad);
        const out = { gx: await data(gx!), gw: await data(gw!), t: await data(t) };
        tf.dispose([gx!, gw!, t]);
        expect(tf.memory().numTensors).toBe(before);
        return out;
      };
      const theirs = await run(false);
      const ours = await run(true);
      for (const k of ['gx', 'gw', 't'] as const) expect(maxRelDiff(ours[k], theirs[k]), k).toBeLessThan(1e-6);
      tf.dispose([x, w, y0, dy]);
    });
  }
});

describe('Adam as ResourceApplyAdam (src/backend/native-adam.ts)', () => {
  beforeAll(async () => { await tf.setBackend('tensorflow'); });
  afterAll(async () => { await tf.setBackend('wasm'); });

  const specs: ParamSpec[] = [
    { name: 'conv.weight', kind: 'conv', torchShape: [8, 4, 3, 3], fanIn: 36 },
    { name: 'conv.bias', kind: 'bias', torchShape: [8], fanIn: 36 },
  ];
  const init = (seed: number): TensorMap => new Map(specs.map((s, i) => {
    const n = s.torchShape.reduce((a, b) => a * b, 1);
    return [s.name, { shape: s.torchShape.slice(), data: seededValues(n, seed + i).map((v) => v * 0.1) }];
  }));
  const params = (m: TensorMap) => new Params(specs, fromTorchMap(m, 'test'));
  /** The same gradients every run: step t's for variable i from a seed. */
  function gradsFor(p: Params, t: number): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    specs.forEach((s, i) => {
      const v = p.get(s.name);
      out[v.name] = tf.tensor(seededValues(v.size, 100 * t + i).map((g) => g * (t % 3 === 0 ? 1e-3 : 1)), v.shape);
    });
    return out;
  }
  async function run(cfg: { weightDecay?: number }, nativeSlots: boolean, steps: number) {
    const p = params(init(5));
    const opt = new Adam(p, { lr: 1e-2, beta1: 0.5, beta2: 0.999, eps: 1e-8, ...cfg }, { nativeSlots });
    const before = tf.memory().numTensors;
    for (let t = 1; t <= steps; t++) {
      const g = gradsFor(p, t);
      opt.apply(g);
      tf.dispose(Object.values(g));
    }
    expect(tf.memory().numTensors).toBe(before);
    return { p, opt };
  }

  for (const weightDecay of [0, 0.05]) {
    it(`${weightDecay ? 'AdamW' : 'Adam'}: 12 steps equal the tfjs formulation to float32 rounding, m and v too`, async () => {
      const a = await run({ weightDecay }, true, 12);
      const b = await run({ weightDecay }, false, 12);
      const [pa, pb] = [await a.p.toTorch(), await b.p.toTorch()];
      const [sa, sb] = [await a.opt.stateTensors(''), await b.opt.stateTensors('')];
      for (const [k, v] of pb) {
        expect(maxAbsDiff(pa.get(k)!.data, v.data), k).toBeLessThan(1e-6);
        expect(maxAbsDiff(v.data, init(5).get(k)!.data), k).toBeGreaterThan(1e-2); // they moved
      }
      // v + (g^2 - v)(1 - b2) against b2 v + (1 - b2) g^2: rounding, relative to the largest v
      for (const [k, v] of sb) expect(maxRelDiff(sa.get(k)!.data, v.data), k).toBeLessThan(1e-4);
      for (const r of [a, b]) { r.opt.dispose(); r.p.dispose(); }
    });
  }

  it('state round trip: 4 steps, save, load into a new optimizer, 4 steps == 8 steps, bit for bit', async () => {
    const straight = await run({}, true, 8);
    const first = await run({}, true, 4);
    const state = await first.opt.stateTensors('opt.');
    const weights = await first.p.toTorch();
    first.opt.dispose();
    first.p.dispose();
    const p = params(weights);
    const opt = new Adam(p, { lr: 1e-2, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
    opt.loadState(state, 'opt.', 4, 'test');
    for (let t = 5; t <= 8; t++) {
      const g = gradsFor(p, t);
      opt.apply(g);
      tf.dispose(Object.values(g));
    }
    const [a, b] = [await p.toTorch(), await straight.p.toTorch()];
    for (const [k, v] of b) expect(Array.from(a.get(k)!.data), k).toEqual(Array.from(v.data));
    for (const r of [{ p, opt }, straight]) { r.opt.dispose(); r.p.dispose(); }
  });

  it('dispose releases its resource variables and handles', async () => {
    const before = tf.memory().numTensors;
    const p = params(init(1));
    const opt = new Adam(p, { lr: 1e-2, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
    const g = gradsFor(p, 1);
    opt.apply(g);
    tf.dispose(Object.values(g));
    opt.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('training math matches PyTorch on the native backend (test/fixtures/pix2pix/train_small)', () => {
  beforeAll(async () => { await tf.setBackend('tensorflow'); });
  afterAll(async () => { await tf.setBackend('wasm'); });
  it('losses of 3 steps, step-1 gradients and the final weights', async () => {
    await checkTrainSmallParity();
  });
});
