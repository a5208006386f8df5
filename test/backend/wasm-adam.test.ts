/**
 * The wasm Adam kernel (src/backend/wasm-adam.ts), both its SIMD path and its chunked-op
 * path, against the tf-op formulation in src/train/adam.ts: bit-identical parameters and
 * moments, on wasm (the kernel unregistered for the reference) and against the op path
 * on tfjs-backend-cpu, over Adam and AdamW, both lerp branches, sizes that are not
 * multiples of 4, parameters larger than one chunk (with a partial last chunk), and
 * several steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_ELEMENTS, FUSED_ADAM_KERNEL, fusedAdam, registerWasmAdamKernel, setWasmAdamSimd } from '../../src/backend/wasm-adam.js';
import { Params, type ParamSpec } from '../../src/models/params.js';
import { Adam, type AdamConfig } from '../../src/train/adam.js';
import { seededValues } from '../helpers/tensors.js';

async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try { return await fn(); } finally { await tf.setBackend(prev); }
}

const specs: ParamSpec[] = [
  { name: 'conv.weight', kind: 'conv', torchShape: [6, 5, 4, 4], fanIn: 80 },
  { name: 'conv.bias', kind: 'bias', torchShape: [6], fanIn: 80 },
  { name: 'tiny.bias', kind: 'bias', torchShape: [3], fanIn: 80 }, // under one SIMD vector
  { name: 'lin.weight', kind: 'linear', torchShape: [7, 33], fanIn: 33 },
  // 2.3 chunks: a partial last chunk
  { name: 'big.weight', kind: 'conv', torchShape: [Math.ceil((2.3 * CHUNK_ELEMENTS) / 48), 3, 4, 4], fanIn: 48 },
];

/** Values with a wide dynamic range: large, tiny (subnormal squares), zeros and signs. */
function wide(n: number, seed: number): Float32Array {
  const v = seededValues(n, seed);
  for (let i = 0; i < n; i++) {
    const k = i % 5;
    v[i] = k === 0 ? v[i]! * 1e3 : k === 1 ? v[i]! * 1e-20 : k === 2 ? v[i]! * 1e-3 : k === 3 && i % 10 === 3 ? 0 : v[i]!;
  }
  return v;
}

/** Runs `steps` Adam updates with seeded gradients; returns p, m, v of every parameter. */
async function run(cfg: AdamConfig, steps: number, startStep = 0): Promise<Float32Array[]> {
  let s = 0;
  const p = new Params(specs, (spec) => wide(spec.torchShape.reduce((a, b) => a * b, 1), 100 + s++));
  const opt = new Adam(p, cfg);
  opt.step = startStep;
  for (let t = 0; t < steps; t++) {
    const grads: tf.NamedTensorMap = {};
    specs.forEach((spec, i) => {
      const v = p.get(spec.name);
      grads[v.name] = tf.tensor(wide(v.size, 1000 + 10 * t + i), v.shape);
    });
    opt.apply(grads);
    tf.dispose(Object.values(grads));
  }
  const out: Float32Array[] = [];
  for (const spec of specs) out.push((await p.get(spec.name).data()) as Float32Array);
  const state = await opt.stateTensors('');
  for (const spec of specs) out.push(state.get(`m.${spec.name}`)!.data, state.get(`v.${spec.name}`)!.data);
  opt.dispose();
  p.dispose();
  return out;
}

/** The same on wasm without the kernel (the op formulation). */
async function runOps(cfg: AdamConfig, steps: number, startStep = 0): Promise<Float32Array[]> {
  const k = getKernel(FUSED_ADAM_KERNEL, 'wasm')!;
  unregisterKernel(FUSED_ADAM_KERNEL, 'wasm');
  try { return await run(cfg, steps, startStep); } finally { registerKernel(k); }
}

function expectBitEqual(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i]!.length).toBe(b[i]!.length);
    const ua = new Uint32Array(a[i]!.buffer, a[i]!.byteOffset, a[i]!.length);
    const ub = new Uint32Array(b[i]!.buffer, b[i]!.byteOffset, b[i]!.length);
    let diff = 0;
    for (let j = 0; j < ua.length; j++) if (ua[j] !== ub[j]) diff++;
    expect(diff).toBe(0);
  }
}

const configs: [string, AdamConfig][] = [
  ['pix2pix Adam (beta1 0.5: lerp weight 0.5)', { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 }],
  ['ConvNeXt AdamW (beta1 0.9, weight decay)', { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 }],
  ['large lr, beta1 0.3 (lerp weight 0.7)', { lr: 0.1, beta1: 0.3, beta2: 0.9, eps: 1e-6, weightDecay: 0.05 }],
];

for (const simd of [true, false]) describe(`Adam kernel (wasm), ${simd ? 'SIMD' : 'chunked ops'}`, () => {
  beforeAll(() => setWasmAdamSimd(simd));
  afterAll(() => setWasmAdamSimd(true));

  it('is registered for wasm only', () => {
    expect(tf.getBackend()).toBe('wasm');
    registerWasmAdamKernel();
    expect(getKernel(FUSED_ADAM_KERNEL, 'wasm')?.kernelFunc).toBe(fusedAdam);
    expect(getKernel(FUSED_ADAM_KERNEL, 'cpu')).toBeUndefined();
  });

  it.each(configs)('is bit-identical to the op formulation on wasm and cpu: %s', async (_n, cfg) => {
    const fused = await run(cfg, 3);
    expectBitEqual(fused, await runOps(cfg, 3));
    expectBitEqual(fused, await onBackend('cpu', () => run(cfg, 3)));
  });

  it('is bit-identical at a late step (bias corrections near 1)', async () => {
    expectBitEqual(await run(configs[0]![1], 1, 1999), await runOps(configs[0]![1], 1, 1999));
  });

  it('rejects mismatched inputs and leaves no tensor or buffer behind', async () => {
    const p = tf.zeros([3, 4]);
    const g = tf.zeros([4, 3]);
    const attrs = { decay: 1, w: 0.5, beta2: 0.999, bc2Sqrt: 0.03, eps: 1e-8, stepSize: 1e-3 };
    const before = tf.memory();
    expect(() => tf.engine().runKernel(FUSED_ADAM_KERNEL, { p, g, m: p, v: p }, attrs as never)).toThrow(/one shape/);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    tf.dispose([p, g]);
    await run(configs[1]![1], 1); // warm-up
    const mid = tf.memory();
    await run(configs[1]![1], 2);
    const after = tf.memory();
    expect(after.numTensors).toBe(mid.numTensors);
    expect(after.numDataBuffers).toBe(mid.numDataBuffers);
    expect(after.numBytes).toBe(mid.numBytes);
  });
});
