/**
 * Smoke test for the native TensorFlow backend (src/backend/native.ts): it loads
 * into the project's own tfjs-core engine and its conv2d / conv2dTranspose and
 * their gradients match tfjs-backend-cpu within 1e-4 — including explicit
 * padding (pix2pix's k4 s2 p1), whose gradient kernels native.ts patches. Skipped, with the reason
 * in the suite name and on stdout, when no native build is found (run
 * `npm run setup:native`, or set GANON_NATIVE_DIR).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNativeBackend } from '../../src/backend/native.js';
import { maxAbsDiff, seededValues } from '../helpers/tensors.js';

const probe = await loadNativeBackend();
const reason = probe.tried.map((t) => `${t.package}: ${t.error}`).join('; ') || 'no native build found';
const title = probe.info
  ? `native backend (${probe.info.package} via ${probe.info.source}, libtensorflow ${probe.info.libtensorflowVersion})`
  : `native backend — skipped: ${reason}`;
if (!probe.info) console.log(`native tests skipped: ${reason}`);

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case { name: string; x: [number, number, number, number]; k: [number, number]; co: number; s: number; pad: Pad }
const cases: Case[] = [
  { name: 'k3 s1 same', x: [2, 9, 11, 5], k: [3, 3], co: 7, s: 1, pad: 'same' },
  { name: 'k4 s2 p1 (pix2pix down)', x: [2, 16, 16, 8], k: [4, 4], co: 16, s: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'k4 s1 valid', x: [1, 10, 10, 6], k: [4, 4], co: 3, s: 1, pad: 'valid' },
];

/** y, dx, dw of conv2d (and of conv2dTranspose with the same filter) on the active backend. */
async function convAndGrads(c: Case, transpose: boolean): Promise<Float32Array[]> {
  const [n, h, w, ci] = c.x;
  const out = tf.tidy(() => {
    const filt = tf.tensor4d(seededValues(c.k[0] * c.k[1] * ci * c.co, 2), [c.k[0], c.k[1], ci, c.co]);
    let x: tf.Tensor4D;
    let f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;
    if (!transpose) {
      x = tf.tensor4d(seededValues(n * h * w * ci, 1), c.x);
      f = (a, b) => tf.conv2d(a, b, c.s, c.pad);
    } else {
      // Transposed conv: input has co channels, output shape is the conv2d input's.
      const y0 = tf.conv2d(tf.zeros<tf.Rank.R4>(c.x), filt, c.s, c.pad);
      x = tf.tensor4d(seededValues(y0.size, 1), y0.shape);
      f = (a, b) => tf.conv2dTranspose(a, b, c.x, c.s, c.pad);
    }
    const y = f(x, filt);
    const dy = tf.tensor4d(seededValues(y.size, 3), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor4D))([x, filt], dy);
    return [y, dx!, dw!];
  });
  const data = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
  tf.dispose(out);
  return data;
}

describe.skipIf(!probe.info)(title, () => {
  const before = tf.getBackend();
  afterAll(async () => {
    if (before) await tf.setBackend(before);
  });

  it('registers into the project engine with one tfjs-core module and runs ops on it', async () => {
    expect(tf.engine().backendNames()).toContain('tensorflow');
    // Exactly one tfjs-core (its Node bundle) is loaded in this process.
    const cache = createRequire(import.meta.url).cache;
    const cores = Object.keys(cache).filter((k) => /tfjs-core[\\/]dist[\\/]tf-core\.node\.js$/.test(k));
    expect(cores.length).toBeLessThanOrEqual(1);
    expect(await tf.setBackend('tensorflow')).toBe(true);
    expect(tf.getBackend()).toBe('tensorflow');
    const b = tf.backend() as unknown as { binding?: { TF_Version?: string } };
    expect(b.binding?.TF_Version).toBe(probe.info!.libtensorflowVersion);
    const s = tf.tidy(() => tf.sum(tf.matMul(tf.ones([64, 32]), tf.ones([32, 16]))));
    expect(await s.data()).toEqual(new Float32Array([64 * 16 * 32]));
    s.dispose();
    console.log(`native: ${JSON.stringify(probe.info)}`);
  });

  for (const transpose of [false, true]) {
    for (const c of cases) {
      it(`${transpose ? 'conv2dTranspose' : 'conv2d'} ${c.name}: y, dx, dw match cpu within 1e-4`, async () => {
        await tf.setBackend('tensorflow');
        const nat = await convAndGrads(c, transpose);
        await tf.setBackend('cpu');
        const ref = await convAndGrads(c, transpose);
        await tf.setBackend('tensorflow');
        for (let i = 0; i < 3; i++) expect(maxAbsDiff(nat[i]!, ref[i]!)).toBeLessThanOrEqual(1e-4);
      });
    }
  }
});
