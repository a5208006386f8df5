/**
 * The hand-assembled WebAssembly SIMD helpers (src/backend/wasm-simd.ts): the transpose
 * against tf.transpose on cpu, and the Adam step against the op formulation (through
 * the wasm Adam kernel with its SIMD path on and off: test/backend/wasm-adam.test.ts
 * covers bit equality with the ops of src/train/adam.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { simdKernels } from '../../src/backend/wasm-simd.js';
import { seededValues } from '../helpers/tensors.js';

interface Backend {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): { dataId: object; shape: number[]; dtype: 'float32' };
}

describe('wasm SIMD helpers', () => {
  it('are available on this machine (Node 20: WebAssembly SIMD)', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(simdKernels(tf.backend())).not.toBeNull();
    expect(simdKernels({})).toBeNull(); // not a wasm backend
  });

  it.each([0, -0, 6, NaN, -2.5])('maxScalar/minScalar(x, %d) compute std::max(x, s) / std::min(x, s) lane by lane', async (sc) => {
    const v = seededValues(64, 7).map((x) => x * 8);
    v.set([NaN, -0, 0, Infinity, -Infinity, 6, -1e-40, 1e-40]);
    const b = tf.backend() as unknown as Backend;
    const x = tf.tensor1d(v);
    const bitsOf = (f: Float32Array) => Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));
    const s32 = Math.fround(sc);
    for (const [name, want] of [['maxScalar', (a: number) => (a < s32 ? s32 : a)], ['minScalar', (a: number) => (s32 < a ? s32 : a)]] as const) {
      const out = b.makeOutput([64], 'float32');
      simdKernels(b)![name](b.dataIdMap.get(x.dataId).memoryOffset, b.dataIdMap.get(out.dataId).memoryOffset, 64, sc);
      const y = tf.engine().makeTensorFromTensorInfo(out as never);
      const got = bitsOf((await y.data()) as Float32Array);
      y.dispose();
      expect(got).toEqual(bitsOf(Float32Array.from(Float32Array.from(v), want)));
    }
    x.dispose();
  });

  it.each([[4, 4], [8, 12], [64, 4], [4, 200], [132, 68], [1024, 64]])('transpose [%i, %i] equals cpu\'s tf.transpose', async (rows, cols) => {
    const v = seededValues(rows * cols, rows + cols);
    const b = tf.backend() as unknown as Backend;
    const x = tf.tensor2d(v, [rows, cols]);
    const out = b.makeOutput([cols, rows], 'float32');
    simdKernels(b)!.transpose(b.dataIdMap.get(x.dataId).memoryOffset, b.dataIdMap.get(out.dataId).memoryOffset, rows, cols);
    const y = tf.engine().makeTensorFromTensorInfo(out as never);
    const got = Array.from(await y.data());
    tf.dispose([x, y]);
    await tf.setBackend('cpu');
    const xc = tf.tensor2d(v, [rows, cols]);
    const want = Array.from(await tf.transpose(xc).data());
    xc.dispose();
    await tf.setBackend('wasm');
    expect(got).toEqual(want);
  });

  it('addRow adds one run into another, exactly as float32 addition', async () => {
    const b = tf.backend() as unknown as Backend;
    const a = tf.tensor1d(seededValues(36, 5));
    const c = tf.tensor1d(seededValues(36, 6));
    // add c[4..28) into a[8..32); the rest of a stays as it was
    const before = Array.from(await a.data());
    simdKernels(b)!.addRow(b.dataIdMap.get(a.dataId).memoryOffset + 32, b.dataIdMap.get(c.dataId).memoryOffset + 16, 24);
    const got = Array.from(await a.data());
    const cv = Array.from(await c.data());
    for (let i = 0; i < 36; i++) {
      const exp = i >= 8 && i < 32 ? Math.fround(before[i]! + cv[i - 4]!) : before[i]!;
      expect(got[i]).toBe(exp);
    }
    tf.dispose([a, c]);
  });

  it('transposes in place on the heap without touching neighbouring memory', async () => {
    const b = tf.backend() as unknown as Backend;
    const x = tf.tensor2d(seededValues(8 * 8, 3), [8, 8]);
    const guard = tf.fill([64], 7);
    const out = b.makeOutput([8, 8], 'float32');
    const guard2 = tf.fill([64], 9);
    simdKernels(b)!.transpose(b.dataIdMap.get(x.dataId).memoryOffset, b.dataIdMap.get(out.dataId).memoryOffset, 8, 8);
    expect(Array.from(await guard.data()).every((g) => g === 7)).toBe(true);
    expect(Array.from(await guard2.data()).every((g) => g === 9)).toBe(true);
    const y = tf.engine().makeTensorFromTensorInfo(out as never);
    tf.dispose([x, y, guard, guard2]);
  });
});
