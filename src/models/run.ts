/**
 * `ganon model run`: one registered network, eval mode, on a raw float32 NCHW
 * tensor named `input`; returns `output` in NCHW. This is how ported weights
 * are checked against PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import type { TensorMap } from '../io/safetensors.js';
import { readWeights } from '../io/weights.js';
import { getNetwork } from './registry.js';
import { fromTorchMap, Params } from './params.js';

const PROBES: Record<string, [string, string]> = {
  unet: ['generator.safetensors', 'down1.model.0.weight'],
  patchgan: ['discriminator.safetensors', 'model.0.weight'],
};

export async function runNetwork(arch: string, weightsPath: string, input: TensorMap, inputSource: string): Promise<TensorMap> {
  const def = getNetwork(arch);
  const [dirFile, probe] = PROBES[arch] ?? ['weights.safetensors', ''];
  const { tensors, source } = readWeights(weightsPath, dirFile, probe);
  const cfg = def.inferConfig(tensors, source);
  const x = input.get('input');
  if (x === undefined) throw new InputError(`${inputSource}: no tensor named 'input' (found ${[...input.keys()].join(', ') || 'none'})`);
  if (x.shape.length !== 4) throw new InputError(`${inputSource}: 'input' has shape [${x.shape}], expected NCHW [n, c, h, w]`);
  const want = def.inputChannels(cfg);
  if (x.shape[1] !== want) throw new InputError(`${inputSource}: 'input' has ${x.shape[1]} channels, ${arch} expects ${want}`);
  const params = new Params(def.specs(cfg), fromTorchMap(tensors, source), arch);
  try {
    const t = tf.tidy(() => tf.transpose(tf.tensor4d(x.data, x.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
    const y = def.forward(params, cfg, t);
    const yT = tf.transpose(y, [0, 3, 1, 2]);
    const data = (await yT.data()) as Float32Array;
    const shape = yT.shape.slice();
    tf.dispose([t, y, yT]);
    return new Map([['output', { shape, data }]]);
  } finally {
    params.dispose();
  }
}
