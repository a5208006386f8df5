/**
 * DeepFace's Facenet512 embedder in TF.js: InceptionResNetV1(dimension=512) as
 * `deepface/basemodels/Facenet.py` builds it (its function `InceptionResNetV2`, deepface 0.0.79 =
 * deepface@d04ab28; Keras functional model, 160 x 160 x 3
 * input, Conv2D(use_bias=False) + BatchNormalization(momentum 0.995, epsilon 0.001,
 * scale=False) + ReLU units, 5 x Block35 (scale 0.17), Mixed_6a, 10 x Block17 (0.1),
 * Mixed_7a, 5 x Block8 (0.2) and a last Block8_6 (scale 1, no ReLU), global average
 * pooling, Dropout (a no-op at inference), Bottleneck Dense(512, use_bias=False) +
 * Bottleneck_BatchNorm; no L2 normalisation). Layer names are DeepFace's, including its
 * quirk: the second branch of Block17_i is `Block17_i_Branch_i_*` and of Block8_1..5
 * `Block8_i_Branch_i_*` (the last Block8 has `Branch_1`).
 *
 * Weights come from DeepFace's own `facenet512_weights.h5` (the user supplies it; the
 * toolkit never downloads it), read with h5wasm by Keras layer name: the Keras 2
 * `save_weights` layout (root attribute `layer_names`, per-layer attribute
 * `weight_names`, datasets `<layer>/<layer>/kernel:0`), or the same under
 * `model_weights/` for a whole-model `.h5`. BatchNorm runs in inference mode (moving
 * statistics), folded into the preceding conv / dense weights at load time.
 *
 * Preprocessing, as deepface 0.0.79's `verify(..., model_name='Facenet512',
 * detector_backend='skip', align=False, normalization='base')` (the reference code's
 * call) runs it: functions.extract_faces with 'skip' takes the whole image as the face,
 * in BGR order, aspect-preserving `cv2.resize` (default interpolation, INTER_LINEAR, on
 * the uint8 image) to fit 160 x 160 with dsize = int(side * factor), zero padding split
 * evenly (diff // 2 before, the rest after), then / 255 (unconditionally in 0.0.79);
 * 'base' normalisation leaves it in [0, 1]. (0.0.79's `represent` called directly on a
 * file with 'skip' differs: a plain cv2.resize to 160 x 160 and no / 255, fixed in 0.0.80;
 * see docs/identity.md.)
 *
 * `width` and the block counts exist so tests can use a scaled-down network with the
 * same layer names; FACENET512_CONFIG is DeepFace's exact architecture.
 */
import * as tf from '@tensorflow/tfjs-core';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError, ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { sha256Files, type Embedder } from './embed.js';

export const FACENET512_NAME = 'facenet512';
export const FACENET512_SIZE = 160;
const BN_EPS = 0.001;
const BATCH = 8;

export interface FacenetConfig {
  /** Channel multiplier (1 = DeepFace). Channels are max(1, round(n * width)). */
  width: number;
  block35: number;
  block17: number;
  /** Block8 units with scale 0.2 and ReLU; one more (scale 1, no ReLU) follows. */
  block8: number;
  dimension: number;
}

export const FACENET512_CONFIG: FacenetConfig = { width: 1, block35: 5, block17: 10, block8: 5, dimension: 512 };

/** One Keras layer that holds weights, with its weights in Keras order. */
export interface LayerSpec {
  name: string;
  weights: { name: 'kernel' | 'bias' | 'beta' | 'moving_mean' | 'moving_variance'; shape: number[] }[];
}

type Pad = 'same' | 'valid';

/** The architecture, written once and run either on shapes (spec) or on tensors. */
interface Ops<T> {
  convBn(x: T, name: string, filters: number, k: [number, number], stride: number, pad: Pad): T;
  maxPool(x: T): T;
  concat(xs: T[]): T;
  /** x + scale * Conv2d_1x1(mixed) (bias, as many filters as x), then ReLU if relu. */
  residual(x: T, mixed: T, name: string, scale: number, relu: boolean): T;
  head(x: T, dimension: number): T;
}

function walk<T>(o: Ops<T>, input: T, cfg: FacenetConfig): T {
  const c = (n: number): number => Math.max(1, Math.round(n * cfg.width));
  const k1: [number, number] = [1, 1];
  const k3: [number, number] = [3, 3];
  let x = o.convBn(input, 'Conv2d_1a_3x3', c(32), k3, 2, 'valid');
  x = o.convBn(x, 'Conv2d_2a_3x3', c(32), k3, 1, 'valid');
  x = o.convBn(x, 'Conv2d_2b_3x3', c(64), k3, 1, 'same');
  x = o.maxPool(x); // MaxPool_3a_3x3
  x = o.convBn(x, 'Conv2d_3b_1x1', c(80), k1, 1, 'valid');
  x = o.convBn(x, 'Conv2d_4a_3x3', c(192), k3, 1, 'valid');
  x = o.convBn(x, 'Conv2d_4b_3x3', c(256), k3, 2, 'valid');
  for (let i = 1; i <= cfg.block35; i++) {
    const p = `Block35_${i}`;
    const b0 = o.convBn(x, `${p}_Branch_0_Conv2d_1x1`, c(32), k1, 1, 'same');
    let b1 = o.convBn(x, `${p}_Branch_1_Conv2d_0a_1x1`, c(32), k1, 1, 'same');
    b1 = o.convBn(b1, `${p}_Branch_1_Conv2d_0b_3x3`, c(32), k3, 1, 'same');
    let b2 = o.convBn(x, `${p}_Branch_2_Conv2d_0a_1x1`, c(32), k1, 1, 'same');
    b2 = o.convBn(b2, `${p}_Branch_2_Conv2d_0b_3x3`, c(32), k3, 1, 'same');
    b2 = o.convBn(b2, `${p}_Branch_2_Conv2d_0c_3x3`, c(32), k3, 1, 'same');
    x = o.residual(x, o.concat([b0, b1, b2]), p, 0.17, true);
  }
  {
    const b0 = o.convBn(x, 'Mixed_6a_Branch_0_Conv2d_1a_3x3', c(384), k3, 2, 'valid');
    let b1 = o.convBn(x, 'Mixed_6a_Branch_1_Conv2d_0a_1x1', c(192), k1, 1, 'same');
    b1 = o.convBn(b1, 'Mixed_6a_Branch_1_Conv2d_0b_3x3', c(192), k3, 1, 'same');
    b1 = o.convBn(b1, 'Mixed_6a_Branch_1_Conv2d_1a_3x3', c(256), k3, 2, 'valid');
    x = o.concat([b0, b1, o.maxPool(x)]);
  }
  for (let i = 1; i <= cfg.block17; i++) {
    const p = `Block17_${i}`;
    const b0 = o.convBn(x, `${p}_Branch_0_Conv2d_1x1`, c(128), k1, 1, 'same');
    // DeepFace names this branch Branch_{i} in Block17_i (Block17_1_Branch_1, Block17_2_Branch_2, ...)
    const q = `${p}_Branch_${i}`;
    let b1 = o.convBn(x, `${q}_Conv2d_0a_1x1`, c(128), k1, 1, 'same');
    b1 = o.convBn(b1, `${q}_Conv2d_0b_1x7`, c(128), [1, 7], 1, 'same');
    b1 = o.convBn(b1, `${q}_Conv2d_0c_7x1`, c(128), [7, 1], 1, 'same');
    x = o.residual(x, o.concat([b0, b1]), p, 0.1, true);
  }
  {
    let b0 = o.convBn(x, 'Mixed_7a_Branch_0_Conv2d_0a_1x1', c(256), k1, 1, 'same');
    b0 = o.convBn(b0, 'Mixed_7a_Branch_0_Conv2d_1a_3x3', c(384), k3, 2, 'valid');
    let b1 = o.convBn(x, 'Mixed_7a_Branch_1_Conv2d_0a_1x1', c(256), k1, 1, 'same');
    b1 = o.convBn(b1, 'Mixed_7a_Branch_1_Conv2d_1a_3x3', c(256), k3, 2, 'valid');
    let b2 = o.convBn(x, 'Mixed_7a_Branch_2_Conv2d_0a_1x1', c(256), k1, 1, 'same');
    b2 = o.convBn(b2, 'Mixed_7a_Branch_2_Conv2d_0b_3x3', c(256), k3, 1, 'same');
    b2 = o.convBn(b2, 'Mixed_7a_Branch_2_Conv2d_1a_3x3', c(256), k3, 2, 'valid');
    x = o.concat([b0, b1, b2, o.maxPool(x)]);
  }
  for (let i = 1; i <= cfg.block8 + 1; i++) {
    const p = `Block8_${i}`;
    const last = i === cfg.block8 + 1;
    const b0 = o.convBn(x, `${p}_Branch_0_Conv2d_1x1`, c(192), k1, 1, 'same');
    // DeepFace: Branch_{i} in Block8_1..Block8_5, Branch_1 in the last Block8
    const q = `${p}_Branch_${last ? 1 : i}`;
    let b1 = o.convBn(x, `${q}_Conv2d_0a_1x1`, c(192), k1, 1, 'same');
    b1 = o.convBn(b1, `${q}_Conv2d_0b_1x3`, c(192), [1, 3], 1, 'same');
    b1 = o.convBn(b1, `${q}_Conv2d_0c_3x1`, c(192), [3, 1], 1, 'same');
    x = o.residual(x, o.concat([b0, b1]), p, last ? 1 : 0.2, !last);
  }
  return o.head(x, cfg.dimension); // AvgPool, Dropout, Bottleneck, Bottleneck_BatchNorm
}

/** The Keras layers that hold weights, in model order, with their weight shapes. */
export function facenetLayerSpecs(cfg: FacenetConfig = FACENET512_CONFIG): LayerSpec[] {
  const specs: LayerSpec[] = [];
  const bn = (name: string, n: number): LayerSpec => ({ name, weights: [{ name: 'beta', shape: [n] }, { name: 'moving_mean', shape: [n] }, { name: 'moving_variance', shape: [n] }] });
  const ops: Ops<number> = {
    convBn(cin, name, filters, k) {
      specs.push({ name, weights: [{ name: 'kernel', shape: [k[0], k[1], cin, filters] }] }, bn(`${name}_BatchNorm`, filters));
      return filters;
    },
    maxPool: (cin) => cin,
    concat: (xs) => xs.reduce((a, b) => a + b, 0),
    residual(cin, mixed, name) {
      specs.push({ name: `${name}_Conv2d_1x1`, weights: [{ name: 'kernel', shape: [1, 1, mixed, cin] }, { name: 'bias', shape: [cin] }] });
      return cin;
    },
    head(cin, dimension) {
      specs.push({ name: 'Bottleneck', weights: [{ name: 'kernel', shape: [cin, dimension] }] }, bn('Bottleneck_BatchNorm', dimension));
      return dimension;
    },
  };
  walk(ops, 3, cfg);
  return specs;
}

/** DeepFace's Block17_i_Branch_i_* / Block8_i_Branch_i_* name with the branch number 1 (the uniform naming of other ports). */
export function uniformBranchName(name: string): string {
  return name.replace(/^(Block(?:17|8)_\d+)_Branch_\d+_(Conv2d_0[abc]_)/, '$1_Branch_1_$2');
}

/** Total number of weights (Keras `count_params`, BatchNorm moving statistics included). */
export function facenetParamCount(cfg: FacenetConfig = FACENET512_CONFIG): number {
  let n = 0;
  for (const l of facenetLayerSpecs(cfg)) for (const w of l.weights) n += w.shape.reduce((a, b) => a * b, 1);
  return n;
}

// ---------------------------------------------------------------- weights (h5wasm)

type H5Module = typeof import('h5wasm/node').default;
type H5Group = InstanceType<H5Module['Group']>;
type H5Dataset = InstanceType<H5Module['Dataset']>;

function isGroup(h5: H5Module, e: unknown): e is H5Group {
  return e instanceof h5.Group;
}

function attrStrings(g: H5Group, name: string): string[] | null {
  const a = g.attrs[name];
  if (!a) return null;
  const v = a.value as unknown;
  if (v == null) return [];
  const arr = typeof v === 'string' ? [v] : Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<unknown>) : [v];
  return arr.map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)));
}

/** All datasets under g (recursive), by path relative to g. */
function datasetsUnder(h5: H5Module, g: H5Group, prefix = ''): Map<string, H5Dataset> {
  const out = new Map<string, H5Dataset>();
  for (const k of g.keys()) {
    const e = g.get(k);
    if (e instanceof h5.Dataset) out.set(prefix + k, e);
    else if (isGroup(h5, e)) for (const [p, d] of datasetsUnder(h5, e, `${prefix}${k}/`)) out.set(p, d);
  }
  return out;
}

/** HDF5 superblock signature at offset 0, 512, 1024, 2048, ... (a user block may precede it). */
function hasHdf5Signature(path: string): boolean {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      readSync(fd, buf, 0, 8, off);
      if (sig.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Raw float32 weights by `${layer}/${weight}`, checked against the specs. */
export async function readFacenetWeights(path: string, cfg: FacenetConfig = FACENET512_CONFIG): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const h5 = (await import('h5wasm/node')).default;
  await h5.ready;
  let file: InstanceType<H5Module['File']>;
  if (!existsSync(path)) throw new ModelLoadError(`the Facenet512 weights file '${path}' does not exist (DeepFace's facenet512_weights.h5)`);
  if (!hasHdf5Signature(path)) throw new ModelLoadError(`cannot open the Facenet512 weights '${path}' as HDF5: no HDF5 signature (expected DeepFace's facenet512_weights.h5)`);
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    throw new ModelLoadError(`cannot open the Facenet512 weights '${path}' as HDF5: ${(e as Error).message}`);
  }
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  try {
    const mw = file.get('model_weights');
    const root: H5Group = isGroup(h5, mw) ? mw : file;
    for (const layer of facenetLayerSpecs(cfg)) {
      let g = root.get(layer.name);
      // a file saved from a port with uniform names (Block17_2_Branch_1_...) also loads
      if (!isGroup(h5, g) && uniformBranchName(layer.name) !== layer.name) g = root.get(uniformBranchName(layer.name));
      if (!isGroup(h5, g)) throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer.name}' is missing (not DeepFace's facenet512_weights.h5, or another architecture)`);
      const all = datasetsUnder(h5, g);
      const listed = attrStrings(g, 'weight_names');
      const names = listed && listed.length > 0 ? listed : [...all.keys()];
      for (const w of layer.weights) {
        const wn = names.find((n) => { const base = n.split('/').pop() ?? n; return base === w.name || base === `${w.name}:0`; });
        const ds = wn === undefined ? undefined : (g.get(wn) ?? all.get(wn));
        if (!(ds instanceof h5.Dataset)) throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer.name}' has no '${w.name}' weight (has: ${names.join(', ') || 'none'})`);
        const shape = ds.shape ?? [];
        if (shape.length !== w.shape.length || shape.some((s, i) => s !== w.shape[i])) throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer.name}' weight '${w.name}' has shape [${shape}], expected [${w.shape}]`);
        const v = ds.value;
        if (!(v instanceof Float32Array || v instanceof Float64Array)) throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer.name}' weight '${w.name}' is not floating point`);
        const data = v instanceof Float32Array ? v : Float32Array.from(v);
        if (!data.every(Number.isFinite)) throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer.name}' weight '${w.name}' has non-finite values`);
        out.set(`${layer.name}/${w.name}`, { shape, data });
      }
    }
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`cannot open the Facenet512 weights '${path}' as HDF5: ${(e as Error).message ?? String(e)}`);
  } finally {
    try { file.close(); } catch { /* already unusable */ }
  }
  return out;
}

/**
 * Reads the architecture back from a weights file (for `ganon model run --arch facenet512`):
 * width from Conv2d_1a_3x3's filters (32 in DeepFace's), block counts from the residual layers
 * present, dimension from the Bottleneck. DeepFace's file gives FACENET512_CONFIG.
 */
export async function inferFacenetConfig(path: string): Promise<FacenetConfig> {
  const h5 = (await import('h5wasm/node')).default;
  await h5.ready;
  if (!existsSync(path)) throw new ModelLoadError(`the Facenet512 weights file '${path}' does not exist (DeepFace's facenet512_weights.h5)`);
  if (!hasHdf5Signature(path)) throw new ModelLoadError(`cannot open the Facenet512 weights '${path}' as HDF5: no HDF5 signature (expected DeepFace's facenet512_weights.h5)`);
  let file: InstanceType<H5Module['File']>;
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    throw new ModelLoadError(`cannot open the Facenet512 weights '${path}' as HDF5: ${(e as Error).message}`);
  }
  try {
    const mw = file.get('model_weights');
    const root: H5Group = isGroup(h5, mw) ? mw : file;
    const names = new Set(root.keys());
    const shapeOf = (layer: string, weight: string): number[] => {
      const g = root.get(layer);
      if (!isGroup(h5, g)) throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer}' is missing (not DeepFace's facenet512_weights.h5, or another architecture)`);
      for (const [k, d] of datasetsUnder(h5, g)) {
        const base = k.split('/').pop() ?? k;
        if (base === weight || base === `${weight}:0`) return d.shape ?? [];
      }
      throw new ModelLoadError(`Facenet512 weights '${path}': layer '${layer}' has no '${weight}' weight`);
    };
    const count = (prefix: string): number => {
      let n = 0;
      while (names.has(`${prefix}_${n + 1}_Conv2d_1x1`)) n++;
      return n;
    };
    const first = shapeOf('Conv2d_1a_3x3', 'kernel');
    const bottleneck = shapeOf('Bottleneck', 'kernel');
    const block8 = count('Block8');
    if (first.length !== 4 || bottleneck.length !== 2 || block8 < 1) throw new ModelLoadError(`Facenet512 weights '${path}': not an InceptionResNetV1 layout (Conv2d_1a_3x3 kernel [${first}], Bottleneck kernel [${bottleneck}], ${block8} Block8 units)`);
    return { width: first[3]! / 32, block35: count('Block35'), block17: count('Block17'), block8: block8 - 1, dimension: bottleneck[1]! };
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`cannot read the Facenet512 weights '${path}': ${(e as Error).message ?? String(e)}`);
  } finally {
    try { file.close(); } catch { /* already unusable */ }
  }
}

// ---------------------------------------------------------------- network

interface Folded { kernel: tf.Tensor; bias: tf.Tensor1D }

/** Conv/Dense kernel (last axis = outputs) with BatchNorm(scale=False) folded in. */
function fold(kernel: { shape: number[]; data: Float32Array }, beta: Float32Array, mean: Float32Array, variance: Float32Array): { k: Float32Array; b: Float32Array } {
  const n = beta.length;
  const s = new Float64Array(n);
  const b = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    s[c] = 1 / Math.sqrt(variance[c]! + BN_EPS);
    b[c] = beta[c]! - mean[c]! * s[c]!;
  }
  const k = new Float32Array(kernel.data.length);
  for (let i = 0; i < k.length; i++) k[i] = kernel.data[i]! * s[i % n]!;
  return { k, b };
}

export interface FacenetNet {
  config: FacenetConfig;
  /** NHWC [N, 160, 160, 3] BGR in [0, 1] -> [N, dimension]. */
  predict(input: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export async function loadFacenetNet(path: string, cfg: FacenetConfig = FACENET512_CONFIG): Promise<FacenetNet> {
  const raw = await readFacenetWeights(path, cfg);
  const get = (k: string): { shape: number[]; data: Float32Array } => {
    const v = raw.get(k);
    if (!v) throw new ModelLoadError(`Facenet512 weights: '${k}' was not read`);
    return v;
  };
  const params = new Map<string, Folded>();
  const addFolded = (layer: string, bnLayer: string): void => {
    const kern = get(`${layer}/kernel`);
    const { k, b } = fold(kern, get(`${bnLayer}/beta`).data, get(`${bnLayer}/moving_mean`).data, get(`${bnLayer}/moving_variance`).data);
    params.set(layer, { kernel: tf.tensor(k, kern.shape, 'float32'), bias: tf.tensor1d(b, 'float32') });
  };
  for (const l of facenetLayerSpecs(cfg)) {
    if (l.name.endsWith('_BatchNorm')) continue;
    if (l.name === 'Bottleneck') addFolded(l.name, 'Bottleneck_BatchNorm');
    else if (l.weights.some((w) => w.name === 'bias')) {
      const kern = get(`${l.name}/kernel`);
      params.set(l.name, { kernel: tf.tensor(kern.data, kern.shape, 'float32'), bias: tf.tensor1d(get(`${l.name}/bias`).data, 'float32') });
    } else addFolded(l.name, `${l.name}_BatchNorm`);
  }
  const p = (name: string): Folded => {
    const v = params.get(name);
    if (!v) throw new ModelLoadError(`Facenet512: no weights for layer '${name}'`);
    return v;
  };
  const ops: Ops<tf.Tensor4D> = {
    convBn(x, name, _f, _k, stride, pad) {
      const w = p(name);
      return tf.fused.conv2d({ x, filter: w.kernel as tf.Tensor4D, strides: stride, pad, bias: w.bias, activation: 'relu' });
    },
    maxPool: (x) => tf.maxPool(x, 3, 2, 'valid'),
    concat: (xs) => tf.concat(xs, 3),
    residual(x, mixed, name, scale, relu) {
      const w = p(`${name}_Conv2d_1x1`);
      const up = tf.fused.conv2d({ x: mixed, filter: w.kernel as tf.Tensor4D, strides: 1, pad: 'same', bias: w.bias });
      const sum = tf.add(x, tf.mul(up, scale)) as tf.Tensor4D;
      return relu ? tf.relu(sum) : sum;
    },
    head(x) {
      const w = p('Bottleneck');
      const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, w.kernel as tf.Tensor2D), w.bias) as unknown as tf.Tensor4D;
    },
  };
  let disposed = false;
  return {
    config: cfg,
    predict(input) {
      if (disposed) throw new ModelLoadError('the Facenet512 network was disposed');
      return tf.tidy(() => walk(ops, input, cfg) as unknown as tf.Tensor2D);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const v of params.values()) tf.dispose([v.kernel, v.bias]);
    },
  };
}

// ---------------------------------------------------------------- preprocessing

/** Round half to even, as cvRound. */
function cvRound(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * cv2.resize(src, (dw, dh)) with the default INTER_LINEAR on a uint8 HWC image:
 * half-pixel centres, 11-bit fixed-point coefficients as OpenCV's uint8 path
 * (horizontal pass in int, vertical pass rounded as its SIMD kernel
 * VResizeLinearVec_32s8u). Bit-exact with opencv-python-headless 4.14 on the fixture.
 */
export function cv2ResizeLinearU8(src: Uint8Array, sw: number, sh: number, ch: number, dw: number, dh: number): Uint8Array {
  const ONE = 2048;
  // x: the source index and weight are clamped at the borders (OpenCV's xmin/xmax);
  // y: not clamped, only the two source rows are (so both may be the same row).
  const coefs = (dsize: number, ssize: number, clamp: boolean): { idx: Int32Array; a: Int16Array } => {
    const scale = 1 / (dsize / ssize); // OpenCV: scale_x = 1. / inv_scale_x (double)
    const f32 = Math.fround;
    const idx = new Int32Array(dsize);
    const a = new Int16Array(dsize * 2);
    for (let d = 0; d < dsize; d++) {
      let f = f32((d + 0.5) * scale - 0.5); // float fx
      let s = Math.floor(f);
      f = f32(f - s);
      if (clamp && s < 0) { s = 0; f = 0; }
      if (clamp && s >= ssize - 1) { s = ssize - 1; f = 0; }
      idx[d] = s;
      a[2 * d] = cvRound(f32(f32(1 - f) * ONE)); // saturate_cast<short>(cbuf[k] * INTER_RESIZE_COEF_SCALE)
      a[2 * d + 1] = cvRound(f32(f * ONE));
    }
    return { idx, a };
  };
  const hx = coefs(dw, sw, true);
  const vy = coefs(dh, sh, false);
  // horizontal pass for every source row (int, scaled by 2048)
  const rows = new Int32Array(sh * dw * ch);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < dw; x++) {
      const sx = hx.idx[x]!;
      const sx1 = Math.min(sx + 1, sw - 1);
      const a0 = hx.a[2 * x]!;
      const a1 = hx.a[2 * x + 1]!;
      for (let c = 0; c < ch; c++) rows[(y * dw + x) * ch + c] = src[(y * sw + sx) * ch + c]! * a0 + src[(y * sw + sx1) * ch + c]! * a1;
    }
  }
  const out = new Uint8Array(dh * dw * ch);
  const rowLen = dw * ch;
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(Math.max(vy.idx[y]!, 0), sh - 1);
    const sy1 = Math.min(Math.max(vy.idx[y]! + 1, 0), sh - 1);
    const b0 = vy.a[2 * y]!;
    const b1 = vy.a[2 * y + 1]!;
    for (let i = 0; i < rowLen; i++) {
      const s0 = rows[sy * rowLen + i]!;
      const s1 = rows[sy1 * rowLen + i]!;
      const v = (((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2;
      out[y * rowLen + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/**
 * DeepFace's resize + even zero padding to size x size on the BGR uint8 image.
 * Returns BGR uint8 levels, HWC, size*size*3.
 */
export function deepfaceResizePad(img: RgbImage, size = FACENET512_SIZE): Uint8Array {
  const { width: w, height: h, data } = img;
  if (w < 1 || h < 1 || data.length !== w * h * 3) throw new InputError(`a ${w}x${h} RGB image needs ${w * h * 3} bytes, got ${data.length}`);
  const bgr = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 3) { bgr[i] = data[i + 2]!; bgr[i + 1] = data[i + 1]!; bgr[i + 2] = data[i]!; }
  const factor = Math.min(size / h, size / w);
  const dw = Math.trunc(w * factor);
  const dh = Math.trunc(h * factor);
  if (dw < 1 || dh < 1) throw new InputError(`a ${w}x${h} image is too thin to resize to fit ${size}x${size}`);
  const resized = dw === w && dh === h ? bgr : cv2ResizeLinearU8(bgr, w, h, 3, dw, dh);
  const top = Math.floor((size - dh) / 2);
  const left = Math.floor((size - dw) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < dh; y++) out.set(resized.subarray(y * dw * 3, (y + 1) * dw * 3), ((y + top) * size + left) * 3);
  return out;
}

/**
 * The network input for one face: Float32 HWC BGR in [0, 1] ('base' normalisation).
 * deepface 0.0.79's extract_faces divides by 255 unconditionally (`img_pixels /= 255`);
 * later versions divide only when the max exceeds 1, which differs on images whose
 * levels are all 0 or 1.
 */
export function preprocessFacenet(img: RgbImage): Float32Array {
  const levels = deepfaceResizePad(img);
  const out = new Float32Array(levels.length);
  for (let i = 0; i < levels.length; i++) out[i] = levels[i]! / 255;
  return out;
}

// ---------------------------------------------------------------- embedder

export async function loadFacenet512Embedder(weightsPath: string, cfg: FacenetConfig = FACENET512_CONFIG): Promise<Embedder> {
  const net = await loadFacenetNet(weightsPath, cfg);
  const S = FACENET512_SIZE;
  return {
    name: FACENET512_NAME,
    proxy: false,
    weightsSha256: sha256Files([weightsPath]),
    dim: cfg.dimension,
    async embed(faces: RgbImage[]): Promise<Float32Array[]> {
      const out: Float32Array[] = [];
      for (let i = 0; i < faces.length; i += BATCH) {
        const chunk = faces.slice(i, i + BATCH);
        const buf = new Float32Array(chunk.length * S * S * 3);
        chunk.forEach((f, k) => {
          try {
            buf.set(preprocessFacenet(f), k * S * S * 3);
          } catch (e) {
            if (e instanceof InputError) throw new InputError(`face ${i + k + 1}: ${e.message}`);
            throw e;
          }
        });
        const emb = tf.tidy(() => net.predict(tf.tensor4d(buf, [chunk.length, S, S, 3])));
        let data: Float32Array;
        try {
          data = await emb.data<'float32'>();
        } finally {
          emb.dispose();
        }
        for (let k = 0; k < chunk.length; k++) {
          const v = Float32Array.from(data.subarray(k * cfg.dimension, (k + 1) * cfg.dimension));
          if (!v.every(Number.isFinite)) throw new InputError(`face ${i + k + 1}: the Facenet512 embedding has non-finite values`);
          out.push(v);
        }
      }
      return out;
    },
    dispose() {
      net.dispose();
    },
  };
}
