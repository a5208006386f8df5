/**
 * PyTorch's Adam/AdamW update for tfjs-backend-wasm as one kernel (src/train/adam.ts
 * uses it where it is registered), bit-identical to adam.ts's tf-op formulation.
 *
 * Why: as tf ops the update is 13 elementwise passes per parameter, each streaming
 * whole tensors (up to 32 MB) through memory: about 0.8-1.1 s per pix2pix training
 * step for 57 M parameters.
 *
 * - Where WebAssembly SIMD is available (./wasm-simd.ts): one f32x4 pass doing the same
 *   float32 operations in the same order (IEEE +, -, *, / and sqrt are exact per
 *   lane), about 3.5x faster than the chunked ops below; the last n mod 4 elements in
 *   JS with Math.fround after each operation (a double +, -, *, / or sqrt of float32
 *   operands rounded to float32 is the correctly rounded float32 result).
 * - Otherwise: the same 13 wasm (XNNPACK) elementwise kernels as the op formulation,
 *   run on chunks of CHUNK_ELEMENTS elements (views into the tensors, no copies), so
 *   their intermediates stay in cache: 10-40% faster than whole-tensor ops.
 *   (A plain JS loop over all elements was also bit-identical, and 1.5x slower than
 *   the 13 whole-tensor passes.)
 *
 * Scalars are rounded to float32 as tf.scalar rounds them. test/backend/wasm-adam.test.ts
 * checks bit equality with the op formulation on wasm and on cpu, for both paths.
 */
import { getKernel, registerKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { simdKernels } from './wasm-simd.js';
import { callWasm, type WasmBackendLike as BaseWasmBackend } from './wasm-call.js';

export const FUSED_ADAM_KERNEL = 'GanonAdamTorchUpdate';

/** Attributes, as the JS numbers adam.ts computes. */
export interface FusedAdamAttrs {
  /** 1 - lr * weight_decay (1: plain Adam, no decay step). */
  decay: number;
  /** 1 - beta1, the lerp weight. */
  w: number;
  beta2: number;
  /** sqrt(1 - beta2^t). */
  bc2Sqrt: number;
  eps: number;
  /** lr / (1 - beta1^t). */
  stepSize: number;
}

/** The slice of BackendWasm used here (dataIdMap and wasm.tfjs for views into the heap). */
interface WasmBackendLike extends BaseWasmBackend {
  dataIdMap: { get(id: object): { id: number; memoryOffset: number }; delete(id: object): void };
  wasm: { tfjs: { disposeData(id: number): void } };
}

/** Elements per chunk: 7 chunk-sized live buffers at 64 K floats is under 2 MB. */
export const CHUNK_ELEMENTS = 65536;

const call = callWasm;

/** A tensor viewing `size` floats of t from element `start` (no copy); release with unview. */
function view(b: WasmBackendLike, t: TensorInfo, start: number, size: number): TensorInfo {
  return b.makeOutput([size], 'float32', b.dataIdMap.get(t.dataId).memoryOffset + 4 * start);
}

function unview(b: WasmBackendLike, t: TensorInfo): void {
  const d = b.dataIdMap.get(t.dataId);
  b.wasm.tfjs.disposeData(d.id); // forget it without freeing: the memory belongs to the viewed tensor
  b.dataIdMap.delete(t.dataId);
}

/** inputs {p, g, m, v} (float32, one shape) -> [p', m', v']. */
export const fusedAdam: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { p, g, m, v } = inputs as { p: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };
  const a = attrs as unknown as FusedAdamAttrs;
  for (const t of [g, m, v]) {
    if (t.dtype !== 'float32' || p.dtype !== 'float32' || t.shape.join() !== p.shape.join()) {
      throw new Error(`fused Adam: inputs must be float32 of one shape (got ${p.dtype}[${p.shape}], ${t.dtype}[${t.shape}])`);
    }
  }
  const n = p.shape.reduce((x, y) => x * y, 1);
  const simd = useSimd ? simdKernels(b) : null;
  if (simd !== null) return simdAdam(b, simd, p, g, m, v, n, a);
  const c = adamConstants(a);
  const scalar = (x: number) => b.makeOutput([], 'float32', undefined, Float32Array.of(x));
  const [decay, w, omw, beta2, omb2, bc2, eps, step] = [c.decay, c.w, c.omw, c.b2, c.omb2, c.bc2, c.eps, c.step].map(scalar) as
    [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const outs = [b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32')];
  const outOffs = outs.map((t) => b.dataIdMap.get(t.dataId).memoryOffset >>> 2);
  const tmp: TensorInfo[] = [];
  const op = (name: string, x: TensorInfo, y?: TensorInfo): TensorInfo => {
    const r = y === undefined ? call(name, b, { x }) : call(name, b, { a: x, b: y });
    tmp.push(r);
    return r;
  };
  for (let start = 0; start < n; start += CHUNK_ELEMENTS) {
    const size = Math.min(CHUNK_ELEMENTS, n - start);
    const [pc, gc, mc, vc] = [p, g, m, v].map((t) => view(b, t, start, size)) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
    // adam.ts, op for op:
    const p0 = a.decay !== 1 ? op('Multiply', pc, decay) : pc;
    const d = op('Sub', gc, mc);
    const m2 = a.w < 0.5 ? op('Add', mc, op('Multiply', d, w)) : op('Sub', gc, op('Multiply', d, omw));
    const v2 = op('Add', op('Multiply', vc, beta2), op('Multiply', op('Multiply', gc, gc), omb2));
    const denom = op('Add', op('RealDiv', op('Sqrt', v2), bc2), eps);
    const p2 = op('Sub', p0, op('Multiply', op('RealDiv', m2, denom), step));
    // Results into place (the heap cannot have moved: nothing above allocates more than a chunk... re-read anyway).
    const heap = b.typedArrayFromHeap(outs[0]!);
    const H = new Float32Array(heap.buffer);
    for (const [k, r] of [[0, p2], [1, m2], [2, v2]] as const) {
      const src = b.dataIdMap.get(r.dataId).memoryOffset >>> 2;
      H.copyWithin(outOffs[k]! + start, src, src + size);
    }
    for (const t of [pc, gc, mc, vc]) unview(b, t);
    for (const t of tmp) b.disposeData(t.dataId);
    tmp.length = 0;
  }
  for (const t of [decay, w, omw, beta2, omb2, bc2, eps, step]) b.disposeData(t.dataId);
  return outs;
};

/** The SIMD path can be switched off (tests and measurements of the chunked path). */
let useSimd = true;
export function setWasmAdamSimd(on: boolean): void {
  useSimd = on;
}

const F = Math.fround;

/** The update's constants exactly as adam.ts's tf ops see them (tf.scalar rounds to float32). */
function adamConstants(a: FusedAdamAttrs) {
  return {
    decay: F(a.decay), w: F(a.w), omw: F(1 - a.w), b2: F(a.beta2), omb2: F(1 - a.beta2),
    bc2: F(a.bc2Sqrt), eps: F(a.eps), step: F(a.stepSize),
  };
}

function simdAdam(b: WasmBackendLike, simd: NonNullable<ReturnType<typeof simdKernels>>, p: TensorInfo, g: TensorInfo, m: TensorInfo, v: TensorInfo,
  n: number, a: FusedAdamAttrs): TensorInfo[] {
  const outs = [b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32')] as const;
  const addr = (t: TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  const { decay, w, omw, b2, omb2, bc2, eps, step } = adamConstants(a);
  const useDecay = a.decay !== 1;
  const lerpLow = a.w < 0.5;
  const n4 = n - (n % 4);
  simd.adam(addr(p), addr(g), addr(m), addr(v), addr(outs[0]), addr(outs[1]), addr(outs[2]), n4,
    useDecay ? 1 : 0, lerpLow ? 1 : 0, decay, w, omw, b2, omb2, bc2, eps, step);
  if (n4 < n) {
    const [P, G, M, V, PO, MO, VO] = [p, g, m, v, ...outs].map((t) => b.typedArrayFromHeap(t)) as Float32Array[];
    for (let i = n4; i < n; i++) {
      const gi = G![i]!;
      const mi = M![i]!;
      const p0 = useDecay ? F(P![i]! * decay) : P![i]!;
      const d = F(gi - mi);
      const m2 = lerpLow ? F(mi + F(d * w)) : F(gi - F(d * omw));
      const v2 = F(F(V![i]! * b2) + F(F(gi * gi) * omb2));
      const denom = F(F(F(Math.sqrt(v2)) / bc2) + eps);
      PO![i] = p0 - F(F(m2 / denom) * step);
      MO![i] = m2;
      VO![i] = v2;
    }
  }
  return [...outs];
}

let registered = false;
/** Registers the update for wasm. Idempotent. */
export function registerWasmAdamKernel(): void {
  if (registered) return;
  if (getKernel(FUSED_ADAM_KERNEL, 'wasm') === undefined) {
    registerKernel({ kernelName: FUSED_ADAM_KERNEL, backendName: 'wasm', kernelFunc: fusedAdam } as KernelConfig);
  }
  registered = true;
}
