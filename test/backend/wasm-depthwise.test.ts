/**
 * The wasm depthwise-conv gradient kernels (src/backend/wasm-depthwise.ts) against
 * tfjs-backend-cpu's kernels, the reference implementation: through tf.grads of
 * tf.depthwiseConv2d, and directly through the two kernels that gradient calls.
 *
 * tfjs-core's depthwise gradient refuses dilations > 1, and cpu's backprop kernels
 * ignore dilations in their index arithmetic, so dilated cases are checked directly:
 * the reference is cpu's kernel with the equivalent undilated filter (zeros between
 * the taps), and for dW the taps at multiples of the dilation of its result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, getKernel } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  depthwiseConv2dNative,
  depthwiseConv2dNativeBackpropFilter,
  depthwiseConv2dNativeBackpropInput,
  forwardUsesPieces,
  originalWasmDepthwiseForward,
  registerWasmDepthwiseGradientKernels,
} from '../../src/backend/wasm-depthwise.js';
import { maxRelDiff, seededValues } from '../helpers/tensors.js';

type Explicit = [[number, number], [number, number], [number, number], [number, number]];
type Pad = 'same' | 'valid' | number | Explicit;
interface Case {
  name: string;
  x: [number, number, number, number]; // [n, h, w, c]
  k: [number, number];
  m: number;
  s: [number, number];
  d: [number, number];
  pad: Pad;
}

const one: [number, number] = [1, 1];
const ex = (t: number, b: number, l: number, r: number): Explicit => [[0, 0], [t, b], [l, r], [0, 0]];

const cases: Case[] = [
  // ConvNeXt: 7x7, stride 1, padding 3, multiplier 1, at its four stage shapes.
  { name: 'convnext 56', x: [1, 56, 56, 128], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'convnext 28', x: [1, 28, 28, 256], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'convnext 14', x: [2, 14, 14, 512], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'convnext 7', x: [2, 7, 7, 1024], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'convnext 14, pad 3', x: [2, 14, 14, 64], k: [7, 7], m: 1, s: one, d: one, pad: 3 },
  { name: 'convnext 7, explicit pad 3', x: [2, 7, 7, 32], k: [7, 7], m: 1, s: one, d: one, pad: ex(3, 3, 3, 3) },
  // micro shapes
  { name: 'micro k7 same', x: [4, 8, 8, 16], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'micro k3 same', x: [4, 8, 8, 16], k: [3, 3], m: 1, s: one, d: one, pad: 'same' },
  { name: 'micro k3 valid', x: [4, 8, 8, 16], k: [3, 3], m: 1, s: one, d: one, pad: 'valid' },
  { name: 'micro k7 valid', x: [2, 9, 8, 5], k: [7, 7], m: 1, s: one, d: one, pad: 'valid' },
  { name: 'k5 same', x: [2, 9, 7, 6], k: [5, 5], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k4 same (even)', x: [2, 8, 9, 3], k: [4, 4], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k6 same', x: [1, 10, 11, 4], k: [6, 6], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k9 same', x: [2, 12, 10, 3], k: [9, 9], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k1x7 same', x: [2, 9, 10, 4], k: [1, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7x1 valid', x: [2, 9, 10, 4], k: [7, 1], m: 1, s: one, d: one, pad: 'valid' },
  { name: 'k2x3 same', x: [3, 6, 7, 5], k: [2, 3], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k2x7 valid', x: [2, 8, 12, 3], k: [2, 7], m: 1, s: one, d: one, pad: 'valid' },
  { name: 'k7x2 same', x: [2, 9, 6, 3], k: [7, 2], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k1x1', x: [2, 5, 6, 7], k: [1, 1], m: 1, s: one, d: one, pad: 'valid' },
  { name: '1x1 input, k3 same', x: [3, 1, 1, 8], k: [3, 3], m: 1, s: one, d: one, pad: 'same' },
  { name: 'wide channels (one block per XNNPACK call)', x: [2, 5, 4, 4096], k: [3, 3], m: 1, s: one, d: one, pad: 'same' },
  { name: 'explicit asymmetric', x: [2, 8, 9, 4], k: [3, 4], m: 1, s: one, d: one, pad: ex(2, 0, 1, 3) },
  { name: 'explicit pad beyond the kernel', x: [2, 6, 6, 3], k: [3, 3], m: 1, s: one, d: one, pad: 4 },
  // strides
  { name: 's2 k3 same', x: [2, 8, 8, 16], k: [3, 3], m: 1, s: [2, 2], d: one, pad: 'same' },
  { name: 's2 k3 valid odd', x: [2, 9, 7, 6], k: [3, 3], m: 1, s: [2, 2], d: one, pad: 'valid' },
  { name: 's2 k4 same', x: [1, 10, 9, 5], k: [4, 4], m: 1, s: [2, 2], d: one, pad: 'same' },
  { name: 's2 k7 same', x: [2, 14, 14, 8], k: [7, 7], m: 1, s: [2, 2], d: one, pad: 'same' },
  { name: 's2 k5 explicit', x: [2, 11, 10, 3], k: [5, 5], m: 1, s: [2, 2], d: one, pad: ex(1, 2, 2, 0) },
  { name: 's3 k3 same', x: [2, 10, 11, 4], k: [3, 3], m: 1, s: [3, 3], d: one, pad: 'same' },
  { name: 's2 k3 pad 1', x: [2, 7, 7, 8], k: [3, 3], m: 1, s: [2, 2], d: one, pad: 1 },
  // channel multiplier
  { name: 'm2 k3 same', x: [2, 8, 8, 6], k: [3, 3], m: 2, s: one, d: one, pad: 'same' },
  { name: 'm2 k7 same', x: [2, 9, 9, 4], k: [7, 7], m: 2, s: one, d: one, pad: 'same' },
  { name: 'm3 k5 valid', x: [1, 9, 8, 3], k: [5, 5], m: 3, s: one, d: one, pad: 'valid' },
  { name: 'm2 s2 k3 valid', x: [2, 9, 9, 5], k: [3, 3], m: 2, s: [2, 2], d: one, pad: 'valid' },
  { name: 'm2 s2 k4 same', x: [2, 8, 10, 3], k: [4, 4], m: 2, s: [2, 2], d: one, pad: 'same' },
  // dilations (checked directly: tfjs-core's gradient refuses them)
  { name: 'd2 k3 same', x: [2, 9, 9, 6], k: [3, 3], m: 1, s: one, d: [2, 2], pad: 'same' },
  { name: 'd2 k3 valid', x: [2, 10, 9, 4], k: [3, 3], m: 1, s: one, d: [2, 2], pad: 'valid' },
  { name: 'd2 k7 same', x: [1, 16, 16, 8], k: [7, 7], m: 1, s: one, d: [2, 2], pad: 'same' },
  { name: 'd2 m2 k3 same', x: [2, 8, 8, 3], k: [3, 3], m: 2, s: one, d: [2, 2], pad: 'same' },
  { name: 'd2 k2 explicit', x: [2, 7, 8, 4], k: [2, 2], m: 1, s: one, d: [2, 2], pad: ex(1, 0, 2, 1) },
  { name: 'd3x1 k3 same', x: [2, 11, 9, 4], k: [3, 3], m: 1, s: one, d: [3, 1], pad: 'same' },
  { name: 'd2 s2 k3 same (kernels only)', x: [2, 11, 10, 4], k: [3, 3], m: 2, s: [2, 2], d: [2, 2], pad: 'same' },
];

/** More forward-only geometries: the 3x3 pieces' edge cases and the fallbacks. */
const forwardCases: Case[] = [
  ...cases,
  { name: 'convnext 56 batch 2 (tiny)', x: [2, 56, 56, 96], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7 same on a 5x5 input', x: [2, 5, 5, 8], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7 same on a 1x1 input', x: [3, 1, 1, 8], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7 same on a 2x9 input', x: [1, 2, 9, 5], k: [7, 7], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7 valid, output 1x1', x: [2, 7, 7, 6], k: [7, 7], m: 1, s: one, d: one, pad: 'valid' },
  { name: 'k7 explicit pad 8 (pieces that see only padding)', x: [1, 4, 5, 3], k: [7, 7], m: 1, s: one, d: one, pad: 8 },
  { name: 'k7 explicit asymmetric', x: [2, 10, 9, 5], k: [7, 7], m: 1, s: one, d: one, pad: ex(0, 6, 5, 1) },
  { name: 'k7 s3 same', x: [2, 13, 11, 4], k: [7, 7], m: 1, s: [3, 3], d: one, pad: 'same' },
  { name: 'k7 s2 valid odd', x: [1, 15, 12, 3], k: [7, 7], m: 1, s: [2, 2], d: one, pad: 'valid' },
  { name: 'k7 s1x2 same (unequal strides)', x: [2, 9, 10, 4], k: [7, 7], m: 1, s: [1, 2], d: one, pad: 'same' },
  { name: 'k4 s2 same', x: [2, 8, 8, 5], k: [4, 4], m: 1, s: [2, 2], d: one, pad: 'same' },
  { name: 'k6x4 valid', x: [2, 9, 8, 3], k: [6, 4], m: 1, s: one, d: one, pad: 'valid' },
  { name: 'k1x5 same', x: [2, 6, 9, 7], k: [1, 5], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k11 same', x: [1, 12, 13, 3], k: [11, 11], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7 d3 same', x: [1, 20, 19, 4], k: [7, 7], m: 1, s: one, d: [3, 3], pad: 'same' },
  { name: 'k7 d2 s2 same', x: [1, 17, 16, 3], k: [7, 7], m: 1, s: [2, 2], d: [2, 2], pad: 'same' },
  { name: 'k5 same (wasm own kernel)', x: [2, 9, 9, 8], k: [5, 5], m: 1, s: one, d: one, pad: 'same' },
  { name: 'k7 m2 same (wasm own kernel)', x: [2, 9, 9, 4], k: [7, 7], m: 2, s: one, d: one, pad: 'same' },
  { name: 'k1x4 same (wasm own kernel)', x: [2, 6, 9, 3], k: [1, 4], m: 1, s: one, d: one, pad: 'same' },
];

/** Cases tfjs-core's gradient accepts (it refuses dilations > 1). */
const gradCases = cases.filter((c) => c.d[0] === 1 && c.d[1] === 1);
/**
 * Cases for the direct kernel calls: all but the two largest ConvNeXt shapes,
 * whose cpu reference takes about 10 s each (both are covered through tf.grads).
 */
const kernelCases = cases.filter((c) => !(c.name === 'convnext 56' || c.name === 'convnext 28'));

async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try { return await fn(); } finally { await tf.setBackend(prev); }
}

function data(c: Case, seed: number) {
  const [n, h, w, ch] = c.x;
  const info = backend_util.computeConv2DInfo(c.x, [c.k[0], c.k[1], ch, c.m], c.s, c.d, c.pad as 'same', undefined, true);
  return {
    x: seededValues(n * h * w * ch, seed),
    w: seededValues(c.k[0] * c.k[1] * ch * c.m, seed + 1),
    dy: seededValues(info.outShape.reduce((a, b) => a * b, 1), seed + 2),
    dyShape: info.outShape,
  };
}

/** dX and dW through tf.grads of tf.depthwiseConv2d on the current backend. */
async function viaGrad(c: Case, seed: number): Promise<{ dx: Float32Array; dw: Float32Array }> {
  const v = data(c, seed);
  const x = tf.tensor4d(v.x, c.x);
  const w = tf.tensor4d(v.w, [c.k[0], c.k[1], c.x[3], c.m]);
  const dy = tf.tensor(v.dy, v.dyShape);
  const f = (a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same', 'NHWC', c.d), dy));
  const [dx, dw] = tf.grads(f)([x, w]);
  const out = { dx: (await dx!.data()) as Float32Array, dw: (await dw!.data()) as Float32Array };
  tf.dispose([x, w, dy, dx!, dw!]);
  return out;
}

/** The two kernels called directly, with the case's own attributes (wasm). */
async function viaKernels(c: Case, seed: number): Promise<{ dx: Float32Array; dw: Float32Array }> {
  const v = data(c, seed);
  const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.m];
  const x = tf.tensor4d(v.x, c.x);
  const w = tf.tensor4d(v.w, filterShape);
  const dy = tf.tensor(v.dy, v.dyShape);
  const attrs = { strides: c.s, pad: c.pad, dilations: c.d, dimRoundingMode: undefined };
  const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
  const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape } as never) as tf.Tensor;
  const out = { dx: (await dx.data()) as Float32Array, dw: (await dw.data()) as Float32Array };
  tf.dispose([x, w, dy, dx, dw]);
  return out;
}

/**
 * The cpu reference: cpu's kernels with the equivalent undilated filter
 * (taps at multiples of the dilation, zeros between), so that the index
 * arithmetic never depends on the dilation attribute.
 */
async function cpuReference(c: Case, seed: number): Promise<{ dx: Float32Array; dw: Float32Array }> {
  return onBackend('cpu', async () => {
    const v = data(c, seed);
    const [kh, kw] = c.k;
    const [dh, dw] = c.d;
    const ch = c.x[3];
    const eh = (kh - 1) * dh + 1;
    const ew = (kw - 1) * dw + 1;
    const we = new Float32Array(eh * ew * ch * c.m);
    const per = ch * c.m;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) we.set(v.w.subarray((i * kw + j) * per, (i * kw + j + 1) * per), (i * dh * ew + j * dw) * per);
    }
    const x = tf.tensor4d(v.x, c.x);
    const w = tf.tensor4d(we, [eh, ew, ch, c.m]);
    const dy = tf.tensor(v.dy, v.dyShape);
    const attrs = { strides: c.s, pad: c.pad, dilations: [1, 1], dimRoundingMode: undefined };
    const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
    const dwe = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: [eh, ew, ch, c.m] } as never) as tf.Tensor;
    const dwev = (await dwe.data()) as Float32Array;
    const dwv = new Float32Array(kh * kw * per);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) dwv.set(dwev.subarray((i * dh * ew + j * dw) * per, (i * dh * ew + j * dw + 1) * per), (i * kw + j) * per);
    }
    const out = { dx: (await dx.data()) as Float32Array, dw: dwv };
    tf.dispose([x, w, dy, dx, dwe]);
    return out;
  });
}

/** The forward kernel through the engine on the current backend (no op-level checks). */
async function forward(c: Case, seed: number, filterValues?: Float32Array, filterShape?: number[], dilations?: [number, number]): Promise<Float32Array> {
  const v = data(c, seed);
  const x = tf.tensor4d(v.x, c.x);
  const w = tf.tensor(filterValues ?? v.w, filterShape ?? [c.k[0], c.k[1], c.x[3], c.m]);
  const y = tf.engine().runKernel('DepthwiseConv2dNative', { x, filter: w },
    { strides: c.s, pad: c.pad, dilations: dilations ?? c.d, dimRoundingMode: undefined, dataFormat: 'NHWC' } as never) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, w, y]);
  return out;
}

/** cpu's forward with the equivalent undilated filter (zeros between the taps), dilation 1. */
async function cpuForward(c: Case, seed: number): Promise<Float32Array> {
  const v = data(c, seed);
  const [kh, kw] = c.k;
  const [dh, dw] = c.d;
  const per = c.x[3] * c.m;
  const eh = (kh - 1) * dh + 1;
  const ew = (kw - 1) * dw + 1;
  const we = new Float32Array(eh * ew * per);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) we.set(v.w.subarray((i * kw + j) * per, (i * kw + j + 1) * per), (i * dh * ew + j * dw) * per);
  }
  return onBackend('cpu', () => forward(c, seed, we, [eh, ew, c.x[3], c.m], [1, 1]));
}

describe('wasm depthwise-conv forward kernel', () => {
  it('replaces wasm\'s own kernel, which stays available for the rest', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(getKernel('DepthwiseConv2dNative', 'wasm')?.kernelFunc).toBe(depthwiseConv2dNative);
    const own = originalWasmDepthwiseForward();
    expect(own).not.toBeNull();
    expect(own).not.toBe(depthwiseConv2dNative);
  });

  it('uses 3x3 pieces only for multiplier-1 filters without a fast XNNPACK kernel', () => {
    expect(forwardUsesPieces(7, 7, 1)).toBe(true);
    expect(forwardUsesPieces(4, 4, 1)).toBe(true);
    expect(forwardUsesPieces(1, 7, 1)).toBe(true);
    expect(forwardUsesPieces(3, 3, 1)).toBe(false);
    expect(forwardUsesPieces(5, 5, 1)).toBe(false);
    expect(forwardUsesPieces(1, 4, 1)).toBe(false);
    expect(forwardUsesPieces(7, 7, 2)).toBe(false);
  });

  it('has every ConvNeXt stage shape and the fallbacks among its cases', () => {
    expect(forwardCases.filter((c) => forwardUsesPieces(c.k[0], c.k[1], c.m)).length).toBeGreaterThanOrEqual(30);
    expect(forwardCases.filter((c) => !forwardUsesPieces(c.k[0], c.k[1], c.m)).length).toBeGreaterThanOrEqual(10);
  });

  it.each(forwardCases.map((c, i) => [c.name, i, c] as const))('matches cpu: %s', async (_name, i, c) => {
    const wasm = await forward(c, 300 + 5 * i);
    const cpu = await cpuForward(c, 300 + 5 * i);
    expect(wasm.length).toBe(cpu.length);
    expect(maxRelDiff(wasm, cpu)).toBeLessThanOrEqual(1e-5);
  });

  it('matches tf.depthwiseConv2d on cpu through the op (ConvNeXt block with bias)', async () => {
    const run = async () => {
      const x = tf.tensor4d(seededValues(2 * 28 * 28 * 64, 81), [2, 28, 28, 64]);
      const w = tf.tensor4d(seededValues(7 * 7 * 64, 82), [7, 7, 64, 1]);
      const bias = tf.tensor1d(seededValues(64, 83));
      const y = tf.add(tf.depthwiseConv2d(x, w, 1, 'same'), bias);
      const v = (await y.data()) as Float32Array;
      tf.dispose([x, w, bias, y]);
      return v;
    };
    const wasm = await run();
    const cpu = await onBackend('cpu', run);
    expect(maxRelDiff(wasm, cpu)).toBeLessThanOrEqual(1e-5);
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    const picks = ['convnext 14', 'k7 explicit pad 8 (pieces that see only padding)', 'k7 explicit asymmetric', 'k5 same (wasm own kernel)'];
    const cs = picks.map((n) => forwardCases.find((k) => k.name === n)!);
    for (const c of cs) await forward(c, 1); // warm-up
    const before = tf.memory();
    for (let r = 0; r < 3; r++) for (const c of cs) await forward(c, 2 + r);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });
});

describe('wasm depthwise-conv gradient kernels', () => {
  it('are registered for wasm, idempotently', () => {
    expect(tf.getBackend()).toBe('wasm');
    registerWasmDepthwiseGradientKernels();
    registerWasmDepthwiseGradientKernels();
    expect(getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')?.kernelFunc).toBe(depthwiseConv2dNativeBackpropInput);
    expect(getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')?.kernelFunc).toBe(depthwiseConv2dNativeBackpropFilter);
  });

  it('has at least 30 cases, including every ConvNeXt stage shape', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const [h, c] of [[56, 128], [28, 256], [14, 512], [7, 1024]]) {
      expect(cases.some((k) => k.x[1] === h && k.x[3] === c && k.k[0] === 7 && k.s[0] === 1 && k.m === 1)).toBe(true);
    }
  });

  it.each(gradCases.map((c, i) => [c.name, i, c] as const))('tf.grads of tf.depthwiseConv2d matches cpu: %s', async (_name, i, c) => {
    const wasm = await viaGrad(c, 500 + 7 * i);
    const cpu = await onBackend('cpu', () => viaGrad(c, 500 + 7 * i));
    expect(wasm.dx.length).toBe(cpu.dx.length);
    expect(wasm.dw.length).toBe(cpu.dw.length);
    expect(maxRelDiff(wasm.dx, cpu.dx)).toBeLessThanOrEqual(1e-5);
    expect(maxRelDiff(wasm.dw, cpu.dw)).toBeLessThanOrEqual(1e-5);
  });

  it.each(kernelCases.map((c, i) => [c.name, i, c] as const))('both kernels called directly match cpu: %s', async (_name, i, c) => {
    const wasm = await viaKernels(c, 900 + 7 * i);
    const cpu = await cpuReference(c, 900 + 7 * i);
    expect(wasm.dx.length).toBe(cpu.dx.length);
    expect(wasm.dw.length).toBe(cpu.dw.length);
    expect(maxRelDiff(wasm.dx, cpu.dx)).toBeLessThanOrEqual(1e-5);
    expect(maxRelDiff(wasm.dw, cpu.dw)).toBeLessThanOrEqual(1e-5);
  });

  it('leaves no tensor and no wasm buffer behind over repeated gradient calls', async () => {
    const c = cases.find((k) => k.name === 'm2 s2 k4 same')!;
    const k7 = cases.find((k) => k.name === 'micro k7 same')!;
    await viaGrad(c, 1); // warm-up
    await viaGrad(k7, 1);
    const before = tf.memory();
    for (let r = 0; r < 5; r++) {
      await viaGrad(c, 10 + r);
      await viaGrad(k7, 20 + r);
      await viaKernels(cases.find((k) => k.name === 'd2 s2 k3 same (kernels only)')!, 30 + r);
      await viaKernels(cases.find((k) => k.name === 'explicit pad beyond the kernel')!, 40 + r);
    }
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });

  it('trains through a ConvNeXt-style block (depthwise 7x7, then a pointwise conv) like cpu', async () => {
    const run = async () => {
      const x = tf.tensor4d(seededValues(2 * 14 * 14 * 32, 71), [2, 14, 14, 32]);
      const dwk = tf.tensor4d(seededValues(7 * 7 * 32, 72), [7, 7, 32, 1]);
      const pw = tf.tensor4d(seededValues(32 * 16, 73), [1, 1, 32, 16]);
      const f = (a: tf.Tensor, b: tf.Tensor, p: tf.Tensor) =>
        tf.mean(tf.square(tf.conv2d(tf.relu(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')), p as tf.Tensor4D, 1, 'valid')));
      const gs = tf.grads(f)([x, dwk, pw]);
      const vals = await Promise.all(gs.map(async (g) => (await g.data()) as Float32Array));
      tf.dispose([x, dwk, pw, ...gs]);
      return vals;
    };
    const wasm = await run();
    const cpu = await onBackend('cpu', run);
    for (let i = 0; i < 3; i++) expect(maxRelDiff(wasm[i]!, cpu[i]!)).toBeLessThanOrEqual(1e-5);
  });
});
