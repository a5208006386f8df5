/**
 * AdamW, ReduceLROnPlateau, the weighted losses and balanced class weights
 * against torch / sklearn (test/fixtures/classifier/make_fixtures.py), and
 * Lightning's EarlyStopping on a scripted loss sequence worked out by hand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ParamSpec } from '../../src/models/params.js';
import { Params } from '../../src/models/params.js';
import { Adam } from '../../src/train/adam.js';
import { balancedWeights, multilabelWeights, weightedBceWithLogits, weightedCrossEntropy } from '../../src/train/classifier-loss.js';
import { EarlyStopping, ReduceLrOnPlateau, TORCH_PLATEAU } from '../../src/train/schedule.js';
import { fixtureDir } from '../helpers/fixtures.js';

const fx = JSON.parse(readFileSync(`${fixtureDir}classifier/optim.json`, 'utf8'));

describe('AdamW (decoupled weight decay) == torch.optim.AdamW', () => {
  it('three steps match to 1e-7', async () => {
    const a = fx.adamw;
    const specs: ParamSpec[] = [
      { name: 'p1', kind: 'linear', torchShape: [3, 4], fanIn: 4 },
      { name: 'p2', kind: 'bias', torchShape: [5], fanIn: 1 },
    ];
    // linear layout is transposed inside TF; feed torch layout through Params.
    const init = (a.init as number[][]).map((v) => Float32Array.from(v));
    const p = new Params(specs, (s) => (s.name === 'p1' ? tfLayout(init[0]!, 3, 4) : init[1]!));
    const opt = new Adam(p, { lr: a.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: a.weight_decay });
    for (let step = 0; step < 3; step++) {
      const [g1, g2] = (a.grads[step] as number[][]).map((v) => Float32Array.from(v));
      const grads = { [p.get('p1').name]: tf.tensor(tfLayout(g1!, 3, 4), [4, 3]), [p.get('p2').name]: tf.tensor(g2!) };
      opt.apply(grads);
      tf.dispose(Object.values(grads));
      const t = await p.toTorch();
      const want = a.after[step] as number[][];
      for (const [i, name] of ['p1', 'p2'].entries()) {
        const got = t.get(name)!.data;
        want[i]!.forEach((w, j) => expect(Math.abs(got[j]! - w)).toBeLessThan(1e-7));
      }
    }
    // without weight decay the same steps differ (the decay is really applied)
    expect(opt.lr).toBe(a.lr);
    opt.dispose();
    p.dispose();
  });
});

function tfLayout(torch: Float32Array, out: number, inn: number): Float32Array {
  const r = new Float32Array(torch.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) r[i * out + o] = torch[o * inn + i]!;
  return r;
}

describe('ReduceLROnPlateau == torch', () => {
  it('reproduces the learning rates of a scripted validation-loss sequence', () => {
    const s = new ReduceLrOnPlateau({ ...TORCH_PLATEAU, factor: fx.plateau.factor, patience: fx.plateau.patience });
    let lr = 3e-4;
    const lrs = (fx.plateau.losses as number[]).map((v) => (lr = s.step(v, lr)));
    lrs.forEach((v, i) => expect(v).toBeCloseTo(fx.plateau.lrs[i], 15));
  });
});

describe('EarlyStopping (Lightning, mode min, min_delta 0)', () => {
  it('stops after `patience` checks without a strict improvement', () => {
    const e = new EarlyStopping(5);
    // best 0.5 at check 2; checks 3..7 are not below it (0.5 equal does not count) -> stop at check 7
    const seq = [1, 0.5, 0.6, 0.5, 0.7, 0.55, 0.9, 0.1];
    const stops = seq.map((v) => e.step(v));
    expect(stops).toEqual([false, false, false, false, false, false, true, true]);
    expect(e.state.best).toBe(0.5);
  });
  it('an improvement resets the wait; NaN stops at once', () => {
    const e = new EarlyStopping(2);
    expect([1, 2, 0.5, 3, 4].map((v) => e.step(v))).toEqual([false, false, false, false, true]);
    const f = new EarlyStopping(5);
    expect(f.step(Number.NaN)).toBe(true);
  });
});

describe('losses == torch', () => {
  it('weighted cross-entropy: loss and gradient', () => {
    const c = fx.ce;
    const x = tf.tensor2d(c.logits);
    const y = tf.tensor1d(c.target, 'int32');
    const w = tf.tensor1d(c.weight);
    const value = weightedCrossEntropy(x as tf.Tensor2D, y, w);
    expect(value.dataSync()[0]).toBeCloseTo(c.loss, 6);
    const g = tf.grad((l: tf.Tensor) => weightedCrossEntropy(l as tf.Tensor2D, y, w))(x);
    (g.arraySync() as number[][]).flat().forEach((v, i) => expect(v).toBeCloseTo((c.grad as number[][]).flat()[i]!, 6));
    tf.dispose([x, y, w, value, g]);
  });
  it("the reference's multi-label BCE: loss and gradient", () => {
    const c = fx.bce;
    const x = tf.tensor2d(c.logits);
    const y = tf.tensor2d(c.target);
    const w = tf.tensor1d(c.weight);
    const loss = weightedBceWithLogits(x as tf.Tensor2D, y as tf.Tensor2D, w);
    expect(loss.dataSync()[0]).toBeCloseTo(c.loss, 6);
    const g = tf.grad((l: tf.Tensor) => weightedBceWithLogits(l as tf.Tensor2D, y as tf.Tensor2D, w))(x);
    (g.arraySync() as number[][]).flat().forEach((v, i) => expect(v).toBeCloseTo((c.grad as number[][]).flat()[i]!, 6));
    tf.dispose([x, y, w, loss, g]);
  });
  it('leak-free', () => {
    const x = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const y = tf.tensor1d([0, 1, 2, 1], 'int32');
    const t = tf.tensor2d([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]]);
    const w = tf.ones([3]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    tf.dispose([weightedCrossEntropy(x, y, w), weightedBceWithLogits(x, t as tf.Tensor2D, w)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, t, w]);
  });
});

describe("balanced class weights == sklearn's compute_class_weight", () => {
  it('multi-class and per-label', () => {
    const b = fx.balanced;
    Array.from(balancedWeights(b.labels, 4)).forEach((v, i) => expect(v).toBeCloseTo(b.weights[i], 12));
    Array.from(multilabelWeights(b.multilabel_target, 3)).forEach((v, i) => expect(v).toBeCloseTo(b.multilabel_weights[i], 12));
  });
  it('rejects out-of-range labels; an absent class gets 0', () => {
    expect(() => balancedWeights([0, 3], 3)).toThrow(/outside 0\.\.2/);
    expect(Array.from(balancedWeights([0, 0, 2], 3))).toEqual([0.5, 0, 1]);
  });
});

describe('classifier class order', () => {
  it("uses a known dataset's label-code order, else sorted names, else the given list", async () => {
    const { classList } = await import('../../src/train/classifier-data.js');
    expect(classList(['Happy', 'Neutral', 'Contempt'])).toEqual(['Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger', 'Contempt']);
    expect(classList(['sadness', 'anger'])).toEqual(['anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise']);
    expect(classList(['neutral', 'sad'])).toEqual(['anger', 'disgust', 'fear', 'happy', 'neutral', 'sad']);
    expect(classList(['stripe', 'circle'])).toEqual(['circle', 'stripe']);
    expect(classList(['a'], ['b', 'a'])).toEqual(['b', 'a']);
  });
});
