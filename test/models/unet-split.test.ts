/**
 * The channel-split U-Net forward (src/models/unet-split.ts): both halves run
 * here with an in-memory exchange, and on two threads through
 * src/pipeline/split-generator.ts; the output equals unetForward's bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Params, referenceInit } from '../../src/models/params.js';
import { canSplitUNet, splitUNetWeights, unetForwardSplit, type HalfExchange } from '../../src/models/unet-split.js';
import { unetForward, unetSpecs, type UNetConfig } from '../../src/models/unet.js';
import { startSplitGenerator } from '../../src/pipeline/split-generator.js';
import { seededValues } from '../helpers/tensors.js';

/** Two ends of an in-memory exchange. */
function localPair(): [HalfExchange, HalfExchange] {
  const inbox = [new Map<number, Float32Array>(), new Map<number, Float32Array>()];
  const waiting = [new Map<number, (d: Float32Array) => void>(), new Map<number, (d: Float32Array) => void>()];
  const end = (k: 0 | 1): HalfExchange => ({
    exchange(step, mine) {
      const o = 1 - k;
      const w = waiting[o]!.get(step);
      if (w) { waiting[o]!.delete(step); w(mine); } else inbox[o]!.set(step, mine);
      const got = inbox[k]!.get(step);
      if (got) { inbox[k]!.delete(step); return Promise.resolve(got); }
      return new Promise((r) => waiting[k]!.set(step, r));
    },
  });
  return [end(0), end(1)];
}

const bits = (d: Float32Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

describe('channel-split U-Net forward', () => {
  const cfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 8, depth: 5, dropout: 0.5 };

  it('both halves (in memory) give unetForward\'s output bit for bit, and leave no tensors', async () => {
    const p = new Params(unetSpecs(cfg), referenceInit(11));
    const x = tf.tensor4d(seededValues(2 * 64 * 64 * 3, 12), [2, 64, 64, 3]);
    const want = tf.tidy(() => unetForward(p, cfg, x, { training: false }));
    const [w0, w1] = [splitUNetWeights(p, cfg, 0), splitUNetWeights(p, cfg, 1)];
    const [e0, e1] = localPair();
    const before = tf.memory().numTensors;
    const [y, none] = await Promise.all([unetForwardSplit(w0, cfg, x, e0), unetForwardSplit(w1, cfg, x, e1)]);
    expect(none).toBeNull();
    expect(y!.shape).toEqual(want.shape);
    expect(bits(y!.dataSync() as Float32Array).equals(bits(want.dataSync() as Float32Array))).toBe(true);
    y!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    w0.dispose();
    w1.dispose();
    tf.dispose([x, want]);
    p.dispose();
  });

  it('odd channel counts cannot be split', () => {
    expect(canSplitUNet({ ...cfg, ngf: 3 })).toBe(false);
    expect(canSplitUNet(cfg)).toBe(true);
  });

  it('on two threads: the same output as unetForward, call after call; no tensors left here', async () => {
    const p = new Params(unetSpecs(cfg), referenceInit(13));
    const g = await startSplitGenerator(p, cfg, tf.getBackend());
    try {
      for (const seed of [14, 15]) {
        const x = tf.tensor4d(seededValues(64 * 64 * 3, seed), [1, 64, 64, 3]);
        const want = tf.tidy(() => unetForward(p, cfg, x, { training: false }));
        const before = tf.memory().numTensors;
        const y = await g.forward(x);
        expect(bits(y.dataSync() as Float32Array).equals(bits(want.dataSync() as Float32Array))).toBe(true);
        y.dispose();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, want]);
      }
    } finally {
      await g.close();
      p.dispose();
    }
  }, 60_000);
});
