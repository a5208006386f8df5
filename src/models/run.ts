/**
 * `ganon model run`: one registered network, eval mode, on a raw float32 NCHW
 * tensor named `input`; returns `output` in NCHW (or [n, d] for classifiers and
 * embedders). This is how ported weights are checked against PyTorch (and
 * Facenet512 against Keras / DeepFace).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, InputError, ModelLoadError } from '../errors.js';
import type { NamedTensor, TensorMap } from '../io/safetensors.js';
import {
  archName, convnextConfig, convnextForward, convnextInit, convnextSpecs, convnextValues, inferConvNextConfig, timmToTorchvision,
} from './convnext.js';
import { readWeights } from '../io/weights.js';
import { FACENET512_CONFIG, inferFacenetConfig, loadFacenetNet } from '../eval/facenet512.js';
import { getNetwork, kerasNetworks } from './registry.js';
import { fromTorchMap, Params } from './params.js';

const PROBES: Record<string, [string, string]> = {
  unet: ['generator.safetensors', 'down1.model.0.weight'],
  patchgan: ['discriminator.safetensors', 'model.0.weight'],
};

export interface RunNetworkOptions {
  /** ConvNeXt only: the head's class count; a different head in the weights is replaced (seeded init). */
  numClasses?: number;
  /** Called with one line per notable event (e.g. a replaced head). */
  log?: (line: string) => void;
}

export async function runNetwork(arch: string, weightsPath: string, input: TensorMap, inputSource: string, opts: RunNetworkOptions = {}): Promise<TensorMap> {
  if (arch === 'facenet512') return runFacenet512(weightsPath, input, inputSource, opts);
  const def = getNetwork(arch);
  if (arch.startsWith('convnext')) return runConvNext(arch, weightsPath, input, inputSource, opts);
  if (opts.numClasses !== undefined) throw new ConfigError(`--num-classes applies to ConvNeXt networks only, not '${arch}'`);
  const [dirFile, probe] = PROBES[arch] ?? ['weights.safetensors', ''];
  const { tensors, source } = readWeights(weightsPath, dirFile, probe);
  const cfg = def.inferConfig(tensors, source);
  const x = checkedInput(input, inputSource, def.inputChannels(cfg), arch);
  const params = new Params(def.specs(cfg), fromTorchMap(tensors, source), arch);
  return forwardNchw(params, (t) => def.forward(params, cfg, t), x);
}

async function runConvNext(arch: string, weightsPath: string, input: TensorMap, inputSource: string, opts: RunNetworkOptions): Promise<TensorMap> {
  const { tensors, source } = readWeights(weightsPath, 'classifier.safetensors', 'features.0.0.weight', timmToTorchvision);
  const inferred = inferConvNextConfig(tensors, source);
  const expected = convnextConfig(arch, inferred.numClasses);
  if (archName(inferred) !== arch) {
    throw new ModelLoadError(`${source}: these weights are ${archName(inferred)} (depths [${inferred.depths}], widths [${inferred.widths}]), not ${arch}`);
  }
  const cfg = { ...inferred, stochasticDepth: expected.stochasticDepth, numClasses: opts.numClasses ?? inferred.numClasses };
  const { values, headReplaced } = convnextValues(tensors, cfg, source, convnextInit(0));
  if (headReplaced) opts.log?.(`head replaced: the weights have ${inferred.numClasses} classes, --num-classes is ${cfg.numClasses} (new head: torchvision init, seed 0)`);
  const x = checkedInput(input, inputSource, cfg.inChannels, arch);
  const params = new Params(convnextSpecs(cfg), values, arch);
  return forwardNchw(params, (t) => convnextForward(params, cfg, t), x);
}

/**
 * DeepFace's Facenet512 on an NCHW [n, 3, 160, 160] input that is already DeepFace's
 * preprocessing (BGR, resized and padded, /255); output `output` [n, dimension], not
 * normalised. The architecture is read from the file (a scaled-down test file runs too, and
 * is said so).
 */
async function runFacenet512(weightsPath: string, input: TensorMap, inputSource: string, opts: RunNetworkOptions): Promise<TensorMap> {
  if (opts.numClasses !== undefined) throw new ConfigError("--num-classes applies to ConvNeXt networks only, not 'facenet512'");
  const cfg = await inferFacenetConfig(weightsPath);
  const full = FACENET512_CONFIG;
  if (cfg.width !== full.width || cfg.block35 !== full.block35 || cfg.block17 !== full.block17 || cfg.block8 !== full.block8 || cfg.dimension !== full.dimension) {
    opts.log?.(`'${weightsPath}' is a scaled InceptionResNetV1 (width ${cfg.width}, blocks ${cfg.block35}/${cfg.block17}/${cfg.block8}+1, ${cfg.dimension}-d), not DeepFace's Facenet512`);
  }
  const x = checkedInput(input, inputSource, kerasNetworks.facenet512.inputChannels, 'facenet512');
  const S = kerasNetworks.facenet512.inputSize;
  if (x.shape[2] !== S || x.shape[3] !== S) throw new InputError(`${inputSource}: 'input' is ${x.shape[2]}x${x.shape[3]}, facenet512 takes ${S}x${S} (DeepFace's preprocessing)`);
  const net = await loadFacenetNet(weightsPath, cfg);
  try {
    const y = tf.tidy(() => net.predict(tf.transpose(tf.tensor4d(x.data, x.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D));
    const data = (await y.data()) as Float32Array;
    const shape = y.shape.slice();
    y.dispose();
    return new Map([['output', { shape, data }]]);
  } finally {
    net.dispose();
  }
}

function checkedInput(input: TensorMap, inputSource: string, want: number, arch: string) {
  const x = input.get('input');
  if (x === undefined) throw new InputError(`${inputSource}: no tensor named 'input' (found ${[...input.keys()].join(', ') || 'none'})`);
  if (x.shape.length !== 4) throw new InputError(`${inputSource}: 'input' has shape [${x.shape}], expected NCHW [n, c, h, w]`);
  if (x.shape[1] !== want) throw new InputError(`${inputSource}: 'input' has ${x.shape[1]} channels, ${arch} expects ${want}`);
  return x;
}

async function forwardNchw(params: Params, forward: (x: tf.Tensor4D) => tf.Tensor, x: NamedTensor): Promise<TensorMap> {
  try {
    const t = tf.tidy(() => tf.transpose(tf.tensor4d(x.data, x.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
    const y = forward(t);
    const yT = y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : tf.clone(y);
    const data = (await yT.data()) as Float32Array;
    const shape = yT.shape.slice();
    tf.dispose([t, y, yT]);
    return new Map([['output', { shape, data }]]);
  } finally {
    params.dispose();
  }
}
