/**
 * Named network parameters. Each parameter is known by its PyTorch state_dict
 * name and PyTorch layout (conv [out,in,kh,kw], transposed conv [in,out,kh,kw]);
 * inside TF.js it is a tf.Variable in TF layout ([kh,kw,in,out] for conv,
 * [kh,kw,out,in] for conv2dTranspose — the same permutation [2,3,1,0] from both).
 * So checkpoints interoperate with the reference PyTorch code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from '../errors.js';
import type { NamedTensor, TensorMap } from '../io/safetensors.js';
import { Rng } from '../util/rng.js';

/**
 * conv [out,in,kh,kw] and convT [in,out,kh,kw] -> [kh,kw,in|out,out|in];
 * dwconv (depthwise, multiplier 1) [C,1,kh,kw] -> [kh,kw,C,1];
 * linear [out,in] -> [in,out]; scale [C,1,1] (torchvision's layer_scale) -> [C];
 * bias: any 1-D vector (biases, LayerNorm weights), unchanged.
 */
export type ParamKind = 'conv' | 'convT' | 'dwconv' | 'linear' | 'scale' | 'bias';

export interface ParamSpec {
  /** PyTorch state_dict name, e.g. `down1.model.0.weight`. */
  name: string;
  kind: ParamKind;
  /** Shape in PyTorch's layout. */
  torchShape: number[];
  /** PyTorch's fan_in for the default bias init (in*kh*kw of the owning conv). */
  fanIn: number;
}

export function paramCount(specs: readonly ParamSpec[]): number {
  return specs.reduce((sum, s) => sum + s.torchShape.reduce((a, b) => a * b, 1), 0);
}

/** TF shape of a parameter. */
export function tfShape(spec: ParamSpec): number[] {
  switch (spec.kind) {
    case 'bias': return spec.torchShape.slice();
    case 'scale': return [spec.torchShape[0]!];
    case 'linear': return [spec.torchShape[1]!, spec.torchShape[0]!];
    case 'dwconv': {
      const [c, , kh, kw] = spec.torchShape as [number, number, number, number];
      return [kh, kw, c, 1];
    }
    default: {
      const [a, b, kh, kw] = spec.torchShape as [number, number, number, number];
      return [kh, kw, b, a];
    }
  }
}

/** Permutes a 4-D row-major array: out[i..] = in[...] with out dims = in dims permuted by perm. */
export function permute4(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const [d0, d1, d2, d3] = shape as [number, number, number, number];
  const inStrides = [d1 * d2 * d3, d2 * d3, d3, 1];
  const outShape = perm.map((p) => shape[p]!);
  const [o0, o1, o2, o3] = outShape as [number, number, number, number];
  const s = perm.map((p) => inStrides[p]!) as [number, number, number, number];
  const out = new Float32Array(data.length);
  let idx = 0;
  for (let a = 0; a < o0; a++) {
    for (let b = 0; b < o1; b++) {
      for (let c = 0; c < o2; c++) {
        const base = a * s[0] + b * s[1] + c * s[2];
        for (let d = 0; d < o3; d++) out[idx++] = data[base + d * s[3]]!;
      }
    }
  }
  return out;
}

export function torchToTf(spec: ParamSpec, data: Float32Array): Float32Array {
  switch (spec.kind) {
    case 'bias': case 'scale': return data;
    case 'linear': return permute4(data, [1, 1, ...spec.torchShape], [0, 1, 3, 2]);
    case 'dwconv': return permute4(data, spec.torchShape, [2, 3, 0, 1]);
    default: return permute4(data, spec.torchShape, [2, 3, 1, 0]);
  }
}

export function tfToTorch(spec: ParamSpec, data: Float32Array): Float32Array {
  switch (spec.kind) {
    case 'bias': case 'scale': return data;
    case 'linear': return permute4(data, [1, 1, ...tfShape(spec)], [0, 1, 3, 2]);
    case 'dwconv': return permute4(data, tfShape(spec), [2, 3, 0, 1]);
    default: return permute4(data, tfShape(spec), [3, 2, 0, 1]);
  }
}

let nextId = 0;

/** A set of tf.Variables owned by one network instance. Call dispose() when done. */
export class Params {
  readonly vars = new Map<string, tf.Variable>();
  readonly prefix: string;

  constructor(readonly specs: readonly ParamSpec[], values: (spec: ParamSpec) => Float32Array, label = 'net') {
    this.prefix = `${label}${nextId++}/`;
    for (const spec of specs) {
      const v = tf.tidy(() => tf.variable(tf.tensor(values(spec), tfShape(spec)), true, this.prefix + spec.name));
      this.vars.set(spec.name, v);
    }
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new Error(`no parameter '${name}'`);
    return v;
  }

  /** Trainable variables in spec order (for optimizers). */
  list(): tf.Variable[] {
    return this.specs.map((s) => this.get(s.name));
  }

  /** Reads all parameters out, in PyTorch names and layouts. */
  async toTorch(): Promise<TensorMap> {
    const out: TensorMap = new Map();
    for (const spec of this.specs) {
      const data = (await this.get(spec.name).data()) as Float32Array;
      out.set(spec.name, { shape: spec.torchShape.slice(), data: tfToTorch(spec, data) });
    }
    return out;
  }

  /** Assigns parameters from a PyTorch-layout map; every spec must be present with its exact shape. */
  assignTorch(map: TensorMap, source = 'weights', keyPrefix = ''): void {
    for (const spec of this.specs) {
      const t = map.get(keyPrefix + spec.name);
      if (t === undefined) throw new ModelLoadError(`${source}: missing tensor '${keyPrefix + spec.name}'`);
      checkShape(spec, t, source, keyPrefix);
      const v = this.get(spec.name);
      tf.tidy(() => v.assign(tf.tensor(torchToTf(spec, t.data), tfShape(spec))));
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

function checkShape(spec: ParamSpec, t: NamedTensor, source: string, keyPrefix: string): void {
  const ok = t.shape.length === spec.torchShape.length && t.shape.every((d, i) => d === spec.torchShape[i]);
  if (!ok) {
    throw new ModelLoadError(`${source}: tensor '${keyPrefix + spec.name}' has shape [${t.shape}], expected [${spec.torchShape}]`);
  }
}

/**
 * The reference init (`weights_init_normal`): conv and transposed-conv weights
 * ~ N(0, 0.02); biases keep PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 */
export function referenceInit(seed: number): (spec: ParamSpec) => Float32Array {
  const rng = new Rng(seed);
  return (spec) => {
    const n = spec.torchShape.reduce((a, b) => a * b, 1);
    const torch = new Float32Array(n);
    if (spec.kind === 'bias') {
      const bound = 1 / Math.sqrt(spec.fanIn);
      for (let i = 0; i < n; i++) torch[i] = (rng.uniform() * 2 - 1) * bound;
    } else {
      for (let i = 0; i < n; i++) torch[i] = rng.normal() * 0.02;
    }
    return torchToTf(spec, torch);
  };
}

/** Values from a PyTorch-layout map (e.g. a loaded safetensors file). */
export function fromTorchMap(map: TensorMap, source: string, keyPrefix = ''): (spec: ParamSpec) => Float32Array {
  return (spec) => {
    const t = map.get(keyPrefix + spec.name);
    if (t === undefined) throw new ModelLoadError(`${source}: missing tensor '${keyPrefix + spec.name}'`);
    checkShape(spec, t, source, keyPrefix);
    return torchToTf(spec, t.data);
  };
}
