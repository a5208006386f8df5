/**
 * The PatchGAN discriminator of GANonymization / PyTorch-GAN pix2pix
 * (`Discriminator` in models.py): input cat(image, condition) (image first),
 *   C64 (bias, no norm) LReLU 0.2
 *   C128, C256, C512 (bias, IN, LReLU 0.2)
 *   ZeroPad2d((1,0,1,0)) + Conv2d(512, 1, k4, p1, no bias); no sigmoid (LSGAN).
 * Four stride-2 convs: the output is H/16 x W/16 (16x16 at 256, 32x32 at 512),
 * receptive field 94x94. 2,767,808 parameters at ndf=64.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, InputError } from '../errors.js';
import { convDown, convPad21, instanceNorm, leakyRelu } from './ops.js';
import type { ParamSpec, Params } from './params.js';

export interface PatchGanConfig {
  /** Channels of the image and of the condition, each (3); D sees twice this. */
  inChannels: number;
  /** Width of the first layer (64 in the paper). */
  ndf: number;
}

export const PAPER_PATCHGAN: PatchGanConfig = { inChannels: 3, ndf: 64 };

/** Sequential indices of the convs in the reference `model`. */
const CONV_INDEX = [0, 2, 5, 8] as const;
const LAST_INDEX = 12;

export function validatePatchGan(cfg: PatchGanConfig): void {
  if (!Number.isInteger(cfg.ndf) || cfg.ndf < 1) throw new ConfigError(`model.ndf must be a positive integer (got ${cfg.ndf})`);
}

export function patchganSpecs(cfg: PatchGanConfig): ParamSpec[] {
  validatePatchGan(cfg);
  const specs: ParamSpec[] = [];
  let cin = 2 * cfg.inChannels;
  CONV_INDEX.forEach((idx, i) => {
    const cout = cfg.ndf * 2 ** i;
    specs.push({ name: `model.${idx}.weight`, kind: 'conv', torchShape: [cout, cin, 4, 4], fanIn: cin * 16 });
    specs.push({ name: `model.${idx}.bias`, kind: 'bias', torchShape: [cout], fanIn: cin * 16 });
    cin = cout;
  });
  specs.push({ name: `model.${LAST_INDEX}.weight`, kind: 'conv', torchShape: [1, cin, 4, 4], fanIn: cin * 16 });
  return specs;
}

export function checkPatchGanSize(h: number, w: number): void {
  if (h % 16 !== 0 || w % 16 !== 0 || h < 16 || w < 16) {
    throw new InputError(`discriminator input is ${h}x${w}: sides must be multiples of 16`);
  }
}

/** img, condition: [b, H, W, c] -> patch scores [b, H/16, W/16, 1]. Caller disposes. */
export function patchganForward(p: Params, cfg: PatchGanConfig, img: tf.Tensor4D, condition: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => patchganForwardConcat(p, cfg, tf.concat([img, condition], 3)));
}

/** The same on an already concatenated [b, H, W, 2c] input. Caller disposes. */
export function patchganForwardConcat(p: Params, cfg: PatchGanConfig, x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  checkPatchGanSize(h, w);
  if (c !== 2 * cfg.inChannels) throw new InputError(`discriminator input has ${c} channels, expected ${2 * cfg.inChannels} (image + condition)`);
  return tf.tidy(() => {
    let y = x;
    CONV_INDEX.forEach((idx, i) => {
      y = convDown(y, p.get(`model.${idx}.weight`) as tf.Tensor4D, p.get(`model.${idx}.bias`) as tf.Tensor1D);
      if (i > 0) y = instanceNorm(y);
      y = leakyRelu(y, 0.2);
    });
    return convPad21(y, p.get(`model.${LAST_INDEX}.weight`) as tf.Tensor4D);
  });
}

export function patchganOutputShape(size: number): number[] {
  checkPatchGanSize(size, size);
  return [size / 16, size / 16, 1];
}
