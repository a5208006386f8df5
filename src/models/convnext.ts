/**
 * torchvision's ConvNeXt (`torchvision/models/convnext.py`), NHWC, with
 * torchvision's state_dict names so `.pth` / `.safetensors` weights load as they are:
 *
 *   features.0        stem: Conv2d(3, w0, k4, s4) + LayerNorm2d(eps 1e-6)
 *   features.{2s+1}   stage s: depths[s] x CNBlock(widths[s])
 *   features.{2s+2}   downsample (s < 3): LayerNorm2d + Conv2d(k2, s2)
 *   classifier        LayerNorm2d -> Flatten -> Linear(w3, numClasses) after a global average pool
 *
 * CNBlock: x + StochasticDepth(layer_scale * Linear(4C->C)(GELU(Linear(C->4C)(LN(dwconv7x7(x)))))).
 * GELU is the exact erf form; LayerNorm eps is 1e-6 everywhere; the stochastic-depth
 * probability of block i (counted over all stages) is p * i / (total - 1), "row" mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ModelLoadError } from '../errors.js';
import type { TensorMap } from '../io/safetensors.js';
import { Rng } from '../util/rng.js';
import { dense } from './ops.js';
import { torchToTf, type Params, type ParamSpec } from './params.js';

export const LN_EPS = 1e-6;

export interface ConvNextConfig {
  depths: number[];
  widths: number[];
  numClasses: number;
  /** Stochastic-depth probability at the last block (training only). */
  stochasticDepth: number;
  inChannels: number;
}

/** torchvision's configurations (and a micro one for tests). */
export const CONVNEXT_ARCHS: Record<string, Omit<ConvNextConfig, 'numClasses'>> = {
  convnext_micro: { depths: [1, 1, 2, 1], widths: [8, 16, 24, 32], stochasticDepth: 0, inChannels: 3 },
  convnext_tiny: { depths: [3, 3, 9, 3], widths: [96, 192, 384, 768], stochasticDepth: 0.1, inChannels: 3 },
  convnext_small: { depths: [3, 3, 27, 3], widths: [96, 192, 384, 768], stochasticDepth: 0.4, inChannels: 3 },
  convnext_base: { depths: [3, 3, 27, 3], widths: [128, 256, 512, 1024], stochasticDepth: 0.5, inChannels: 3 },
  convnext_large: { depths: [3, 3, 27, 3], widths: [192, 384, 768, 1536], stochasticDepth: 0.5, inChannels: 3 },
};

export function convnextConfig(arch: string, numClasses: number): ConvNextConfig {
  const a = CONVNEXT_ARCHS[arch];
  if (a === undefined) throw new ConfigError(`unknown ConvNeXt architecture '${arch}': expected one of ${Object.keys(CONVNEXT_ARCHS).join(', ')}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ConfigError(`numClasses must be a positive integer, got ${numClasses}`);
  return { ...a, depths: a.depths.slice(), widths: a.widths.slice(), numClasses };
}

/** Which known architecture a config is (by depths and widths), or 'custom'. */
export function archName(cfg: ConvNextConfig): string {
  for (const [name, a] of Object.entries(CONVNEXT_ARCHS)) {
    if (same(a.depths, cfg.depths) && same(a.widths, cfg.widths)) return name;
  }
  return 'custom';
}

function same(a: readonly number[], b: readonly number[]) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function convnextSpecs(cfg: ConvNextConfig): ParamSpec[] {
  const s: ParamSpec[] = [];
  const vec = (name: string, n: number) => s.push({ name, kind: 'bias', torchShape: [n], fanIn: 1 });
  const w0 = cfg.widths[0]!;
  s.push({ name: 'features.0.0.weight', kind: 'conv', torchShape: [w0, cfg.inChannels, 4, 4], fanIn: cfg.inChannels * 16 });
  vec('features.0.0.bias', w0);
  vec('features.0.1.weight', w0);
  vec('features.0.1.bias', w0);
  cfg.depths.forEach((depth, st) => {
    const c = cfg.widths[st]!;
    for (let b = 0; b < depth; b++) {
      const p = `features.${2 * st + 1}.${b}`;
      s.push({ name: `${p}.layer_scale`, kind: 'scale', torchShape: [c, 1, 1], fanIn: 1 });
      s.push({ name: `${p}.block.0.weight`, kind: 'dwconv', torchShape: [c, 1, 7, 7], fanIn: 49 });
      vec(`${p}.block.0.bias`, c);
      vec(`${p}.block.2.weight`, c);
      vec(`${p}.block.2.bias`, c);
      s.push({ name: `${p}.block.3.weight`, kind: 'linear', torchShape: [4 * c, c], fanIn: c });
      vec(`${p}.block.3.bias`, 4 * c);
      s.push({ name: `${p}.block.5.weight`, kind: 'linear', torchShape: [c, 4 * c], fanIn: 4 * c });
      vec(`${p}.block.5.bias`, c);
    }
    if (st < cfg.depths.length - 1) {
      const p = `features.${2 * st + 2}`;
      const n = cfg.widths[st + 1]!;
      vec(`${p}.0.weight`, c);
      vec(`${p}.0.bias`, c);
      s.push({ name: `${p}.1.weight`, kind: 'conv', torchShape: [n, c, 2, 2], fanIn: c * 4 });
      vec(`${p}.1.bias`, n);
    }
  });
  const last = cfg.widths[cfg.widths.length - 1]!;
  vec('classifier.0.weight', last);
  vec('classifier.0.bias', last);
  s.push({ name: 'classifier.2.weight', kind: 'linear', torchShape: [cfg.numClasses, last], fanIn: last });
  vec('classifier.2.bias', cfg.numClasses);
  return s;
}

/** True for the head's parameters (replaced when the class count changes). */
export function isHeadParam(name: string): boolean {
  return name.startsWith('classifier.2.');
}

/**
 * torchvision's init: Conv2d and Linear weights ~ trunc_normal(std 0.02, [-2, 2]),
 * their biases 0; LayerNorm weight 1, bias 0; layer_scale 1e-6.
 */
export function convnextInit(seed: number): (spec: ParamSpec) => Float32Array {
  const rng = new Rng(seed);
  return (spec) => {
    const n = spec.torchShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (spec.kind === 'scale') return out.fill(1e-6);
    if (spec.kind === 'bias') {
      // LayerNorm weights are the 1-D `.weight`s; every other vector is a bias.
      return spec.name.endsWith('.weight') ? out.fill(1) : out;
    }
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = rng.normal() * 0.02; while (v < -2 || v > 2);
      out[i] = v;
    }
    return torchToTf(spec, out);
  };
}

/**
 * LayerNorm over the last axis (channels in NHWC), eps 1e-6, biased variance, with a
 * hand-written gradient that keeps only x-hat and 1/sigma for the backward pass (autograd
 * of the composed ops keeps about eight activation-sized tensors per call):
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * w
 *   dw = sum(dy * xhat),  db = sum(dy)   (sums over every axis but the last)
 */
export function layerNorm<T extends tf.Tensor>(x: T, w: tf.Tensor, b: tf.Tensor): T {
  return layerNormOp(x, w, b) as T;
}

const layerNormOp = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const { mean, variance } = tf.moments(x, -1, true);
  const rstd = tf.rsqrt(tf.add(variance, LN_EPS));
  const xhat = tf.mul(tf.sub(x, mean), rstd);
  save([xhat, rstd, w]);
  return {
    value: tf.add(tf.mul(xhat, w), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, rs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const axes = Array.from({ length: dy.rank - 1 }, (_, i) => i);
      const g = tf.mul(dy, ws);
      const dx = tf.mul(rs, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true))));
      return [dx, tf.sum(tf.mul(dy, xh), axes), tf.sum(dy, axes)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Exact GELU: 0.5 x (1 + erf(x / sqrt 2)), as nn.GELU() (approximate='none'); the
 * gradient Phi(x) + x phi(x) is written out so only x is kept for the backward pass.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  return geluOp(x) as T;
}

const geluOp = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs] = saved as [tf.Tensor];
      const cdf = tf.mul(tf.add(tf.erf(tf.mul(xs, Math.SQRT1_2)), 1), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return [tf.mul(dy, tf.add(cdf, tf.mul(xs, pdf)))];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

function linear(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  const y = tf.add(dense(tf.reshape(x, [n * h * wd, c]), w as tf.Tensor2D), b);
  return tf.reshape(y, [n, h, wd, w.shape[1]!]);
}

export interface ConvNextRunOptions {
  training?: boolean;
  /** Seed of the stochastic-depth masks (training only). */
  seed?: number;
}

/** Per-block stochastic-depth probabilities, torchvision's linear schedule. */
export function stochasticDepthSchedule(cfg: ConvNextConfig): number[] {
  const total = cfg.depths.reduce((a, b) => a + b, 0);
  return Array.from({ length: total }, (_, i) => (total > 1 ? (cfg.stochasticDepth * i) / (total - 1) : 0));
}

/**
 * torchvision's stochastic_depth(mode='row'): each sample's residual branch is
 * kept with probability 1 - p and then scaled by 1 / (1 - p).
 */
function stochasticDepth(x: tf.Tensor4D, p: number, seed: number): tf.Tensor4D {
  if (p <= 0) return x;
  const survival = 1 - p;
  if (survival <= 0) return tf.zerosLike(x);
  const keep = tf.cast(tf.less(tf.randomUniform([x.shape[0], 1, 1, 1], 0, 1, 'float32', seed), survival), 'float32');
  return tf.mul(x, tf.div(keep, survival));
}

/** Pooled, pre-head features [N, widths[-1]] (after the classifier's LayerNorm). */
export function convnextFeatures(p: Params, cfg: ConvNextConfig, x: tf.Tensor4D, opts: ConvNextRunOptions = {}): tf.Tensor2D {
  checkInput(cfg, x);
  return tf.tidy(() => {
    const training = opts.training === true;
    const sd = stochasticDepthSchedule(cfg);
    const seedBase = opts.seed ?? 0;
    let h = tf.add(tf.conv2d(x, p.get('features.0.0.weight') as tf.Tensor4D, 4, 'valid'), p.get('features.0.0.bias')) as tf.Tensor4D;
    h = layerNorm(h, p.get('features.0.1.weight'), p.get('features.0.1.bias'));
    let blockId = 0;
    cfg.depths.forEach((depth, st) => {
      for (let b = 0; b < depth; b++, blockId++) {
        const pre = `features.${2 * st + 1}.${b}`;
        let y = tf.add(tf.depthwiseConv2d(h, p.get(`${pre}.block.0.weight`) as tf.Tensor4D, 1, 'same'), p.get(`${pre}.block.0.bias`)) as tf.Tensor4D;
        y = layerNorm(y, p.get(`${pre}.block.2.weight`), p.get(`${pre}.block.2.bias`));
        y = gelu(linear(y, p.get(`${pre}.block.3.weight`), p.get(`${pre}.block.3.bias`)));
        y = linear(y, p.get(`${pre}.block.5.weight`), p.get(`${pre}.block.5.bias`));
        y = tf.mul(y, p.get(`${pre}.layer_scale`));
        if (training) y = stochasticDepth(y, sd[blockId]!, seedBase * 1009 + blockId);
        h = tf.add(h, y);
      }
      if (st < cfg.depths.length - 1) {
        const pre = `features.${2 * st + 2}`;
        h = layerNorm(h, p.get(`${pre}.0.weight`), p.get(`${pre}.0.bias`));
        h = tf.add(tf.conv2d(h, p.get(`${pre}.1.weight`) as tf.Tensor4D, 2, 'valid'), p.get(`${pre}.1.bias`)) as tf.Tensor4D;
      }
    });
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    return layerNorm(pooled, p.get('classifier.0.weight'), p.get('classifier.0.bias'));
  });
}

/** Logits [N, numClasses]. Caller disposes. */
export function convnextForward(p: Params, cfg: ConvNextConfig, x: tf.Tensor4D, opts: ConvNextRunOptions = {}): tf.Tensor2D {
  return tf.tidy(() => {
    const f = convnextFeatures(p, cfg, x, opts);
    return tf.add(dense(f, p.get('classifier.2.weight') as tf.Tensor2D), p.get('classifier.2.bias')) as tf.Tensor2D;
  });
}

function checkInput(cfg: ConvNextConfig, x: tf.Tensor4D) {
  const [, h, w, c] = x.shape;
  if (c !== cfg.inChannels) throw new ConfigError(`ConvNeXt expects ${cfg.inChannels} input channels, got ${c}`);
  const factor = 4 * 2 ** (cfg.depths.length - 1);
  if (h < factor || w < factor) throw new ConfigError(`ConvNeXt needs inputs of at least ${factor}x${factor}, got ${h}x${w}`);
}

/** Reads depths, widths and the class count back from torchvision-named weights. */
export function inferConvNextConfig(weights: TensorMap, source: string): ConvNextConfig {
  const stem = weights.get('features.0.0.weight');
  if (stem === undefined) {
    const hint = weights.has('stem.0.weight') ? ' (timm names: they are converted by readConvNextWeights)' : ' (is this a ConvNeXt state dict with torchvision names?)';
    throw new ModelLoadError(`${source}: missing tensor 'features.0.0.weight'${hint}`);
  }
  const depths: number[] = [];
  const widths: number[] = [];
  for (let st = 0; weights.has(`features.${2 * st + 1}.0.block.0.weight`); st++) {
    let d = 0;
    while (weights.has(`features.${2 * st + 1}.${d}.block.0.weight`)) d++;
    depths.push(d);
    widths.push(weights.get(`features.${2 * st + 1}.0.block.0.weight`)!.shape[0]!);
  }
  if (depths.length === 0) throw new ModelLoadError(`${source}: no ConvNeXt blocks found (expected 'features.1.0.block.0.weight')`);
  const head = weights.get('classifier.2.weight');
  const numClasses = head?.shape[0] ?? 1000;
  const known = Object.values(CONVNEXT_ARCHS).find((a) => same(a.depths, depths) && same(a.widths, widths));
  return { depths, widths, numClasses, stochasticDepth: known?.stochasticDepth ?? 0, inChannels: stem.shape[1]! };
}

/**
 * Converts timm's ConvNeXt names (`stem.0`, `stages.S.blocks.B.conv_dw`, `.mlp.fc1`,
 * `.gamma`, `head.fc`, ...) to torchvision's. Maps that already use torchvision's
 * names are returned unchanged.
 */
export function timmToTorchvision(weights: TensorMap): TensorMap {
  if (!weights.has('stem.0.weight')) return weights;
  const out: TensorMap = new Map();
  for (const [k, t] of weights) {
    let m: RegExpMatchArray | null;
    let name: string | null = null;
    let tensor = t;
    if ((m = k.match(/^stem\.(0|1)\.(weight|bias)$/))) name = `features.0.${m[1]}.${m[2]}`;
    else if ((m = k.match(/^stages\.(\d+)\.downsample\.(0|1)\.(weight|bias)$/))) name = `features.${2 * Number(m[1])}.${m[2]}.${m[3]}`;
    else if ((m = k.match(/^stages\.(\d+)\.blocks\.(\d+)\.(.+)$/))) {
      const pre = `features.${2 * Number(m[1]) + 1}.${m[2]}`;
      const rest = m[3]!;
      const map: Record<string, string> = {
        'conv_dw.weight': 'block.0.weight', 'conv_dw.bias': 'block.0.bias',
        'norm.weight': 'block.2.weight', 'norm.bias': 'block.2.bias',
        'mlp.fc1.weight': 'block.3.weight', 'mlp.fc1.bias': 'block.3.bias',
        'mlp.fc2.weight': 'block.5.weight', 'mlp.fc2.bias': 'block.5.bias',
        gamma: 'layer_scale',
      };
      const r = map[rest];
      if (r !== undefined) {
        name = `${pre}.${r}`;
        if (rest === 'gamma') tensor = { shape: [t.shape[0]!, 1, 1], data: t.data };
      }
    } else if ((m = k.match(/^head\.norm\.(weight|bias)$/))) name = `classifier.0.${m[1]}`;
    else if ((m = k.match(/^head\.fc\.(weight|bias)$/))) name = `classifier.2.${m[1]}`;
    if (name !== null) out.set(name, tensor);
  }
  return out;
}

/** Values for Params from torchvision-named weights; the head comes from `headInit` when its class count differs. */
export function convnextValues(
  weights: TensorMap, cfg: ConvNextConfig, source: string, headInit: (spec: ParamSpec) => Float32Array,
): { values: (spec: ParamSpec) => Float32Array; headReplaced: boolean } {
  const head = weights.get('classifier.2.weight');
  const headReplaced = head === undefined || head.shape[0] !== cfg.numClasses;
  const values = (spec: ParamSpec) => {
    if (headReplaced && isHeadParam(spec.name)) return headInit(spec);
    const t = weights.get(spec.name);
    if (t === undefined) throw new ModelLoadError(`${source}: missing tensor '${spec.name}' (is this the right --arch?)`);
    const n = spec.torchShape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n || (spec.kind !== 'scale' && !same(t.shape, spec.torchShape))) {
      throw new ModelLoadError(`${source}: tensor '${spec.name}' has shape [${t.shape}], expected [${spec.torchShape}] (weights for another architecture?)`);
    }
    return torchToTf(spec, t.data);
  };
  return { values, headReplaced };
}

