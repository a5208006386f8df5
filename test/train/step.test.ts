/**
 * The training step: PyTorch training-math parity (losses, step-1 gradients,
 * weights after 3 Adam steps), G/D isolation, no tensor leak, and overfitting
 * a tiny net.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { TensorMap } from '../../src/io/safetensors.js';
import { Params, referenceInit } from '../../src/models/params.js';
import { patchganSpecs, type PatchGanConfig } from '../../src/models/patchgan.js';
import { unetSpecs, type UNetConfig } from '../../src/models/unet.js';
import { attachRemoteD, disposeSetup, dOptimizer, dStep, gStep, makeSetup, trainStep, type Batch, type GanSetup } from '../../src/train/step.js';
import { checkTrainSmallParity } from '../helpers/train-parity.js';
import { maxAbsDiff, seededValues } from '../helpers/tensors.js';

const ADAM = { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 };

function tinySetup(seed: number, gCfg: UNetConfig, dCfg: PatchGanConfig, lr = ADAM.lr): GanSetup {
  const G = new Params(unetSpecs(gCfg), referenceInit(seed), 'G');
  const D = new Params(patchganSpecs(dCfg), referenceInit(seed + 1), 'D');
  return makeSetup(G, D, gCfg, dCfg, { ...ADAM, lr }, 100, 'reuse');
}

function randomBatch(n: number, size: number, seed: number): Batch {
  return {
    cond: tf.tensor4d(seededValues(n * size * size * 3, seed), [n, size, size, 3]),
    real: tf.tensor4d(seededValues(n * size * size * 3, seed + 1), [n, size, size, 3]),
  };
}

async function snapshot(p: Params): Promise<TensorMap> {
  return p.toTorch();
}

function changed(a: TensorMap, b: TensorMap): number {
  let m = 0;
  for (const [k, v] of a) m = Math.max(m, maxAbsDiff(v.data, b.get(k)!.data));
  return m;
}

describe('training math matches PyTorch (test/fixtures/pix2pix/train_small)', () => {
  it('losses of 3 steps, step-1 gradients and the final weights', async () => {
    await checkTrainSmallParity();
  });
});

describe('G and D steps are isolated', () => {
  const gCfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 4, depth: 5, dropout: 0.5 };
  const dCfg: PatchGanConfig = { inChannels: 3, ndf: 4 };

  it('a G step leaves D unchanged and moves G; a D step leaves G unchanged and moves D', async () => {
    const s = tinySetup(3, gCfg, dCfg);
    const batch = randomBatch(2, 32, 11);
    const g0 = await snapshot(s.G);
    const d0 = await snapshot(s.D);
    const g = gStep(s, batch, 1);
    const g1 = await snapshot(s.G);
    const d1 = await snapshot(s.D);
    expect(changed(d0, d1)).toBe(0);
    expect(changed(g0, g1)).toBeGreaterThan(0);
    const d = dStep(s, batch, g.fake);
    const g2 = await snapshot(s.G);
    const d2 = await snapshot(s.D);
    expect(changed(g1, g2)).toBe(0);
    expect(changed(d1, d2)).toBeGreaterThan(0);
    tf.dispose([g.G, g.G_adv, g.G_L1, g.fake, d, batch.cond, batch.real]);
    disposeSetup(s);
  });

  it('20 steps leave the tensor count flat (both discriminatorFake modes)', async () => {
    for (const mode of ['reuse', 'regenerate'] as const) {
      const s = { ...tinySetup(4, gCfg, dCfg), discriminatorFake: mode };
      const batch = randomBatch(2, 32, 12);
      await trainStep(s, batch, 0);
      const counts: number[] = [];
      for (let i = 1; i <= 20; i++) {
        const l = await trainStep(s, batch, i);
        expect(Number.isFinite(l.G) && Number.isFinite(l.D)).toBe(true);
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts).size).toBe(1);
      tf.dispose([batch.cond, batch.real]);
      disposeSetup(s);
    }
  });
});

describe('the D step on a second thread (src/train/d-thread.ts)', () => {
  const gCfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 4, depth: 5, dropout: 0.5 };
  const dCfg: PatchGanConfig = { inChannels: 3, ndf: 4 };

  it('same losses and weights as one thread over 12 steps; the tensor count stays flat; regenerate is refused', async () => {
    const local = tinySetup(7, gCfg, dCfg);
    const remote = tinySetup(7, gCfg, dCfg);
    await attachRemoteD(remote, tf.getBackend());
    const batch = randomBatch(2, 32, 13);
    const counts: number[] = [];
    for (let i = 0; i < 12; i++) {
      const a = await trainStep(local, batch, i);
      const b = await trainStep(remote, batch, i);
      expect(b).toEqual(a);
      if (i > 0) counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    expect(changed(await snapshot(remote.D), await snapshot(local.D))).toBe(0);
    expect(changed(await snapshot(remote.G), await snapshot(local.G))).toBe(0);
    expect(dOptimizer(remote).step).toBe(12);
    const [sa, sb] = [await dOptimizer(local).stateTensors('D.'), await dOptimizer(remote).stateTensors('D.')];
    expect(changed(sa, sb)).toBe(0);
    tf.dispose([batch.cond, batch.real]);
    disposeSetup(local);
    disposeSetup(remote);
    const regen = { ...tinySetup(8, gCfg, dCfg), discriminatorFake: 'regenerate' as const };
    await expect(attachRemoteD(regen, tf.getBackend())).rejects.toThrow(/reuse/);
    disposeSetup(regen);
  }, 120_000);
});

describe('overfitting', () => {
  it('a tiny net on 8 pairs: L1 falls at least 5x within 60 steps', async () => {
    const gCfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 32, depth: 5, dropout: 0 };
    const dCfg: PatchGanConfig = { inChannels: 3, ndf: 8 };
    const s = tinySetup(5, gCfg, dCfg, 2e-3);
    // 8 structured pairs: the face is a smooth function of the condition.
    // Smooth conditions (like rendered landmark images after a conv or two).
    const cond = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(seededValues(8 * 8 * 8 * 3, 21), [8, 8, 8, 3]), [32, 32]));
    // A local per-pixel map (a U-Net can represent it): channels mixed pairwise.
    const real = tf.tidy(() => tf.mul(tf.mul(cond, tf.reverse(cond, 3)), 0.9));
    const batch: Batch = { cond: cond as tf.Tensor4D, real: real as tf.Tensor4D };
    const l1s: number[] = [];
    for (let i = 0; i < 60; i++) l1s.push((await trainStep(s, batch, i)).G_L1);
    const first = l1s[0]!;
    const best = Math.min(...l1s.slice(-5));
    expect(first / best).toBeGreaterThanOrEqual(5);
    tf.dispose([cond, real]);
    disposeSetup(s);
  });
});
