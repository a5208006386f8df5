/**
 * ops.leakyRelu (tf.leakyRelu with a Step-based gradient, src/models/ops.ts) and ops.relu
 * (tf.relu with its own gradient function, one ReluGrad op on the native backend) against
 * tf.leakyRelu / tf.relu themselves: the same values and gradients bit for bit, on wasm and
 * on cpu, including zeros of both signs, tiny and large values. (The native kernels are
 * checked in test/native/kernels.test.ts.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { leakyRelu, relu } from '../../src/models/ops.js';
import { seededValues } from '../helpers/tensors.js';

async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try { return await fn(); } finally { await tf.setBackend(prev); }
}

function input(n: number, seed: number): Float32Array {
  const v = seededValues(n, seed);
  for (let i = 0; i < n; i += 7) v[i] = 0;
  for (let i = 3; i < n; i += 11) v[i] = -0;
  for (let i = 5; i < n; i += 13) v[i] = v[i]! * 1e-30;
  for (let i = 6; i < n; i += 17) v[i] = v[i]! * 1e30;
  return v;
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

async function both(alpha: number, useOurs: boolean): Promise<{ y: Float32Array; dx: Float32Array }> {
  return valueAndGrad((t) => (useOurs ? leakyRelu(t as tf.Tensor4D, alpha) : tf.leakyRelu(t, alpha)));
}

async function valueAndGrad(f: (t: tf.Tensor) => tf.Tensor): Promise<{ y: Float32Array; dx: Float32Array }> {
  const shape = [2, 9, 7, 5];
  const x = tf.tensor4d(input(630, 3), shape as [number, number, number, number]);
  const dy = tf.tensor4d(input(630, 4), shape as [number, number, number, number]);
  const y = f(x);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
  const out = { y: (await y.data()) as Float32Array, dx: (await dx.data()) as Float32Array };
  tf.dispose([x, dy, y, dx]);
  return out;
}

describe('ops.leakyRelu', () => {
  it.each([['wasm'], ['cpu']])('equals tf.leakyRelu bit for bit, values and gradients (%s)', async (backend) => {
    for (const alpha of [0.2, 0.01, 0.5]) {
      const [ours, ref] = await onBackend(backend, async () => [await both(alpha, true), await both(alpha, false)]);
      expect(bits(ours.y)).toEqual(bits(ref.y));
      expect(bits(ours.dx)).toEqual(bits(ref.dx));
    }
  });

  it('leaves no tensor behind', async () => {
    await both(0.2, true);
    const before = tf.memory().numTensors;
    await both(0.2, true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ops.relu', () => {
  it.each([['wasm'], ['cpu']])('equals tf.relu bit for bit, values and gradients (%s)', async (backend) => {
    const [ours, ref] = await onBackend(backend, async () => [await valueAndGrad((t) => relu(t as tf.Tensor4D)), await valueAndGrad((t) => tf.relu(t))]);
    expect(bits(ours.y)).toEqual(bits(ref.y));
    expect(bits(ours.dx)).toEqual(bits(ref.dx));
  });

  it('leaves no tensor behind', async () => {
    await valueAndGrad((t) => relu(t as tf.Tensor4D));
    const before = tf.memory().numTensors;
    await valueAndGrad((t) => relu(t as tf.Tensor4D));
    expect(tf.memory().numTensors).toBe(before);
  });
});
