/**
 * ConvNeXt in TF.js == torchvision / timm (eval mode), on fixtures made by
 * test/fixtures/convnext/make_fixtures.py (torch 2.13, torchvision 0.28, timm 1.0).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelLoadError } from '../../src/errors.js';
import { readTorchCheckpoint } from '../../src/io/torch-checkpoint.js';
import {
  convnextConfig, convnextFeatures, convnextForward, convnextInit, convnextSpecs, convnextValues,
  inferConvNextConfig, stochasticDepthSchedule, timmToTorchvision,
} from '../../src/models/convnext.js';
import { paramCount, Params } from '../../src/models/params.js';
import { runNetwork } from '../../src/models/run.js';
import { fixtureDir, formulaInput, formulaWeights, loadFixture } from '../helpers/fixtures.js';

const dir = `${fixtureDir}convnext/`;
const meta = JSON.parse(readFileSync(`${dir}meta.json`, 'utf8')) as { micro: { params: number }; timm_micro: { params: number } };

function nhwc(data: Float32Array, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): { maxAbs: number; rel: number } {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    maxRef = Math.max(maxRef, Math.abs(want[i]!));
  }
  return { maxAbs, rel: maxAbs / maxRef };
}

describe('ConvNeXt architecture', () => {
  it('parameter counts equal torchvision 0.28 (tiny, small, base, large) and the micro fixture', () => {
    expect(paramCount(convnextSpecs(convnextConfig('convnext_tiny', 1000)))).toBe(28_589_128);
    expect(paramCount(convnextSpecs(convnextConfig('convnext_small', 1000)))).toBe(50_223_688);
    expect(paramCount(convnextSpecs(convnextConfig('convnext_large', 1000)))).toBe(197_767_336);
    expect(paramCount(convnextSpecs(convnextConfig('convnext_base', 1000)))).toBe(88_591_464);
    expect(paramCount(convnextSpecs(convnextConfig('convnext_micro', 3)))).toBe(meta.micro.params);
    expect(paramCount(convnextSpecs(convnextConfig('convnext_micro', 3)))).toBe(meta.timm_micro.params);
  });

  it('stochastic-depth schedule is linear from 0 to p over all blocks (torchvision)', () => {
    const s = stochasticDepthSchedule(convnextConfig('convnext_base', 10));
    expect(s).toHaveLength(36);
    expect(s[0]).toBe(0);
    expect(s[35]).toBeCloseTo(0.5, 15);
    expect(s[18]).toBeCloseTo((0.5 * 18) / 35, 15);
  });

  it('rejects unknown archs, bad class counts and too-small inputs', () => {
    expect(() => convnextConfig('convnext_huge', 3)).toThrow(ConfigError);
    expect(() => convnextConfig('convnext_tiny', 0)).toThrow(/positive integer/);
    const cfg = convnextConfig('convnext_micro', 3);
    const p = new Params(convnextSpecs(cfg), convnextInit(1));
    const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    expect(() => convnextForward(p, cfg, x)).toThrow(/at least 32x32/);
    x.dispose();
    p.dispose();
  });
});

describe('ConvNeXt parity with PyTorch', () => {
  it('micro, torchvision .pth: logits and pooled features within 1e-4', async () => {
    const { tensors } = readTorchCheckpoint(`${dir}micro.pth`);
    const io = loadFixture('convnext/micro_io.safetensors');
    const cfg = inferConvNextConfig(tensors, 'micro.pth');
    expect(cfg.depths).toEqual([1, 1, 2, 1]);
    expect(cfg.widths).toEqual([8, 16, 24, 32]);
    expect(cfg.numClasses).toBe(3);
    const { values, headReplaced } = convnextValues(tensors, cfg, 'micro.pth', convnextInit(0));
    expect(headReplaced).toBe(false);
    const p = new Params(convnextSpecs(cfg), values);
    const x = nhwc(io.get('input')!.data, io.get('input')!.shape);
    const y = convnextForward(p, cfg, x);
    const f = convnextFeatures(p, cfg, x);
    expect(y.shape).toEqual([2, 3]);
    expect(relErr(await y.data(), io.get('output')!.data).maxAbs).toBeLessThan(1e-4);
    expect(relErr(await f.data(), io.get('features')!.data).maxAbs).toBeLessThan(1e-4);
    tf.dispose([x, y, f]);
    p.dispose();
  });

  it('micro, timm names: converted and within 1e-4', async () => {
    const f = loadFixture('convnext/timm_micro.safetensors');
    const w = timmToTorchvision(f);
    const cfg = inferConvNextConfig(w, 'timm');
    const p = new Params(convnextSpecs(cfg), convnextValues(w, cfg, 'timm', convnextInit(0)).values);
    const x = nhwc(f.get('input')!.data, f.get('input')!.shape);
    const y = convnextForward(p, cfg, x);
    expect(relErr(await y.data(), f.get('output')!.data).maxAbs).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    p.dispose();
  });

  it('convnext_base with formula weights at 224 px: 1000 logits within 1e-3 relative', async () => {
    const ref = JSON.parse(readFileSync(`${dir}base_formula.json`, 'utf8')) as { A: number; output: number[]; state_dict_entries: number };
    const cfg = convnextConfig('convnext_base', 1000);
    const specs = convnextSpecs(cfg);
    expect(specs).toHaveLength(ref.state_dict_entries);
    const w = formulaWeights(specs, ref.A);
    const p = new Params(specs, convnextValues(w, cfg, 'formula', convnextInit(0)).values);
    w.clear();
    const x = nhwc(formulaInput(3 * 224 * 224), [1, 3, 224, 224]);
    const y = convnextForward(p, cfg, x);
    const e = relErr(await y.data(), ref.output);
    expect(e.rel).toBeLessThan(1e-3);
    tf.dispose([x, y]);
    p.dispose();
  }, 120_000);
});

describe('ConvNeXt weights', () => {
  it('replaces the head when the class count differs, keeping the body', async () => {
    const { tensors } = readTorchCheckpoint(`${dir}micro.pth`);
    const io = loadFixture('convnext/micro_io.safetensors');
    const cfg = { ...inferConvNextConfig(tensors, 'micro.pth'), numClasses: 5 };
    const { values, headReplaced } = convnextValues(tensors, cfg, 'micro.pth', convnextInit(0));
    expect(headReplaced).toBe(true);
    const p = new Params(convnextSpecs(cfg), values);
    const x = nhwc(io.get('input')!.data, io.get('input')!.shape);
    const f = convnextFeatures(p, cfg, x);
    const y = convnextForward(p, cfg, x);
    expect(y.shape).toEqual([2, 5]);
    expect(relErr(await f.data(), io.get('features')!.data).maxAbs).toBeLessThan(1e-4);
    expect(Array.from(await p.get('classifier.2.bias').data())).toEqual([0, 0, 0, 0, 0]);
    tf.dispose([x, y, f]);
    p.dispose();
  });

  it('names the first mismatching tensor for weights of another architecture', () => {
    const { tensors } = readTorchCheckpoint(`${dir}micro.pth`);
    const cfg = convnextConfig('convnext_tiny', 3);
    const { values } = convnextValues(tensors, cfg, 'micro.pth', convnextInit(0));
    expect(() => new Params(convnextSpecs(cfg), values)).toThrow(ModelLoadError);
    expect(() => new Params(convnextSpecs(cfg), values)).toThrow(/'features\.0\.0\.weight' has shape \[8,3,4,4\], expected \[96,3,4,4\]/);
  });

  it('round-trips torchvision layouts through Params.toTorch', async () => {
    const { tensors } = readTorchCheckpoint(`${dir}micro.pth`);
    const cfg = inferConvNextConfig(tensors, 'micro.pth');
    const p = new Params(convnextSpecs(cfg), convnextValues(tensors, cfg, 'micro.pth', convnextInit(0)).values);
    const back = await p.toTorch();
    for (const [k, t] of back) {
      const src = tensors.get(k)!;
      expect(Array.from(t.data)).toEqual(Array.from(src.data));
    }
    p.dispose();
  });

  it('ganon model run path: convnext_micro from the .pth, NCHW in, logits out', async () => {
    const io = loadFixture('convnext/micro_io.safetensors');
    const out = await runNetwork('convnext_micro', `${dir}micro.pth`, new Map([['input', io.get('input')!]]), 'io');
    expect(out.get('output')!.shape).toEqual([2, 3]);
    expect(relErr(out.get('output')!.data, io.get('output')!.data).maxAbs).toBeLessThan(1e-4);
    await expect(runNetwork('convnext_tiny', `${dir}micro.pth`, new Map([['input', io.get('input')!]]), 'io')).rejects.toThrow(/convnext_micro .* not convnext_tiny/);
  });

  it('forward, training-mode forward and gradients leak no tensors', () => {
    const cfg = { ...convnextConfig('convnext_micro', 3), stochasticDepth: 0.5 };
    const p = new Params(convnextSpecs(cfg), convnextInit(3));
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose(convnextForward(p, cfg, x));
      tf.dispose(convnextForward(p, cfg, x, { training: true, seed: i }));
      tf.dispose(convnextFeatures(p, cfg, x));
      const { value, grads } = tf.variableGrads(() => tf.mean(convnextForward(p, cfg, x, { training: true, seed: i })) as tf.Scalar, p.list());
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    p.dispose();
  });
});

describe('dense (matMul with transpose-free gradients)', () => {
  it('has the values and gradients of tf.matMul', async () => {
    const { dense } = await import('../../src/models/ops.js');
    const x = tf.randomNormal([37, 12], 0, 1, 'float32', 3) as tf.Tensor2D;
    const w = tf.randomNormal([12, 20], 0, 1, 'float32', 4) as tf.Tensor2D;
    const dy = tf.randomNormal([37, 20], 0, 1, 'float32', 5);
    const f1 = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(dense(a as tf.Tensor2D, b as tf.Tensor2D), dy));
    const f2 = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), dy));
    const [g1x, g1w] = tf.grads(f1)([x, w]);
    const [g2x, g2w] = tf.grads(f2)([x, w]);
    expect(relErr(await g1x!.data(), await g2x!.data()).rel).toBeLessThan(1e-6);
    expect(relErr(await g1w!.data(), await g2w!.data()).rel).toBeLessThan(1e-6);
    const before = tf.memory().numTensors;
    tf.dispose(dense(x, w));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, dy, g1x!, g1w!, g2x!, g2w!]);
  });
});

describe('LayerNorm and GELU with hand-written gradients', () => {
  const composedLn = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6))), w), b);
  };
  const composedGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));

  it('match autograd of the composed ops (values and every gradient)', async () => {
    const { layerNorm, gelu } = await import('../../src/models/convnext.js');
    const x = tf.mul(tf.randomNormal([2, 5, 3, 16], 0, 1, 'float32', 11), 3);
    const w = tf.randomNormal([16], 1, 0.3, 'float32', 12);
    const b = tf.randomNormal([16], 0, 0.3, 'float32', 13);
    const dy = tf.randomNormal([2, 5, 3, 16], 0, 1, 'float32', 14);
    const loss = (f: (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), dy));
    const mine = tf.grads(loss((a, c, d) => layerNorm(a, c, d)))([x, w, b]);
    const ref = tf.grads(loss(composedLn))([x, w, b]);
    for (let i = 0; i < 3; i++) expect(relErr(await mine[i]!.data(), await ref[i]!.data()).rel, `LayerNorm grad ${i}`).toBeLessThan(1e-5);
    expect(relErr(await layerNorm(x, w, b).data(), await composedLn(x, w, b).data()).rel).toBeLessThan(1e-6);
    const gm = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), dy)))(x);
    const gr = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(composedGelu(a), dy)))(x);
    expect(relErr(await gm.data(), await gr.data()).rel, 'GELU grad').toBeLessThan(1e-5);
    const before = tf.memory().numTensors;
    tf.dispose([layerNorm(x, w, b), gelu(x)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b, dy, gm, gr, ...mine, ...ref]);
  });
});
