/**
 * The wasm replacements of src/backend/wasm-ops.ts (Identity, Cast, Slice, SplitV,
 * Concat, Sum, Mean, LeakyRelu, Maximum, Minimum) against tfjs-backend-cpu, the reference: the same op on
 * both backends, over shapes, axes and dtypes, including the fallbacks to wasm's own
 * kernels, plus gradients through the ops the pix2pix step uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { cast, concat, identity, leakyRelu, maximum, mean, minimum, originalWasmKernel, registerWasmOpKernels, slice, splitV, sum } from '../../src/backend/wasm-ops.js';
import { instanceNorm } from '../../src/models/ops.js';
import { maxRelDiff, seededValues } from '../helpers/tensors.js';

async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try { return await fn(); } finally { await tf.setBackend(prev); }
}

type Arr = Float32Array | Int32Array | Uint8Array;
interface Out { shape: number[]; dtype: string; values: Arr }

/** Runs fn on wasm and on cpu (inputs made inside fn), returns every output of both. */
async function both(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ wasm: Out[]; cpu: Out[] }> {
  const run = async () => {
    const r = tf.tidy(fn);
    const ts = Array.isArray(r) ? r : [r];
    const outs = await Promise.all(ts.map(async (t) => ({ shape: t.shape, dtype: t.dtype, values: (await t.data()) as Arr })));
    tf.dispose(ts);
    return outs;
  };
  const wasm = await run();
  const cpu = await onBackend('cpu', run);
  return { wasm, cpu };
}

function expectSame(r: { wasm: Out[]; cpu: Out[] }, tol = 0): void {
  expect(r.wasm.length).toBe(r.cpu.length);
  for (let i = 0; i < r.cpu.length; i++) {
    const w = r.wasm[i]!;
    const c = r.cpu[i]!;
    expect(w.shape).toEqual(c.shape);
    expect(w.dtype).toBe(c.dtype);
    expect(w.values.length).toBe(c.values.length);
    if (tol === 0) expect(Array.from(w.values)).toEqual(Array.from(c.values));
    else expect(maxRelDiff(w.values, c.values)).toBeLessThanOrEqual(tol);
  }
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], seed: number) => tf.tensor(seededValues(size(shape), seed), shape, 'float32');
const i32 = (shape: number[], seed: number) => tf.tensor(Int32Array.from(seededValues(size(shape), seed), (v) => Math.round(v * 1000)), shape, 'int32');
const bool = (shape: number[], seed: number) => tf.tensor(Uint8Array.from(seededValues(size(shape), seed), (v) => (v > 0 ? 1 : 0)), shape, 'bool');
const make = { float32: f32, int32: i32, bool } as const;

describe('wasm op replacements', () => {
  it('are registered for wasm, with wasm\'s own kernels kept', () => {
    expect(tf.getBackend()).toBe('wasm');
    registerWasmOpKernels();
    const ours = { Identity: identity, Cast: cast, Slice: slice, SplitV: splitV, Concat: concat, Sum: sum, Mean: mean, LeakyRelu: leakyRelu, Maximum: maximum, Minimum: minimum };
    for (const [name, fn] of Object.entries(ours)) {
      expect(getKernel(name, 'wasm')?.kernelFunc).toBe(fn);
      const own = originalWasmKernel(name);
      expect(own).not.toBeNull();
      expect(own).not.toBe(fn);
    }
  });

  it('Identity and same-dtype Cast share the buffer; the copy outlives the original', async () => {
    const x = f32([3, 4], 1);
    const before = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(before); // no new buffer
    const want = Array.from(await x.data());
    x.dispose();
    expect(Array.from(await y.data())).toEqual(want);
    y.dispose();
    expect(Array.from(await z.data())).toEqual(want);
    z.dispose();
    expect(tf.memory().numDataBuffers).toBe(before - 1);
  });

  it.each(['float32', 'int32', 'bool'] as const)('Identity and Cast match cpu (%s)', async (dt) => {
    expectSame(await both(() => [tf.clone(make[dt]([2, 3, 5], 3)), tf.cast(make[dt]([7], 4), dt)]));
  });

  it('Cast between dtypes (wasm\'s own kernel) matches cpu', async () => {
    expectSame(await both(() => [tf.cast(f32([4, 5], 5), 'int32'), tf.cast(i32([6], 6), 'float32'), tf.cast(bool([3, 3], 7), 'float32'), tf.cast(f32([9], 8), 'bool')]));
  });

  const sliceCases: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [10], begin: [3], size: [4] },
    { shape: [1, 64, 64, 128], begin: [0, 0, 0, 64], size: [1, 64, 64, 64] }, // SplitV's second half
    { shape: [1, 64, 64, 128], begin: [0, 0, 0, 0], size: [1, 64, 64, 64] },
    { shape: [2, 9, 8, 6], begin: [0, 2, 1, 0], size: [2, 5, 6, 6] }, // the depthwise crop
    { shape: [2, 9, 8, 6], begin: [1, 0, 0, 0], size: [1, 9, 8, 6] }, // contiguous
    { shape: [3, 5, 7], begin: [1, 2, 3], size: [2, 2, 3] },
    { shape: [3, 5, 7], begin: [0, 0, 6], size: [3, 5, 1] },
    { shape: [2, 3, 4, 5, 6], begin: [1, 1, 0, 2, 1], size: [1, 2, 4, 3, 4] },
    { shape: [4, 6], begin: [1, 0], size: [-1, -1] },
    { shape: [4, 6], begin: [2, 3], size: [0, 2] }, // empty
    { shape: [1, 256, 256, 6], begin: [0, 0, 0, 3], size: [1, 256, 256, 3] },
  ];
  it.each(sliceCases.flatMap((c) => (['float32', 'int32', 'bool'] as const).map((dt) => [JSON.stringify(c), dt, c] as const)))(
    'Slice matches cpu: %s %s', async (_n, dt, c) => {
      expectSame(await both(() => tf.slice(make[dt](c.shape, 11), c.begin, c.size)));
    });

  const splitCases: { shape: number[]; splits: number | number[]; axis: number }[] = [
    { shape: [1, 64, 64, 128], splits: 2, axis: 3 },
    { shape: [1, 256, 256, 6], splits: [3, 3], axis: 3 },
    { shape: [2, 8, 8, 1024], splits: [512, 512], axis: -1 },
    { shape: [4, 6, 5], splits: [1, 3, 2], axis: 1 },
    { shape: [4, 6, 5], splits: [2, -1], axis: 0 },
    { shape: [3, 7], splits: [2, 0, 5], axis: 1 },
  ];
  it.each(splitCases.map((c) => [JSON.stringify(c), c] as const))('SplitV matches cpu: %s', async (_n, c) => {
    expectSame(await both(() => tf.split(f32(c.shape, 13), c.splits, c.axis)));
    expectSame(await both(() => tf.split(i32(c.shape, 14), c.splits, c.axis)));
  });

  const concatCases: { shapes: number[][]; axis: number }[] = [
    { shapes: [[1, 256, 256, 3], [1, 256, 256, 3]], axis: 3 }, // the discriminator's input
    { shapes: [[1, 64, 64, 128], [1, 64, 64, 128]], axis: 3 }, // a U-Net skip
    { shapes: [[2, 4, 4, 512], [2, 4, 4, 512]], axis: -1 },
    { shapes: [[2, 3, 4], [2, 5, 4], [2, 1, 4]], axis: 1 },
    { shapes: [[2, 3], [4, 3]], axis: 0 },
    { shapes: [[3, 2], [3, 0], [3, 40]], axis: 1 }, // an empty input, a long row
    { shapes: [[5], [7], [1]], axis: 0 },
    { shapes: [[2, 2, 2, 2, 1], [2, 2, 2, 2, 3]], axis: 4 },
    { shapes: [[3, 0], [3, 4]], axis: 1 }, // one non-empty input
  ];
  it.each(concatCases.flatMap((c) => (['float32', 'int32', 'bool'] as const).map((dt) => [JSON.stringify(c), dt, c] as const)))(
    'Concat matches cpu: %s %s', async (_n, dt, c) => {
      expectSame(await both(() => tf.concat(c.shapes.map((s, i) => make[dt](s, 20 + i)), c.axis)));
    });

  const reduceCases: { shape: number[]; axis: number | number[] }[] = [
    { shape: [1, 128, 128, 64], axis: [1, 2] }, // InstanceNorm
    { shape: [4, 32, 32, 256], axis: [1, 2] },
    { shape: [3, 7, 5, 6], axis: [2, 1] },
    { shape: [3, 7, 5, 6], axis: [-3, -2] },
    { shape: [1, 8, 8, 512], axis: [0, 1, 2] }, // a bias gradient
    { shape: [2, 16, 16, 3], axis: [0, 1, 2] },
    { shape: [5, 1, 2, 9], axis: [0, 1, 2] },
    { shape: [2, 1, 1, 4], axis: [1, 2] }, // a 1x1 window: wasm's own kernel
    { shape: [2, 5, 6, 7], axis: [1] }, // not over H and W: wasm's own kernel
    { shape: [2, 5, 6, 7], axis: [3] },
    { shape: [2, 5, 6, 7], axis: [1, 2, 3] },
    { shape: [2, 5, 6, 7], axis: [0, 1, 2, 3] },
    { shape: [6, 4, 5], axis: [1, 2] }, // rank 3: wasm's own kernel
    { shape: [2, 3, 4, 5, 6], axis: [1, 2] }, // rank 5: wasm's own kernel
  ];
  it.each(reduceCases.flatMap((c) => [true, false].map((k) => [JSON.stringify(c), k, c] as const)))(
    'Sum and Mean match cpu: %s keepDims %s', async (_n, keepDims, c) => {
      // float32 accumulation: wasm's own Sum/Mean are 1-3e-6 from cpu (doubles) on these shapes too
      expectSame(await both(() => [tf.sum(f32(c.shape, 31), c.axis, keepDims), tf.mean(f32(c.shape, 32), c.axis, keepDims)]), 1e-5);
      expectSame(await both(() => tf.sum(i32(c.shape, 33), c.axis, keepDims))); // int32: wasm's own kernel
    });

  it('Sum and Mean over a large window with an offset (16384 positions around 1000) stay accurate', async () => {
    const r = await both(() => {
      const x = tf.add(f32([2, 128, 128, 8], 41), 1000);
      return [tf.mean(x, [1, 2]), tf.sum(x, [1, 2], true), tf.sum(x, [0, 1, 2])];
    });
    expectSame(r, 1e-5); // measured 3.7e-6 (wasm's own kernels: 1.8e-6)
  });

  it.each([[[2, 9, 7, 5]], [[1, 64, 64, 128]], [[3]], [[4]], [[7]]])('LeakyRelu %j equals wasm\'s own kernel bit for bit, and cpu to 1e-6', async (shape) => {
    const values = () => {
      const v = seededValues(size(shape), 91);
      if (v.length > 3) { v[0] = NaN; v[1] = -0; v[2] = 0; v[3] = -1e-40; }
      return tf.tensor(v, shape);
    };
    const bits = (o: Out) => Array.from(new Uint32Array((o.values as Float32Array).buffer, o.values.byteOffset, o.values.length));
    for (const alpha of [0.2, 0.01]) {
      const r = await both(() => tf.leakyRelu(values(), alpha));
      const own = originalWasmKernel('LeakyRelu')!;
      const x = values();
      const o = own({ inputs: { x }, backend: tf.backend() as never, attrs: { alpha } as never }) as tf.TensorInfo;
      const ownT = tf.engine().makeTensorFromTensorInfo(o);
      const ownOut: Out = { shape: ownT.shape, dtype: ownT.dtype, values: (await ownT.data()) as Float32Array };
      tf.dispose([x, ownT]);
      const ours = bits(r.wasm[0]!);
      const theirs = bits(ownOut);
      expect(ours.filter((u, i) => u !== theirs[i]).length).toBe(0);
      // cpu multiplies by alpha in double precision (1 ulp apart on some negatives)
      const w = r.wasm[0]!.values as Float32Array;
      const c = r.cpu[0]!.values as Float32Array;
      expect(Array.from(w, Number.isNaN)).toEqual(Array.from(c, Number.isNaN));
      expect(maxRelDiff(w.map((v) => (Number.isNaN(v) ? 0 : v)), c.map((v) => (Number.isNaN(v) ? 0 : v)))).toBeLessThanOrEqual(1e-6);
    }
  });

  it.each([[[2, 9, 7, 5], []], [[1, 56, 56, 64], []], [[3], [1]], [[4, 5], [1, 1]], [[7], []], [[2, 3], [2, 3]], [[], [1]], [[5], [4, 5]]])(
    'Maximum/Minimum of %j and a %j tensor equal wasm\'s own kernels bit for bit (NaN, signed zeros, infinities) and cpu',
    async (shape, other) => {
      const values = () => {
        const v = seededValues(size(shape), 93).map((x) => x * 8);
        if (v.length > 6) { v[0] = NaN; v[1] = -0; v[2] = 0; v[3] = Infinity; v[4] = -Infinity; v[5] = 6; v[6] = -1e-40; }
        return tf.tensor(v, shape);
      };
      const bits = (o: Out) => Array.from(new Uint32Array((o.values as Float32Array).buffer, o.values.byteOffset, o.values.length));
      for (const name of ['Maximum', 'Minimum'] as const) {
        for (const s of other.length > 0 && size(other) > 1 ? [0] : [0, -0, 6, NaN, -2.5]) {
          const b = () => (size(other) > 1 ? f32(other, 94) : tf.fill(other, s));
          const op = name === 'Maximum' ? tf.maximum : tf.minimum;
          const r = await both(() => op(values(), b()));
          const x = values();
          const bt = b();
          const o = originalWasmKernel(name)!({ inputs: { a: x, b: bt }, backend: tf.backend() as never, attrs: {} as never }) as tf.TensorInfo;
          const ownT = tf.engine().makeTensorFromTensorInfo(o);
          const ownOut: Out = { shape: ownT.shape, dtype: ownT.dtype, values: (await ownT.data()) as Float32Array };
          tf.dispose([x, bt, ownT]);
          expect(r.wasm[0]!.shape).toEqual(ownOut.shape);
          const ob = bits(ownOut);
          expect(bits(r.wasm[0]!).filter((u, i) => u !== ob[i]).length).toBe(0);
          // cpu's Math.max/min differ only where NaN or signed zeros meet; elsewhere they agree exactly
          const w = r.wasm[0]!.values as Float32Array;
          const c = r.cpu[0]!.values as Float32Array;
          const xs = await (async () => { const t = values(); const d = await t.data(); t.dispose(); return d; })();
          const plain = (i: number) => !Number.isNaN(xs[i]!) && xs[i] !== 0 && !Number.isNaN(s);
          expect(w.filter((v, i) => plain(i) && v !== c[i]).length).toBe(0);
        }
      }
    },
  );

  it('gradients of InstanceNorm, LeakyRelu and concat/slice match cpu', async () => {
    const r = await both(() => {
      const x = f32([2, 16, 16, 24], 61);
      const skip = f32([2, 16, 16, 8], 62);
      const w = f32([2, 16, 16, 32], 63);
      const f = (a: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(tf.concat([instanceNorm(a as tf.Tensor4D), s], 3), 0.2), w));
      const [dx, ds] = tf.grads(f)([x, skip]);
      return [dx!, ds!, tf.slice(tf.concat([x, skip], 3), [0, 1, 2, 20], [2, 14, 13, 10])];
    });
    expectSame(r, 1e-5);
  });

  it('leaves no tensor and no wasm buffer behind', async () => {
    const work = () => tf.tidy(() => {
      const x = f32([2, 8, 8, 16], 71);
      const parts = tf.split(tf.concat([x, tf.clone(x), tf.cast(x, 'float32')], 3), [10, 38], 3);
      return [tf.sum(parts[0]!, [1, 2]), tf.mean(parts[1]!, [0, 1, 2], true), tf.greater(x, 0), tf.slice(x, [0, 1, 1, 1], [1, 3, 3, 3])];
    });
    tf.dispose(work());
    const before = tf.memory();
    for (let i = 0; i < 5; i++) tf.dispose(work());
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });
});
