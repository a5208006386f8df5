/** Every public tensor function leaves the tensor count unchanged. */
import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { instanceNorm, convDown, convUp, convPad21, upsampleNearest2x, maybeDropout } from '../../src/models/ops.js';
import { Params, referenceInit } from '../../src/models/params.js';
import { runNetwork } from '../../src/models/run.js';
import { generateFaces, loadGenerator } from '../../src/pipeline/generate.js';
import { Adam } from '../../src/train/adam.js';
import { l1, mseToConstant } from '../../src/train/losses.js';
import { unetSpecs } from '../../src/models/unet.js';
import { fixtureDir, loadFixture } from '../helpers/fixtures.js';
import { expectNoLeak } from '../helpers/tensors.js';

describe('no tensor leaks', () => {
  it('ops, losses', async () => {
    const x = tf.randomNormal([1, 8, 8, 4]) as tf.Tensor4D;
    const w = tf.randomNormal([4, 4, 4, 4]) as tf.Tensor4D;
    const b = tf.zeros([4]) as tf.Tensor1D;
    await expectNoLeak(() => {
      tf.dispose([instanceNorm(x), convDown(x, w, b), convUp(x, w), convPad21(x, w, b), upsampleNearest2x(x), maybeDropout(x, 0.5, true, 1)]);
      tf.dispose([mseToConstant(x, 1), l1(x, x)]);
    });
    tf.dispose([x, w, b]);
  });

  it('Adam.apply and its state round trip', async () => {
    const cfg = { inChannels: 3, outChannels: 3, ngf: 2, depth: 2, dropout: 0 };
    const p = new Params(unetSpecs(cfg), referenceInit(1));
    const opt = new Adam(p, { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
    await expectNoLeak(async () => {
      const g = tf.variableGrads(() => tf.sum(tf.square(p.get('final.2.bias'))) as tf.Scalar, p.list());
      opt.apply(g.grads);
      tf.dispose([g.value, ...Object.values(g.grads)]);
      const st = await opt.stateTensors('G.');
      opt.loadState(st, 'G.', opt.step, 'test');
    });
    opt.dispose();
    p.dispose();
  });

  it('generateFaces and runNetwork', async () => {
    const g = loadGenerator(`${fixtureDir}pix2pix/unet_small.safetensors`);
    const cond = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3) };
    await expectNoLeak(() => generateFaces(g, [cond, cond]));
    g.dispose();
    const f = loadFixture('pix2pix/unet_small.safetensors');
    await expectNoLeak(() => runNetwork('unet', `${fixtureDir}pix2pix/unet_small.safetensors`, f, 'fixture'));
  });
});
