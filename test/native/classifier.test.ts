/**
 * The ConvNeXt classifier on the native backend (run by .ci/native.sh): one training step's
 * gradients equal wasm's (depthwise-conv, LayerNorm, GELU and dense gradients are native
 * kernels there), and a few AdamW steps lower the loss.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadNativeBackend } from '../../src/backend/native.js';
import { convnextConfig, convnextForward, convnextInit, convnextSpecs } from '../../src/models/convnext.js';
import { Params } from '../../src/models/params.js';
import { Adam } from '../../src/train/adam.js';
import { weightedCrossEntropy } from '../../src/train/classifier-loss.js';
import { seededValues } from '../helpers/tensors.js';

const probe = await loadNativeBackend();
if (!probe.info) throw new Error('GANON_NATIVE_TESTS=1 but no native backend');

const cfg = { ...convnextConfig('convnext_micro', 3), stochasticDepth: 0 };

async function gradsOn(backend: string): Promise<Map<string, Float32Array>> {
  await tf.setBackend(backend);
  const p = new Params(convnextSpecs(cfg), convnextInit(7));
  const x = tf.tensor4d(seededValues(4 * 64 * 64 * 3, 3), [4, 64, 64, 3]);
  const y = tf.tensor1d([0, 1, 2, 1], 'int32');
  const w = tf.tensor1d([1, 0.5, 2]);
  const { value, grads } = tf.variableGrads(() => weightedCrossEntropy(convnextForward(p, cfg, x, { training: true }), y, w), p.list());
  const out = new Map<string, Float32Array>();
  for (const spec of p.specs) out.set(spec.name, (await grads[p.get(spec.name).name]!.data()) as Float32Array);
  tf.dispose([x, y, w, value, ...Object.values(grads)]);
  p.dispose();
  return out;
}

describe('ConvNeXt classifier on the native backend', () => {
  it('one step: every gradient equals wasm within 1e-4 relative', async () => {
    const wasm = await gradsOn('wasm');
    const nat = await gradsOn('tensorflow');
    for (const [name, g] of wasm) {
      const n = nat.get(name)!;
      let maxDiff = 0;
      let maxRef = 1e-12;
      for (let i = 0; i < g.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(g[i]! - n[i]!));
        maxRef = Math.max(maxRef, Math.abs(g[i]!));
      }
      expect(maxDiff / maxRef, name).toBeLessThan(1e-4);
    }
    await tf.setBackend('wasm');
  });

  it('AdamW steps lower the loss', async () => {
    await tf.setBackend('tensorflow');
    const p = new Params(convnextSpecs(cfg), convnextInit(8));
    const opt = new Adam(p, { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 });
    const x = tf.tensor4d(seededValues(6 * 32 * 32 * 3, 5), [6, 32, 32, 3]);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const w = tf.ones([3]) as tf.Tensor1D;
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { value, grads } = tf.variableGrads(() => weightedCrossEntropy(convnextForward(p, cfg, x, { training: true, seed: i }), y, w), p.list());
      opt.apply(grads);
      losses.push((await value.data())[0]!);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 2);
    tf.dispose([x, y, w]);
    opt.dispose();
    p.dispose();
    await tf.setBackend('wasm');
  });
});
