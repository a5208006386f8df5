/**
 * TF.js forward == PyTorch forward (eval mode) within 1e-4 max abs, on fixtures
 * made by test/fixtures/pix2pix/make_fixtures.py with torch 2.13.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromTorchMap, Params } from '../../src/models/params.js';
import { PAPER_PATCHGAN, patchganForwardConcat, patchganSpecs } from '../../src/models/patchgan.js';
import { PAPER_UNET, unetForward, unetSpecs, type UNetConfig } from '../../src/models/unet.js';
import { fixtureDir, formulaInput, formulaWeights, loadFixture } from '../helpers/fixtures.js';
import { maxAbsDiff } from '../helpers/tensors.js';

const meta = JSON.parse(readFileSync(`${fixtureDir}pix2pix/meta.json`, 'utf8')) as { cases: Record<string, { A?: number }> };

/** The formula amplitude the fixture script chose for a case. */
function amplitude(caseName: string): number {
  const a = meta.cases[caseName]?.A;
  if (a === undefined) throw new Error(`amplitude for ${caseName} not in meta.json`);
  return a;
}

/** NCHW data -> NHWC tensor and back. */
function nchwToNhwc(data: Float32Array, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 2, 3, 1]));
}
async function nhwcToNchw(t: tf.Tensor4D): Promise<Float32Array> {
  const x = tf.transpose(t, [0, 3, 1, 2]);
  const v = (await x.data()) as Float32Array;
  x.dispose();
  return v;
}

describe('PyTorch parity (eval mode)', () => {
  it('small U-Net (ngf 8, depth 5, 32 px, batch 2, seeded weights)', async () => {
    const f = loadFixture('pix2pix/unet_small.safetensors');
    const cfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 8, depth: 5, dropout: 0.5 };
    const p = new Params(unetSpecs(cfg), fromTorchMap(f, 'unet_small'));
    const input = f.get('input')!;
    const x = nchwToNhwc(input.data, input.shape);
    const y = unetForward(p, cfg, x, { training: false });
    const got = await nhwcToNchw(y);
    const want = f.get('output')!;
    expect(want.shape).toEqual([2, 3, 32, 32]);
    expect(maxAbsDiff(got, want.data)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
    p.dispose();
  });

  it('small PatchGAN (ndf 8, 32 px, batch 2, seeded weights)', async () => {
    const f = loadFixture('pix2pix/patchgan_small.safetensors');
    const cfg = { inChannels: 3, ndf: 8 };
    const p = new Params(patchganSpecs(cfg), fromTorchMap(f, 'patchgan_small'));
    const input = f.get('input')!;
    const x = nchwToNhwc(input.data, input.shape);
    const y = patchganForwardConcat(p, cfg, x);
    const got = await nhwcToNchw(y);
    expect(maxAbsDiff(got, f.get('output')!.data)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
    p.dispose();
  });

  it('full 256 px U-Net (54,404,099 params, formula weights)', async () => {
    const specs = unetSpecs(PAPER_UNET);
    const p = new Params(specs, fromTorchMap(formulaWeights(specs, amplitude('unet256_formula')), 'formula'));
    const x = nchwToNhwc(formulaInput(3 * 256 * 256), [1, 3, 256, 256]);
    const y = unetForward(p, PAPER_UNET, x, { training: false });
    const got = await nhwcToNchw(y);
    const want = loadFixture('pix2pix/unet256_formula.safetensors').get('output')!;
    expect(want.shape).toEqual([1, 3, 256, 256]);
    expect(maxAbsDiff(got, want.data)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
    p.dispose();
  });

  it('full 256 px PatchGAN (2,767,808 params, formula weights): 16x16 output', async () => {
    const specs = patchganSpecs(PAPER_PATCHGAN);
    const p = new Params(specs, fromTorchMap(formulaWeights(specs, amplitude('patchgan256_formula')), 'formula'));
    const x = nchwToNhwc(formulaInput(6 * 256 * 256), [1, 6, 256, 256]);
    const y = patchganForwardConcat(p, PAPER_PATCHGAN, x);
    expect(y.shape).toEqual([1, 16, 16, 1]);
    const got = await nhwcToNchw(y);
    expect(maxAbsDiff(got, loadFixture('pix2pix/patchgan256_formula.safetensors').get('output')!.data)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y]);
    p.dispose();
  });
});
