/** The last pipeline stage: landmark image -> synthesised face with a trained generator (eval mode). */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { fromUnitRange, toUnitRange, type RgbImage } from '../io/images.js';
import { readWeights } from '../io/weights.js';
import { fromTorchMap, Params } from '../models/params.js';
import { networks } from '../models/registry.js';
import { checkUNetSize, unetForward, unetSpecs, type UNetConfig } from '../models/unet.js';
import type { SplitGenerator } from './split-generator.js';

export interface Generator {
  cfg: UNetConfig;
  params: Params;
  source: string;
  /** One image at a time on two threads (src/pipeline/split-generator.ts); same output. */
  split?: SplitGenerator;
  dispose(): void;
}

/** Loads a generator from a .safetensors file or a checkpoint directory. Caller disposes. */
export function loadGenerator(path: string): Generator {
  const { tensors, source } = readWeights(path, 'generator.safetensors', 'down1.model.0.weight');
  const cfg = networks.unet.inferConfig(tensors, source);
  const params = new Params(unetSpecs(cfg), fromTorchMap(tensors, source), 'G');
  return { cfg, params, source, dispose: () => params.dispose() };
}

/** Runs the generator on landmark images (all the same size). Returns RGB faces. */
export async function generateFaces(g: Generator, conditions: RgbImage[]): Promise<RgbImage[]> {
  if (conditions.length === 0) return [];
  const { width: w, height: h } = conditions[0]!;
  for (const c of conditions) {
    if (c.width !== w || c.height !== h) throw new InputError(`condition images differ in size (${c.width}x${c.height} vs ${w}x${h})`);
  }
  checkUNetSize(g.cfg, h, w);
  const px = w * h * 3;
  const data = new Float32Array(conditions.length * px);
  conditions.forEach((c, i) => toUnitRange(c.data, data, i * px));
  if (g.split) {
    const out: RgbImage[] = [];
    for (let i = 0; i < conditions.length; i++) {
      const x = tf.tensor4d(data.subarray(i * px, (i + 1) * px), [1, h, w, 3]);
      const y = await g.split.forward(x);
      const d = await y.data();
      tf.dispose([x, y]);
      out.push({ width: w, height: h, data: fromUnitRange(d as Float32Array) });
    }
    return out;
  }
  const x = tf.tensor4d(data, [conditions.length, h, w, 3]);
  const y = unetForward(g.params, g.cfg, x, { training: false });
  const out = await y.data();
  tf.dispose([x, y]);
  return conditions.map((_, i) => ({ width: w, height: h, data: fromUnitRange(out.subarray(i * px, (i + 1) * px)) }));
}
