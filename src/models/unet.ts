/**
 * The pix2pix U-Net generator exactly as GANonymization uses it
 * (eriklindernoren/PyTorch-GAN implementations/pix2pix/models.py `GeneratorUNet`;
 * paper: https://arxiv.org/abs/2305.02143, pix2pix: https://arxiv.org/abs/1611.07004).
 *
 * With ngf=64, depth=8 this is the reference network (54,404,099 parameters):
 *   down1  C64  no norm           LReLU 0.2
 *   down2  C128 IN                LReLU 0.2
 *   down3  C256 IN                LReLU 0.2
 *   down4-7 C512 IN               LReLU 0.2  dropout 0.5
 *   down8  C512 no norm (innermost) LReLU 0.2 dropout 0.5
 *   up1-4  CT512 IN ReLU dropout 0.5, then cat(up, skip)   (upsampled first)
 *   up5-7  CT256/128/64 IN ReLU,      then cat(up, skip)
 *   final  nearest x2 -> pad (2 before, 1 after) -> conv k4 with bias -> tanh
 * Width (ngf) and depth are parameters so tests can use tiny nets; the skip
 * structure generalises by mirroring: up j pairs with down (depth - j) and has
 * dropout iff that down block has it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, InputError } from '../errors.js';
import { convDown, convUp, instanceNorm, leakyRelu, maybeDropout, relu, upsampleConvPad21 } from './ops.js';
import type { ParamSpec, Params } from './params.js';

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  /** Width of the first layer (64 in the paper). */
  ngf: number;
  /** Number of stride-2 down blocks (8 in the paper); inputs must be multiples of 2^depth. */
  depth: number;
  /** Dropout rate in down4..down8 / up1..up4 (0.5 in the paper); training only. */
  dropout: number;
}

export const PAPER_UNET: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 64, depth: 8, dropout: 0.5 };

export interface DownBlock { name: string; cin: number; cout: number; norm: boolean; dropout: boolean }
export interface UpBlock { name: string; cin: number; cout: number; dropout: boolean }

export function validateUNet(cfg: UNetConfig): void {
  if (!Number.isInteger(cfg.depth) || cfg.depth < 2 || cfg.depth > 10) throw new ConfigError(`model.depth must be an integer in [2, 10] (got ${cfg.depth})`);
  if (!Number.isInteger(cfg.ngf) || cfg.ngf < 1) throw new ConfigError(`model.ngf must be a positive integer (got ${cfg.ngf})`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new ConfigError(`model.dropout must be in [0, 1) (got ${cfg.dropout})`);
}

function downChannels(cfg: UNetConfig, i: number): number {
  return cfg.ngf * Math.min(2 ** (i - 1), 8);
}

function blocks(cfg: UNetConfig): { downs: DownBlock[]; ups: UpBlock[] } {
  validateUNet(cfg);
  const downs: DownBlock[] = [];
  for (let i = 1; i <= cfg.depth; i++) {
    downs.push({
      name: `down${i}`,
      cin: i === 1 ? cfg.inChannels : downChannels(cfg, i - 1),
      cout: downChannels(cfg, i),
      norm: i !== 1 && i !== cfg.depth,
      dropout: i >= 4 && cfg.dropout > 0,
    });
  }
  const ups: UpBlock[] = [];
  for (let j = 1; j < cfg.depth; j++) {
    const skip = downs[cfg.depth - j - 1]!;
    ups.push({
      name: `up${j}`,
      cin: j === 1 ? downChannels(cfg, cfg.depth) : 2 * downChannels(cfg, cfg.depth - j + 1),
      cout: skip.cout,
      dropout: skip.dropout,
    });
  }
  return { downs, ups };
}

/** The down and up blocks (names, channels, norm, dropout) of a config. */
export function unetLayers(cfg: UNetConfig): { downs: readonly DownBlock[]; ups: readonly UpBlock[] } {
  return blocks(cfg);
}

/** Parameters in PyTorch state_dict order. */
export function unetSpecs(cfg: UNetConfig): ParamSpec[] {
  const { downs, ups } = blocks(cfg);
  const specs: ParamSpec[] = [];
  for (const d of downs) specs.push({ name: `${d.name}.model.0.weight`, kind: 'conv', torchShape: [d.cout, d.cin, 4, 4], fanIn: d.cin * 16 });
  for (const u of ups) specs.push({ name: `${u.name}.model.0.weight`, kind: 'convT', torchShape: [u.cin, u.cout, 4, 4], fanIn: u.cout * 16 });
  const c = 2 * cfg.ngf;
  specs.push({ name: 'final.2.weight', kind: 'conv', torchShape: [cfg.outChannels, c, 4, 4], fanIn: c * 16 });
  specs.push({ name: 'final.2.bias', kind: 'bias', torchShape: [cfg.outChannels], fanIn: c * 16 });
  return specs;
}

/** Throws unless `size` fits the network (a multiple of 2^depth). */
export function checkUNetSize(cfg: UNetConfig, h: number, w: number): void {
  const m = 2 ** cfg.depth;
  if (h % m !== 0 || w % m !== 0 || h < m || w < m) {
    throw new InputError(`generator input is ${h}x${w}: a depth-${cfg.depth} U-Net needs sides that are multiples of ${m}`);
  }
}

export interface ForwardOptions {
  training: boolean;
  /** Base seed for this call's dropout masks (training only). */
  seed?: number;
}

/** x: [b, H, W, inChannels] in [-1, 1] -> [b, H, W, outChannels] in (-1, 1). Caller disposes. */
export function unetForward(p: Params, cfg: UNetConfig, x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  checkUNetSize(cfg, h, w);
  if (c !== cfg.inChannels) throw new InputError(`generator input has ${c} channels, expected ${cfg.inChannels}`);
  const { downs, ups } = blocks(cfg);
  let k = 0; // dropout call index, so every mask gets its own seed
  const drop = (t: tf.Tensor4D) => maybeDropout(t, cfg.dropout, opts.training, opts.seed === undefined ? undefined : opts.seed * 64 + k++);
  return tf.tidy(() => {
    const skips: tf.Tensor4D[] = [];
    let y = x;
    for (const d of downs) {
      y = convDown(y, p.get(`${d.name}.model.0.weight`) as tf.Tensor4D); // [b, h/2, w/2, cout]
      if (d.norm) y = instanceNorm(y);
      y = leakyRelu(y, 0.2);
      if (d.dropout) y = drop(y);
      skips.push(y);
    }
    skips.pop(); // the innermost output is y itself, not a skip
    for (const u of ups) {
      let t = convUp(y, p.get(`${u.name}.model.0.weight`) as tf.Tensor4D); // [b, 2h, 2w, cout]
      t = relu(instanceNorm(t));
      if (u.dropout) t = drop(t);
      y = tf.concat([t, skips.pop()!], 3); // upsampled first, then the skip
    }
    // nearest x2 -> pad (2 before, 1 after) -> conv k4, computed at half resolution (ops.ts)
    y = upsampleConvPad21(y, p.get('final.2.weight') as tf.Tensor4D, p.get('final.2.bias') as tf.Tensor1D); // [b, H, W, out]
    return tf.tanh(y);
  });
}

/** Output shape [H, W, outChannels] for an input side. */
export function unetOutputShape(cfg: UNetConfig, size: number): number[] {
  checkUNetSize(cfg, size, size);
  return [size, size, cfg.outChannels];
}
