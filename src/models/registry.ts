/**
 * Every network `ganon model run` can execute, by name. PyTorch-named networks
 * (U-Net, PatchGAN, ConvNeXt) register a NetworkDef; Keras networks (Facenet512)
 * register in `kerasNetworks` and run through their own loader.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ModelLoadError } from '../errors.js';
import type { TensorMap } from '../io/safetensors.js';
import { fromTorchMap, paramCount, Params, type ParamSpec } from './params.js';
import {
  convnextConfig, convnextForward, convnextSpecs, inferConvNextConfig, timmToTorchvision, type ConvNextConfig,
} from './convnext.js';
import { PAPER_PATCHGAN, patchganForwardConcat, patchganOutputShape, patchganSpecs, type PatchGanConfig } from './patchgan.js';
import { PAPER_UNET, unetForward, unetOutputShape, unetSpecs, type UNetConfig } from './unet.js';

export interface NetworkDef<C> {
  description: string;
  paperConfig: C;
  specs(cfg: C): ParamSpec[];
  /** Reads the architecture back from a weights map (PyTorch names and shapes). */
  inferConfig(weights: TensorMap, source: string): C;
  /** Eval-mode forward on an NHWC input (image outputs NHWC, logits [N, classes]). Caller disposes. */
  forward(p: Params, cfg: C, x: tf.Tensor4D): tf.Tensor;
  outputShape(cfg: C, size: number): number[];
  /** Input channels the network expects. */
  inputChannels(cfg: C): number;
}

const unet: NetworkDef<UNetConfig> = {
  description: 'pix2pix U-Net generator (landmark image -> face)',
  paperConfig: PAPER_UNET,
  specs: unetSpecs,
  inferConfig(weights, source) {
    const first = need(weights, 'down1.model.0.weight', source);
    const final = need(weights, 'final.2.weight', source);
    let depth = 0;
    while (weights.has(`down${depth + 1}.model.0.weight`)) depth++;
    return { inChannels: first.shape[1]!, outChannels: final.shape[0]!, ngf: first.shape[0]!, depth, dropout: PAPER_UNET.dropout };
  },
  forward: (p, cfg, x) => unetForward(p, cfg, x, { training: false }),
  outputShape: unetOutputShape,
  inputChannels: (cfg) => cfg.inChannels,
};

const patchgan: NetworkDef<PatchGanConfig> = {
  description: 'PatchGAN discriminator on cat(image, condition) (6 channels in)',
  paperConfig: PAPER_PATCHGAN,
  specs: patchganSpecs,
  inferConfig(weights, source) {
    const first = need(weights, 'model.0.weight', source);
    return { inChannels: first.shape[1]! / 2, ndf: first.shape[0]! };
  },
  forward: (p, cfg, x) => patchganForwardConcat(p, cfg, x),
  outputShape: (_cfg, size) => patchganOutputShape(size),
  inputChannels: (cfg) => 2 * cfg.inChannels,
};

function convnext(arch: string): NetworkDef<ConvNextConfig> {
  return {
    description: `torchvision ${arch} classifier (NHWC in, logits out; --num-classes sets the head)`,
    paperConfig: convnextConfig(arch, arch === 'convnext_micro' ? 3 : 1000),
    specs: convnextSpecs,
    inferConfig: (weights, source) => inferConvNextConfig(timmToTorchvision(weights), source),
    forward: (p, cfg, x) => convnextForward(p, cfg, x),
    outputShape: (cfg) => [cfg.numClasses],
    inputChannels: (cfg) => cfg.inChannels,
  };
}

export const networks = {
  unet,
  patchgan,
  convnext_micro: convnext('convnext_micro'),
  convnext_tiny: convnext('convnext_tiny'),
  convnext_small: convnext('convnext_small'),
  convnext_base: convnext('convnext_base'),
  convnext_large: convnext('convnext_large'),
} as const;
export type NetworkName = keyof typeof networks;

/**
 * Networks with weights in their own (Keras .h5) format, which `ganon model run` executes
 * outside the PyTorch-named Params machinery (src/models/run.ts).
 */
export const kerasNetworks = {
  facenet512: {
    description: "DeepFace's Facenet512 (InceptionResNetV1) from DeepFace's facenet512_weights.h5: NCHW [n, 3, 160, 160] BGR in [0, 1] (DeepFace's preprocessing) -> embeddings [n, 512]",
    inputChannels: 3,
    inputSize: 160,
  },
} as const;

/** Every --arch `ganon model run` accepts. */
export const ARCH_NAMES: readonly string[] = [...Object.keys(networks), ...Object.keys(kerasNetworks)];

export function getNetwork(name: string): NetworkDef<unknown> {
  if (name in kerasNetworks) throw new ConfigError(`'${name}' loads Keras .h5 weights: run it with runNetwork (ganon model run), not through the PyTorch-named registry`);
  if (!(name in networks)) {
    throw new ConfigError(`unknown network '${name}': expected one of ${ARCH_NAMES.join(', ')}`);
  }
  return networks[name as NetworkName] as unknown as NetworkDef<unknown>;
}

function need(weights: TensorMap, key: string, source: string) {
  const t = weights.get(key);
  if (t === undefined) throw new ModelLoadError(`${source}: missing tensor '${key}' (is this the right --arch?)`);
  return t;
}

/** Builds a network's Params from a PyTorch-layout weights map. Caller disposes. */
export function loadNetwork(name: string, weights: TensorMap, source: string, keyPrefix = ''): { def: NetworkDef<unknown>; cfg: unknown; params: Params } {
  const def = getNetwork(name);
  const stripped: TensorMap = keyPrefix === '' ? weights : new Map([...weights].filter(([k]) => k.startsWith(keyPrefix)).map(([k, v]) => [k.slice(keyPrefix.length), v]));
  const cfg = def.inferConfig(stripped, source);
  const params = new Params(def.specs(cfg), fromTorchMap(stripped, source), name);
  return { def, cfg, params };
}

export function summary(imageSize: number) {
  const g = unetSpecs(PAPER_UNET);
  const d = patchganSpecs(PAPER_PATCHGAN);
  return {
    imageSize,
    generator: { params: paramCount(g), input: [imageSize, imageSize, 3], output: unetOutputShape(PAPER_UNET, imageSize) },
    discriminator: { params: paramCount(d), input: [imageSize, imageSize, 6], output: patchganOutputShape(imageSize) },
  };
}
