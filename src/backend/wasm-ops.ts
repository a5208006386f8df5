/**
 * Replacements for tfjs-backend-wasm 4.22 kernels that are slow for reasons unrelated to
 * the arithmetic (measured on the pix2pix training step, docs/performance.md):
 *
 * - `Identity` copies its input. tfjs-core calls it for every tensor it saves for the
 *   backward pass (engine.clone), so a training step copied every activation once more.
 *   Here it shares the buffer (reference count + 1), as the cpu and webgl backends do;
 *   tfjs never writes into an existing buffer, so sharing is safe. `Cast` to the same
 *   dtype likewise.
 * - `Slice` starts by copying the WHOLE input out of the wasm heap (readSync) and then
 *   copies rows through a fresh subarray each; `SplitV` (the gradient of Concat) calls
 *   it once per piece. Here rows are copied within the heap, and only the slice is read.
 * - `Concat` creates a subarray per row and input (88 ns per element for the
 *   discriminator's [1,256,256,3] + [1,256,256,3] input): rows are copied within the
 *   heap, short rows element by element.
 * - `Sum` and `Mean` over axes that are not innermost transpose the input first
 *   (4-12 ns per element for InstanceNorm's [1,2] over NHWC): over H and W of an NHWC
 *   tensor they are XNNPACK's average pooling over the whole window here (~1 ns).
 *
 * - `Maximum` and `Minimum` against a scalar (ReLU6 in MobileNets: Human's faceres) take
 *   about 6 ns per element: here the SIMD module's pmax/pmin, which compute exactly
 *   wasm's std::max(x, s) / std::min(x, s) (NaN and signed zeros included).
 * - `LeakyRelu` is a scalar loop (about 6 ns per element): here the SIMD module's
 *   (./wasm-simd.ts), with the same results. Short rows of Slice and Concat (a few
 *   channels per position) are copied by the SIMD module's row copy.
 *
 * Every other case goes to wasm's own kernel, kept (with its setup function) when the
 * replacement is registered. Each kernel is compared with tfjs-backend-cpu in
 * test/backend/wasm-ops.test.ts.
 */
import {
  backend_util,
  getKernel,
  slice_util,
  util,
  type DataType,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { simdKernels } from './wasm-simd.js';
import { replaceWasmKernel } from './wasm-call.js';

/** The slice of BackendWasm these kernels use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: ArrayLike<number>): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

type KernelArgs = Parameters<KernelFunc>[0];

/** wasm's own kernels, kept when ours replace them. */
const originals = new Map<string, KernelConfig>();

function original(name: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  const k = originals.get(name) ?? getKernel(name, 'wasm');
  if (k === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc(args) as TensorInfo | TensorInfo[];
}

/** The heap as an array of t's element type, and t's element offset in it. */
function heapOf(b: WasmBackendLike, t: TensorInfo): { heap: Float32Array | Int32Array | Uint8Array; off: number } {
  const v = b.typedArrayFromHeap(t);
  const Ctor = v.constructor as new (b: ArrayBufferLike) => Float32Array | Int32Array | Uint8Array;
  return { heap: new Ctor(v.buffer), off: v.byteOffset / v.BYTES_PER_ELEMENT };
}

/** Rows shorter than this are copied element by element (copyWithin costs a call each). */
const SHORT_ROW = 32;

function copyRow(heap: Float32Array | Int32Array | Uint8Array, dst: number, src: number, len: number): void {
  if (len < SHORT_ROW) {
    for (let i = 0; i < len; i++) heap[dst + i] = heap[src + i]!;
  } else {
    heap.copyWithin(dst, src, src + len);
  }
}

const share = (b: WasmBackendLike, x: TensorInfo): TensorInfo => {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identity: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return original('Identity', args);
  return share(args.backend as unknown as WasmBackendLike, x);
};

export const cast: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { dtype } = args.attrs as unknown as { dtype: DataType };
  const b = args.backend as unknown as WasmBackendLike;
  if (x.dtype === 'string') return original('Cast', args);
  if (dtype === x.dtype) return share(b, x);
  if (dtype === 'bool') {
    // wasm's own Cast copies 0.37 into a Uint8Array as 0; cpu (and TF) give x != 0.
    const out = b.makeOutput(x.shape, 'bool');
    const xv = b.typedArrayFromHeap(x);
    const ov = b.typedArrayFromHeap(out);
    for (let i = 0; i < xv.length; i++) ov[i] = xv[i] !== 0 ? 1 : 0;
    return out;
  }
  return original('Cast', args);
};

function sliceInto(b: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = b.makeOutput(size, x.dtype);
  if (util.sizeFromShape(size) === 0) return out;
  const shape = x.shape;
  const rank = shape.length;
  // The last axis that is cut: everything after it is copied whole, as one row.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const strides = util.computeStrides(shape); // element strides of x, rank - 1 long
  const inner = rank === 0 ? 1 : util.sizeFromShape(shape.slice(k + 1));
  const rowLen = (size[k] ?? 1) * inner;
  const { heap, off: xOff } = heapOf(b, x);
  const oOff = heapOf(b, out).off;
  let base = xOff;
  for (let a = 0; a <= k; a++) base += begin[a]! * (a < rank - 1 ? strides[a]! : 1);
  // Short rows at a uniform stride (every axis before k whole, e.g. channels 3..5 of
  // [1,256,256,6]): one call of the SIMD module's row copy.
  const simd = rowLen < SHORT_ROW && heap.BYTES_PER_ELEMENT === 4 && k > 0 && begin.slice(0, k).every((v) => v === 0)
    && size.slice(0, k).every((v, a) => v === shape[a]) ? simdKernels(b) : null;
  if (simd !== null) {
    simd.copyRows(4 * oOff, 4 * base, util.sizeFromShape(size.slice(0, k)), rowLen, rowLen, strides[k - 1]!);
    return out;
  }
  // Odometer over axes 0..k-1 (those with more than one position in the slice).
  const idx = new Array<number>(k).fill(0);
  const rows = util.sizeFromShape(size.slice(0, k));
  let src = base;
  for (let r = 0, dst = oOff; r < rows; r++, dst += rowLen) {
    copyRow(heap, dst, src, rowLen);
    for (let a = k - 1; a >= 0; a--) {
      idx[a]!++;
      src += strides[a]!;
      if (idx[a]! < size[a]!) break;
      src -= idx[a]! * strides[a]!;
      idx[a] = 0;
    }
  }
  return out;
}

export const slice: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return original('Slice', args);
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  if (x.shape.length === 0) return original('Slice', args);
  const [b0, s0] = slice_util.parseSliceParams(x as never, begin, size) as [number[], number[]];
  return sliceInto(args.backend as unknown as WasmBackendLike, x, b0, s0);
};

export const splitV: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return original('SplitV', args);
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const ax = util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[ax] = s;
    const out = sliceInto(args.backend as unknown as WasmBackendLike, x, begin.slice(), size);
    begin[ax]! += s;
    return out;
  });
};

export const concat: KernelFunc = (args) => {
  const inputs = args.inputs as unknown as TensorInfo[];
  const b = args.backend as unknown as WasmBackendLike;
  if (inputs.length === 0 || inputs[0]!.dtype === 'string') return original('Concat', args);
  const axis = util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, inputs[0]!.shape)[0]!;
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  if (parts.length === 1) return share(b, { ...parts[0]!, shape: outShape });
  const out = b.makeOutput(outShape, inputs[0]!.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  const outer = util.sizeFromShape(parts[0]!.shape.slice(0, axis));
  const inner = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
  const total = inner.reduce((a, c) => a + c, 0);
  const { heap, off: oOff } = heapOf(b, out);
  const offs = parts.map((t) => heapOf(b, t).off);
  for (let i = 0; i < parts.length; i++) {
    const len = inner[i]!;
    let src = offs[i]!;
    let dst = oOff + inner.slice(0, i).reduce((a, c) => a + c, 0);
    const simd = len < SHORT_ROW && heap.BYTES_PER_ELEMENT === 4 ? simdKernels(b) : null;
    if (simd !== null) {
      simd.copyRows(4 * dst, 4 * src, outer, len, total, len);
    } else if (len < SHORT_ROW) {
      for (let o = 0; o < outer; o++, src += len, dst += total) {
        for (let j = 0; j < len; j++) heap[dst + j] = heap[src + j]!;
      }
    } else {
      for (let o = 0; o < outer; o++, src += len, dst += total) heap.copyWithin(dst, src, src + len);
    }
  }
  return out;
};

function callOriginal(name: string, b: WasmBackendLike, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>): TensorInfo {
  return original(name, { inputs, backend: b as never, attrs: attrs as never }) as TensorInfo;
}

/**
 * Sum or mean of a rank-4 float32 tensor over axes 1 and 2 (and 0): XNNPACK's average
 * pooling over the whole H x W window (about 1 ns per element; wasm's own Sum/Mean
 * transpose the input first, 4-12 ns), times H*W for a sum; a reduction over axis 0
 * as well is finished by wasm's own kernel on the small [N, C] result. null when the
 * reduction does not have that form.
 */
function reduceSpatial(b: WasmBackendLike, x: TensorInfo, axis: number | number[], keepDims: boolean, mean: boolean): TensorInfo | null {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return null;
  const axes = new Set(util.parseAxisParam(axis, x.shape));
  if (!axes.has(1) || !axes.has(2) || axes.has(3)) return null;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (h * w < 2 || n * c === 0) return null;
  let out = callOriginal('AvgPool', b, { x }, { filterSize: [h, w], strides: [h, w], pad: 'valid', dimRoundingMode: undefined }); // [n, 1, 1, c]
  if (!mean) {
    const r = b.makeOutput([], 'float32', undefined, Float32Array.of(h * w));
    const s = callOriginal('Multiply', b, { a: out, b: r }, {});
    b.disposeData(r.dataId);
    b.disposeData(out.dataId);
    out = s;
  }
  const overBatch = axes.has(0);
  if (overBatch && n > 1) {
    const t = callOriginal(mean ? 'Mean' : 'Sum', b, { x: { ...out, shape: [n, c] } }, { axis: [0], keepDims: false });
    b.disposeData(out.dataId);
    out = t;
  }
  const batch = overBatch ? 1 : n;
  out.shape = keepDims ? [batch, 1, 1, c] : overBatch ? [c] : [n, c];
  return out;
}

export const sum: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  return reduceSpatial(args.backend as unknown as WasmBackendLike, x, axis, keepDims, false) ?? original('Sum', args);
};

export const mean: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  return reduceSpatial(args.backend as unknown as WasmBackendLike, x, axis, keepDims, true) ?? original('Mean', args);
};

/** LeakyRelu in the SIMD module (wasm's own is a scalar loop, about 6 ns per element); same results. */
export const leakyRelu: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  const b = args.backend as unknown as WasmBackendLike;
  const simd = x.dtype === 'float32' ? simdKernels(b) : null;
  if (simd === null) return original('LeakyRelu', args);
  const out = b.makeOutput(x.shape, 'float32');
  const xv = b.typedArrayFromHeap(x) as Float32Array;
  const ov = b.typedArrayFromHeap(out) as Float32Array;
  const n = xv.length;
  const n4 = n - (n % 4);
  simd.leakyRelu(xv.byteOffset, ov.byteOffset, n4, alpha);
  const a = Math.fround(alpha);
  for (let i = n4; i < n; i++) {
    const v = xv[i]!;
    ov[i] = v < 0 ? v * a : v;
  }
  return out;
};

/** Maximum/Minimum(x, s) with s a one-element float32 tensor of rank <= x's: the SIMD module; else wasm's own. */
function clampScalar(name: 'Maximum' | 'Minimum'): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const be = args.backend as unknown as WasmBackendLike;
    const fits = a.dtype === 'float32' && b.dtype === 'float32' && util.sizeFromShape(b.shape) === 1 && b.shape.length <= a.shape.length;
    const simd = fits ? simdKernels(be) : null;
    if (simd === null) return original(name, args);
    const s = (be.typedArrayFromHeap(b) as Float32Array)[0]!;
    const out = be.makeOutput(a.shape, 'float32');
    const xv = be.typedArrayFromHeap(a) as Float32Array;
    const ov = be.typedArrayFromHeap(out) as Float32Array;
    const n = xv.length;
    const n4 = n - (n % 4);
    (name === 'Maximum' ? simd.maxScalar : simd.minScalar)(xv.byteOffset, ov.byteOffset, n4, s);
    for (let i = n4; i < n; i++) {
      const v = xv[i]!;
      ov[i] = name === 'Maximum' ? (v < s ? s : v) : (s < v ? s : v);
    }
    return out;
  };
}

export const maximum: KernelFunc = clampScalar('Maximum');
export const minimum: KernelFunc = clampScalar('Minimum');

export const wasmOpKernels: { kernelName: string; kernelFunc: KernelFunc }[] = [
  { kernelName: 'Identity', kernelFunc: identity },
  { kernelName: 'Cast', kernelFunc: cast },
  { kernelName: 'Slice', kernelFunc: slice },
  { kernelName: 'SplitV', kernelFunc: splitV },
  { kernelName: 'Concat', kernelFunc: concat },
  { kernelName: 'Sum', kernelFunc: sum },
  { kernelName: 'Mean', kernelFunc: mean },
  { kernelName: 'LeakyRelu', kernelFunc: leakyRelu },
  { kernelName: 'Maximum', kernelFunc: maximum },
  { kernelName: 'Minimum', kernelFunc: minimum },
];

let registered = false;
/**
 * Registers the replacements for wasm (keeping wasm's own kernels and their setup
 * functions, which the backend runs when it initialises); call before
 * tf.setBackend('wasm'). Idempotent.
 */
export function registerWasmOpKernels(): void {
  if (registered) return;
  for (const { kernelName, kernelFunc } of wasmOpKernels) {
    const own = replaceWasmKernel(kernelName, kernelFunc);
    if (own !== null) originals.set(kernelName, own);
  }
  registered = true;
}

/** wasm's own kernel for a name we replace (for comparisons), or null. */
export function originalWasmKernel(name: string): KernelFunc | null {
  return originals.get(name)?.kernelFunc ?? null;
}
