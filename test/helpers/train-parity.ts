/**
 * The PyTorch training-math parity check (test/fixtures/pix2pix/train_small, made by
 * test/fixtures/pix2pix/make_fixtures.py): step-1 gradients, the losses of 3 training
 * steps and the final weights, on whichever backend is active. Used by the default
 * suite (test/train/step.test.ts) and the native set (test/native/train.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { TensorMap } from '../../src/io/safetensors.js';
import { fromTorchMap, Params, tfToTorch } from '../../src/models/params.js';
import { patchganForward, patchganSpecs, type PatchGanConfig } from '../../src/models/patchgan.js';
import { unetForward, unetSpecs, type UNetConfig } from '../../src/models/unet.js';
import { l1, mseToConstant } from '../../src/train/losses.js';
import { disposeSetup, makeSetup, trainStep, type Batch } from '../../src/train/step.js';
import { fixtureDir, loadFixture } from './fixtures.js';
import { maxAbsDiff, maxRelDiff } from './tensors.js';

const ADAM = { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 };

function nhwc(t: { shape: number[]; data: Float32Array }): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function changed(a: TensorMap, b: TensorMap): number {
  let m = 0;
  for (const [k, v] of a) m = Math.max(m, maxAbsDiff(v.data, b.get(k)!.data));
  return m;
}

export async function checkTrainSmallParity(): Promise<void> {
  const gCfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 4, depth: 3, dropout: 0.5 };
  const dCfg: PatchGanConfig = { inChannels: 3, ndf: 4 };
  const want = JSON.parse(readFileSync(`${fixtureDir}pix2pix/train_small.json`, 'utf8')) as { losses: Record<string, number>[] };
  const f = loadFixture('pix2pix/train_small.safetensors');
  const G = new Params(unetSpecs(gCfg), fromTorchMap(f, 'train_small', 'G.'), 'G');
  const D = new Params(patchganSpecs(dCfg), fromTorchMap(f, 'train_small', 'D.'), 'D');
  const s = makeSetup(G, D, gCfg, dCfg, ADAM, 100, 'reuse');
  const batch: Batch = { cond: nhwc(f.get('real_a')!), real: nhwc(f.get('real_b')!) };

  // Step-1 gradients, computed independently of the optimizer.
  const gGrads = tf.variableGrads(() => {
    const fake = unetForward(G, gCfg, batch.cond, { training: true, seed: 1 });
    return tf.add(mseToConstant(patchganForward(D, dCfg, fake, batch.cond), 1), tf.mul(l1(fake, batch.real), 100)) as tf.Scalar;
  }, G.list());
  for (const spec of G.specs.slice(0, 3)) {
    const ref = f.get(`G_grad1.${spec.name}`);
    if (ref === undefined) continue;
    const got = (await gGrads.grads[G.get(spec.name).name]!.data()) as Float32Array;
    expect(maxRelDiff(tfToTorch(spec, got), ref.data)).toBeLessThan(1e-4);
  }
  tf.dispose([gGrads.value, ...Object.values(gGrads.grads)]);

  for (let i = 0; i < 3; i++) {
    const l = await trainStep(s, batch, i);
    const w = want.losses[i]!;
    for (const k of ['G', 'G_adv', 'G_L1', 'D'] as const) expect(Math.abs(l[k] - w[k]!) / Math.abs(w[k]!)).toBeLessThan(1e-5);
  }
  const gFinal = await G.toTorch();
  const dFinal = await D.toTorch();
  for (const [k, v] of gFinal) expect(maxAbsDiff(v.data, f.get(`G_final.${k}`)!.data)).toBeLessThan(2e-6);
  // D's conv biases in front of an InstanceNorm get a mathematically zero
  // gradient (IN subtracts the per-channel mean); both frameworks see only
  // float noise there, and Adam turns noise into +-lr steps. Those three
  // biases are checked to stay within 3 steps of lr; all else to 2e-6.
  const noiseOnly = new Set(['model.2.bias', 'model.5.bias', 'model.8.bias']);
  for (const [k, v] of dFinal) {
    expect(maxAbsDiff(v.data, f.get(`D_final.${k}`)!.data), k).toBeLessThan(noiseOnly.has(k) ? 6.1e-4 * 2 : 2e-6);
  }
  // The weights did move (so the comparison above is not vacuous).
  expect(changed(gFinal, new Map([...f].filter(([k]) => k.startsWith('G.')).map(([k, v]) => [k.slice(2), v])))).toBeGreaterThan(1e-4);
  tf.dispose([batch.cond, batch.real]);
  disposeSetup(s);
}
