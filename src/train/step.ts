/**
 * One pix2pix training step, as the reference does it: a G step, then a D step,
 * each with its own Adam and an explicit variable list, so one network can never
 * update the other.
 *   loss_G = MSE(D(G(a), a), 1) + lambda * L1(G(a), b)
 *   loss_D = 0.5 * (MSE(D(b, a), 1) + MSE(D(fake, a), 0))
 * where a is the landmark image (condition) and b the face. `fake` is the G
 * step's output, detached (reuse, pix2pix) or a second G forward (regenerate,
 * what the authors' Lightning module does).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../models/params.js';
import { patchganForward, type PatchGanConfig } from '../models/patchgan.js';
import { unetForward, type UNetConfig } from '../models/unet.js';
import { Adam, type AdamConfig } from './adam.js';
import { RemoteD, type DOptimizer } from './d-thread.js';
import { l1, mseToConstant } from './losses.js';

export interface Losses { G: number; G_adv: number; G_L1: number; D: number }
export const LOSS_NAMES = ['G', 'G_adv', 'G_L1', 'D'] as const;

export interface GanSetup {
  G: Params;
  D: Params;
  gCfg: UNetConfig;
  dCfg: PatchGanConfig;
  optG: Adam;
  optD: Adam;
  lambdaL1: number;
  discriminatorFake: 'reuse' | 'regenerate';
  /** The D step on a second thread (src/train/d-thread.ts); then optD is unused and D mirrors the thread's. */
  remoteD?: RemoteD;
}

/** D's optimizer state, wherever it lives (checkpoints, resume). */
export function dOptimizer(s: GanSetup): DOptimizer {
  return s.remoteD ?? s.optD;
}

/** Moves the D step to a second thread (only with discriminatorFake 'reuse'); same numbers as without. */
export async function attachRemoteD(s: GanSetup, backend: string): Promise<void> {
  if (s.discriminatorFake !== 'reuse') throw new Error("the discriminator thread needs discriminatorFake 'reuse'");
  s.remoteD = await RemoteD.start(s.D, s.dCfg, s.optD.cfg, backend);
}

export function makeSetup(G: Params, D: Params, gCfg: UNetConfig, dCfg: PatchGanConfig, adam: AdamConfig,
  lambdaL1: number, discriminatorFake: 'reuse' | 'regenerate'): GanSetup {
  return { G, D, gCfg, dCfg, optG: new Adam(G, adam), optD: new Adam(D, adam), lambdaL1, discriminatorFake };
}

export interface Batch {
  /** Landmark images, [b, S, S, 3] in [-1, 1]. */
  cond: tf.Tensor4D;
  /** Faces, [b, S, S, 3] in [-1, 1]. */
  real: tf.Tensor4D;
}

/**
 * G step. Returns its loss scalars and the fake (detached); caller disposes all.
 * `onFake` sees the fake as soon as the forward has it, before the backward pass.
 */
export function gStep(s: GanSetup, batch: Batch, seed: number, onFake?: (fake: tf.Tensor4D) => void): { G: tf.Scalar; G_adv: tf.Scalar; G_L1: tf.Scalar; fake: tf.Tensor4D } {
  let kept: { adv: tf.Scalar; l1: tf.Scalar; fake: tf.Tensor4D } | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const fake = unetForward(s.G, s.gCfg, batch.cond, { training: true, seed });
    onFake?.(fake);
    const adv = mseToConstant(patchganForward(s.D, s.dCfg, fake, batch.cond), 1);
    const pix = l1(fake, batch.real);
    kept = { adv: tf.keep(adv), l1: tf.keep(pix), fake: tf.keep(fake) };
    return tf.add(adv, tf.mul(pix, s.lambdaL1)) as tf.Scalar;
  }, s.G.list());
  s.optG.apply(grads);
  tf.dispose(grads);
  return { G: value, G_adv: kept!.adv, G_L1: kept!.l1, fake: kept!.fake };
}

/** D step on a given fake (treated as a constant). Returns loss_D; caller disposes. */
export function dStep(s: GanSetup, batch: Batch, fake: tf.Tensor4D): tf.Scalar {
  const { value, grads } = tf.variableGrads(() => {
    const real = mseToConstant(patchganForward(s.D, s.dCfg, batch.real, batch.cond), 1);
    const fk = mseToConstant(patchganForward(s.D, s.dCfg, fake, batch.cond), 0);
    return tf.mul(tf.add(real, fk), 0.5) as tf.Scalar;
  }, s.D.list());
  s.optD.apply(grads);
  tf.dispose(grads);
  return value;
}

/** G step then D step; reads the four losses back (one sync). */
export async function trainStep(s: GanSetup, batch: Batch, seed: number): Promise<Losses> {
  const remote = s.remoteD;
  if (remote) {
    // the D step runs on the other thread while this one back-propagates the G loss
    const shape = batch.real.shape;
    const real = batch.real.dataSync() as Float32Array;
    const cond = batch.cond.dataSync() as Float32Array;
    const g = gStep(s, batch, seed, (fake) => remote.post(fake.dataSync() as Float32Array, real, cond, shape));
    let D: number;
    try {
      D = await remote.finish();
    } finally {
      g.fake.dispose();
    }
    const [G, G_adv, G_L1] = await Promise.all([g.G.data(), g.G_adv.data(), g.G_L1.data()]);
    tf.dispose([g.G, g.G_adv, g.G_L1]);
    return { G: G[0]!, G_adv: G_adv[0]!, G_L1: G_L1[0]!, D };
  }
  const g = gStep(s, batch, seed);
  let fake = g.fake;
  if (s.discriminatorFake === 'regenerate') {
    fake.dispose();
    fake = tf.tidy(() => unetForward(s.G, s.gCfg, batch.cond, { training: true, seed: seed + 1 }));
  }
  const d = dStep(s, batch, fake);
  const [G, G_adv, G_L1, D] = await Promise.all([g.G.data(), g.G_adv.data(), g.G_L1.data(), d.data()]);
  tf.dispose([g.G, g.G_adv, g.G_L1, fake, d]);
  return { G: G[0]!, G_adv: G_adv[0]!, G_L1: G_L1[0]!, D: D[0]! };
}

export function disposeSetup(s: GanSetup): void {
  s.remoteD?.dispose();
  s.optG.dispose();
  s.optD.dispose();
  s.G.dispose();
  s.D.dispose();
}
