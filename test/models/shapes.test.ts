import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { paramCount, Params, referenceInit } from '../../src/models/params.js';
import { PAPER_PATCHGAN, patchganForward, patchganSpecs } from '../../src/models/patchgan.js';
import { summary } from '../../src/models/registry.js';
import { PAPER_UNET, unetForward, unetSpecs, type UNetConfig } from '../../src/models/unet.js';
import { expectNoLeak } from '../helpers/tensors.js';

describe('network sizes', () => {
  it('generator has 54,404,099 parameters and the reference block breakdown', () => {
    const specs = unetSpecs(PAPER_UNET);
    expect(paramCount(specs)).toBe(54_404_099);
    const per = (prefix: string) => paramCount(specs.filter((s) => s.name.startsWith(prefix)));
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((i) => per(`down${i}.`))).toEqual([3072, 131072, 524288, 2097152, 4194304, 4194304, 4194304, 4194304]);
    expect([1, 2, 3, 4, 5, 6, 7].map((i) => per(`up${i}.`))).toEqual([4194304, 8388608, 8388608, 8388608, 4194304, 1048576, 262144]);
    expect(per('final.')).toBe(6147);
  });

  it('discriminator has 2,767,808 parameters', () => {
    expect(paramCount(patchganSpecs(PAPER_PATCHGAN))).toBe(2_767_808);
  });

  it('summary reports the same counts and D output 16x16 at 256, 32x32 at 512', () => {
    expect(summary(256).discriminator.output).toEqual([16, 16, 1]);
    expect(summary(512).discriminator.output).toEqual([32, 32, 1]);
    expect(summary(512).generator).toMatchObject({ params: 54_404_099, output: [512, 512, 3] });
  });

  it('rejects sizes that are not multiples of 256 for the full network', () => {
    expect(() => summary(300)).toThrow(InputError);
    expect(() => summary(128)).toThrow(/multiples of 256/);
  });
});

describe('tiny networks run with the right shapes', () => {
  const cfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 4, depth: 5, dropout: 0.5 };

  it('U-Net 32x32, ngf 4: output shape and tanh range, train and eval, no leak', async () => {
    const p = new Params(unetSpecs(cfg), referenceInit(1));
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1) as tf.Tensor4D;
    await expectNoLeak(async () => {
      for (const training of [false, true]) {
        const y = unetForward(p, cfg, x, { training, seed: 3 });
        expect(y.shape).toEqual([2, 32, 32, 3]);
        const v = await y.data();
        expect(Math.max(...v)).toBeLessThan(1);
        expect(Math.min(...v)).toBeGreaterThan(-1);
        y.dispose();
      }
    });
    x.dispose();
    p.dispose();
  });

  it('U-Net eval is deterministic; training dropout depends on the seed only', async () => {
    const p = new Params(unetSpecs(cfg), referenceInit(1));
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const run = async (o: { training: boolean; seed?: number }) => {
      const y = unetForward(p, cfg, x, o);
      const v = await y.data();
      y.dispose();
      return Array.from(v);
    };
    expect(await run({ training: false })).toEqual(await run({ training: false }));
    expect(await run({ training: true, seed: 7 })).toEqual(await run({ training: true, seed: 7 }));
    expect(await run({ training: true, seed: 7 })).not.toEqual(await run({ training: true, seed: 8 }));
    x.dispose();
    p.dispose();
  });

  it('PatchGAN 32x32 gives [b, 2, 2, 1]; wrong input size is a clear error', async () => {
    const d = new Params(patchganSpecs({ inChannels: 3, ndf: 4 }), referenceInit(2));
    const a = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    await expectNoLeak(() => {
      const y = patchganForward(d, { inChannels: 3, ndf: 4 }, a, a);
      expect(y.shape).toEqual([2, 2, 2, 1]);
      y.dispose();
    });
    const bad = tf.zeros([1, 24, 24, 3]) as tf.Tensor4D;
    expect(() => patchganForward(d, { inChannels: 3, ndf: 4 }, bad, bad)).toThrow(/multiples of 16/);
    tf.dispose([a, bad]);
    d.dispose();
  });

  it('U-Net rejects a size that is not a multiple of 2^depth', () => {
    const p = new Params(unetSpecs(cfg), referenceInit(1));
    const x = tf.zeros([1, 48, 40, 3]) as tf.Tensor4D;
    expect(() => unetForward(p, cfg, x, { training: false })).toThrow(/multiples of 32/);
    x.dispose();
    p.dispose();
  });

  it('reference init: conv weights ~ N(0, 0.02), biases within 1/sqrt(fan_in)', async () => {
    const specs = unetSpecs(PAPER_UNET).filter((s) => s.name.startsWith('down4') || s.name.startsWith('final'));
    const init = referenceInit(42);
    for (const s of specs) {
      const v = init(s);
      if (s.kind === 'bias') {
        const bound = 1 / Math.sqrt(s.fanIn);
        expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
      } else if (v.length > 100000) {
        let sum = 0, sq = 0;
        for (const x of v) { sum += x; sq += x * x; }
        const mean = sum / v.length;
        expect(Math.abs(mean)).toBeLessThan(1e-3);
        expect(Math.sqrt(sq / v.length - mean * mean)).toBeCloseTo(0.02, 3);
      }
    }
  });
});
