/**
 * The U-Net's eval-mode forward with every layer's output channels split in
 * two: part 0 computes the first half of each layer's channels and part 1 the
 * second half, each from the full input of the layer, and after every layer
 * the two halves are swapped (`HalfExchange`) so both hold the full tensor for
 * the next layer and the skips. Instance norm, the activations and the skip
 * concatenation work per channel, so nothing else crosses. Part 0 alone runs
 * the small final layer and returns the output; part 1 returns null.
 * For two threads with one engine each (src/pipeline/split-generator.ts): on
 * wasm, which runs one thread per engine, this uses both cores for a single
 * image. Same numbers as unetForward (tested bit for bit).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { convDown, convUp, instanceNorm, leakyRelu, upsampleConvPad21 } from './ops.js';
import type { Params } from './params.js';
import { checkUNetSize, unetLayers, type UNetConfig } from './unet.js';

/** Swaps this part's half of layer `step` for the other part's. */
export interface HalfExchange {
  exchange(step: number, mine: Float32Array): Promise<Float32Array>;
}

/** One part's weight slices (kept tensors; dispose() frees them). */
export interface SplitWeights {
  part: 0 | 1;
  downs: tf.Tensor4D[];
  ups: tf.Tensor4D[];
  final: { w: tf.Tensor4D; b: tf.Tensor1D } | null;
  dispose(): void;
}

/** True when every layer has an even channel count (the paper network does). */
export function canSplitUNet(cfg: UNetConfig): boolean {
  const { downs, ups } = unetLayers(cfg);
  return [...downs, ...ups].every((l) => l.cout % 2 === 0);
}

/** A part's slices as plain arrays (to move to another thread) and back. */
export interface SplitWeightData { part: 0 | 1; tensors: { shape: number[]; data: Float32Array }[] }

export async function splitWeightData(w: SplitWeights): Promise<SplitWeightData> {
  const all = [...w.downs, ...w.ups, ...(w.final ? [w.final.w, w.final.b] : [])];
  return { part: w.part, tensors: await Promise.all(all.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array }))) };
}

export function splitWeightsFrom(d: SplitWeightData, cfg: UNetConfig): SplitWeights {
  const { downs, ups } = unetLayers(cfg);
  const ts = d.tensors.map((t) => tf.tensor(t.data, t.shape));
  const w = {
    downs: ts.slice(0, downs.length) as tf.Tensor4D[],
    ups: ts.slice(downs.length, downs.length + ups.length) as tf.Tensor4D[],
    final: d.part === 0 ? { w: ts[downs.length + ups.length] as tf.Tensor4D, b: ts[downs.length + ups.length + 1] as tf.Tensor1D } : null,
  };
  return { part: d.part, ...w, dispose: () => tf.dispose(ts) };
}

/** The output-channel half `part` of every layer's weights. */
export function splitUNetWeights(p: Params, cfg: UNetConfig, part: 0 | 1): SplitWeights {
  if (!canSplitUNet(cfg)) throw new InputError('this generator has a layer with an odd channel count: it cannot be split in two');
  const { downs, ups } = unetLayers(cfg);
  const half = (t: tf.Tensor4D, axis: 2 | 3): tf.Tensor4D => {
    const n = t.shape[axis] / 2;
    const begin = [0, 0, 0, 0];
    const size = [-1, -1, -1, -1];
    begin[axis] = part * n;
    size[axis] = n;
    return tf.slice(t, begin, size); // one new tensor each, no intermediates
  };
  const w = {
    downs: downs.map((d) => half(p.get(`${d.name}.model.0.weight`) as tf.Tensor4D, 3)), // [kh, kw, in, out]
    ups: ups.map((u) => half(p.get(`${u.name}.model.0.weight`) as tf.Tensor4D, 2)), // [kh, kw, out, in]
    final: part === 0 ? { w: tf.clone(p.get('final.2.weight') as tf.Tensor4D), b: tf.clone(p.get('final.2.bias') as tf.Tensor1D) } : null,
  };
  return {
    part, ...w,
    dispose() {
      tf.dispose([...w.downs, ...w.ups, ...(w.final ? [w.final.w, w.final.b] : [])]);
    },
  };
}

/** x: [b, H, W, in] in [-1, 1]. Part 0 returns the output (caller disposes); part 1 returns null. */
export async function unetForwardSplit(w: SplitWeights, cfg: UNetConfig, x: tf.Tensor4D, ex: HalfExchange): Promise<tf.Tensor4D | null> {
  const [, h, wd, c] = x.shape;
  checkUNetSize(cfg, h, wd);
  if (c !== cfg.inChannels) throw new InputError(`generator input has ${c} channels, expected ${cfg.inChannels}`);
  const { downs } = unetLayers(cfg);
  let step = 0;
  const owned: tf.Tensor[] = [];
  /** This part's half -> the full tensor (first half from part 0). */
  const swap = async (mine: tf.Tensor4D): Promise<tf.Tensor4D> => {
    // a copy of our own: the cpu backend's dataSync returns the tensor's storage, which a transfer would detach
    const other = await ex.exchange(step++, (mine.dataSync() as Float32Array).slice());
    const full = tf.tidy(() => {
      const o = tf.tensor4d(other, mine.shape);
      return tf.concat(w.part === 0 ? [mine, o] : [o, mine], 3);
    });
    mine.dispose();
    return full;
  };
  try {
    const skips: tf.Tensor4D[] = [];
    let y = x;
    for (const [i, d] of downs.entries()) {
      const mine = tf.tidy(() => {
        let t = convDown(y, w.downs[i]!);
        if (d.norm) t = instanceNorm(t);
        return leakyRelu(t, 0.2);
      });
      y = await swap(mine);
      owned.push(y);
      skips.push(y);
    }
    skips.pop(); // the innermost output is y itself, not a skip
    for (const [j] of w.ups.entries()) {
      const up = y;
      const mine = tf.tidy(() => tf.relu(instanceNorm(convUp(up, w.ups[j]!))));
      const full = await swap(mine);
      y = tf.concat([full, skips.pop()!], 3); // upsampled first, then the skip
      full.dispose();
      owned.push(y);
    }
    if (w.final === null) return null;
    const last = y;
    return tf.tidy(() => tf.tanh(upsampleConvPad21(last, w.final!.w, w.final!.b)));
  } finally {
    tf.dispose(owned);
  }
}
