/**
 * Replacement convolution-gradient kernels for tfjs-backend-wasm 4.22.
 *
 * Why: wasm ships no `Conv2DBackpropFilter` at all (training fails with "kernel
 * not registered"), and its `Conv2DBackpropInput` (the gradient w.r.t. a conv's
 * input, and the forward pass of every transposed conv) is a naive loop about
 * 12x slower than XNNPACK's Conv2D. Both gradients are re-expressed here as
 * XNNPACK GEMMs and convolutions (see ../shared/docs/ENVIRONMENT.md):
 *
 * - dW: one GEMM, im2col(x)^T [kh*kw*Cin, P] @ dy [P, Cout] (conv2DBackpropFilter).
 * - dX: a GEMM with the filter in its own layout and a col2im for small activations;
 *   otherwise a stride-s transposed conv splits into s*s "sub-pixel" phases; each
 *   output phase (t mod s) is a stride-1 conv of dy with a flipped sub-filter
 *   made of the taps k = r, r+s, r+2s, ... The phases are then interleaved.
 * - Conv2D (forward) for filters large against the output: W^T @ im2col(x) in
 *   XNNPACK's GEMM (conv2D), since XNNPACK re-packs every new filter at ~20 ns
 *   per element; wasm's own Conv2D otherwise.
 *
 * registerWasmGradientKernels also registers ./wasm-ops.ts (Identity, Slice,
 * Concat, reductions, LeakyRelu) and ./wasm-adam.ts (the Adam step).
 *
 * Autograd stays correct because tfjs-core defines the gradients per op; only
 * the kernels computing them change. Tests compare both kernels against
 * tfjs-backend-cpu over many shapes (test/backend/wasm-kernels.test.ts).
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { registerWasmAdamKernel } from './wasm-adam.js';
import { simdKernels } from './wasm-simd.js';
import { registerWasmOpKernels } from './wasm-ops.js';
import { callWasm, replaceWasmKernel, type WasmBackendLike } from './wasm-call.js';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

const call = callWasm;

function conv(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, pad: Pad4, dilations: [number, number]): TensorInfo {
  return xnnConv2D(backend, { x, filter }, {
    strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined,
  } as unknown as NamedAttrMap);
}

function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return call('Transpose', backend, { x }, { perm } as unknown as NamedAttrMap);
}

/**
 * x viewed as [rows, cols] -> [cols, rows]: the SIMD transpose of ./wasm-simd.ts
 * (about 2 ns per element against 8-10 for wasm's Transpose) when both sides are
 * multiples of 4 and SIMD is available, wasm's Transpose otherwise.
 */
function transpose2d(b: WasmBackendLike, x: TensorInfo, rows: number, cols: number): TensorInfo {
  const simd = rows % 4 === 0 && cols % 4 === 0 ? simdKernels(b) : null;
  if (simd === null) return transpose(b, { ...x, shape: [rows, cols] }, [1, 0]);
  const out = b.makeOutput([cols, rows], 'float32');
  const map = (b as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }).dataIdMap;
  simd.transpose(map.get(x.dataId).memoryOffset, map.get(out.dataId).memoryOffset, rows, cols);
  return out;
}

function slice(backend: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return call('Slice', backend, { x }, { begin, size } as unknown as NamedAttrMap);
}

function free(backend: WasmBackendLike, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

function convInfoFor(xShape: number[], filterShape: number[], attrs: { strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown; dataFormat: string }) {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`wasm conv gradient: only NHWC is supported (got ${attrs.dataFormat})`);
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined, false, 'channelsLast');
}

/**
 * One tap's rows of the transposed im2col matrix: for each (channel, image, output row),
 * the contiguous run of x (as [ci, n, H, sp, wp], width phase px) it reads, zeros outside.
 * Kept small and integer-only so V8 optimises it once (inlined in the kernel, the loop
 * was deoptimised and re-run in the interpreter on every call: 5-20x slower).
 */
function gatherTapPhased(heap: Float32Array, dst0: number, xOff: number, ci: number, n: number, ho: number, wo: number, h: number,
  yOff: number, sh: number, sp: number, px: number, wp: number, woLo: number, woHi: number, q: number): void {
  const len = woHi - woLo + 1;
  let row = dst0;
  for (let c = 0; c < ci; c++) {
    for (let nn = 0; nn < n; nn++) {
      const img = (c * n + nn) * h;
      for (let oy = 0; oy < ho; oy++, row += wo) {
        const y = oy * sh + yOff;
        if (y < 0 || y >= h || len <= 0) {
          heap.fill(0, row, row + wo);
          continue;
        }
        for (let t = row; t < row + woLo; t++) heap[t] = 0;
        const src = xOff + ((img + y) * sp + px) * wp + woLo + q;
        const dst = row + woLo;
        if (len >= 16) heap.copyWithin(dst, src, src + len);
        else for (let t = 0; t < len; t++) heap[dst + t] = heap[src + t]!;
        for (let t = row + woHi + 1; t < row + wo; t++) heap[t] = 0;
      }
    }
  }
}

/** The same from x as [ci, n, H, W] with a strided gather (widths not divisible by the stride). */
function gatherTapStrided(heap: Float32Array, dst0: number, xOff: number, ci: number, n: number, ho: number, wo: number, h: number, w: number,
  yOff: number, xShift: number, sh: number, sw: number, woLo: number, woHi: number): void {
  let row = dst0;
  for (let c = 0; c < ci; c++) {
    for (let nn = 0; nn < n; nn++) {
      for (let oy = 0; oy < ho; oy++, row += wo) {
        const y = oy * sh + yOff;
        if (y < 0 || y >= h || woHi < woLo) {
          heap.fill(0, row, row + wo);
          continue;
        }
        for (let t = row; t < row + woLo; t++) heap[t] = 0;
        const base = xOff + ((c * n + nn) * h + y) * w + xShift;
        for (let ox = woLo; ox <= woHi; ox++) heap[row + ox] = heap[base + ox * sw]!;
        for (let t = row + woHi + 1; t < row + wo; t++) heap[t] = 0;
      }
    }
  }
}

/**
 * The transposed im2col matrix of x for a conv: A [(i, j, c), P] with P = n*Ho*Wo and
 * A[(i,j,c), (nn,oy,ox)] = x[nn, oy*sh + i - top, ox*sw + j - left, c] (zero outside).
 * Rows are copied from x transposed to [ci, n, H, sw, W/sw] (width phases, so each row
 * is one contiguous run, copied within the heap) instead of gathered with a stride
 * (5-10x slower in JS).
 */
function im2colT(b: WasmBackendLike, x: TensorInfo, kh: number, kw: number, sh: number, sw: number, top: number, left: number,
  ho: number, wo: number): TensorInfo {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const P = n * ho * wo;
  const phased = w % sw === 0;
  const wp = phased ? w / sw : w;
  const sp = phased ? sw : 1;
  const xT = phased
    ? transpose(b, { ...x, shape: [n, h, wp, sw, ci] }, [4, 0, 1, 3, 2])
    : transpose(b, x, [3, 0, 1, 2]); // [ci, n, H, W]
  const A = b.makeOutput([kh * kw * ci, P], 'float32');
  const xv = b.typedArrayFromHeap(xT); // views taken after the last allocation
  const av = b.typedArrayFromHeap(A);
  const heap = new Float32Array(av.buffer);
  const xOff = xv.byteOffset >>> 2;
  const aOff = av.byteOffset >>> 2;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // wo range whose column wo*sw + j - left falls inside [0, W)
      const woLo = Math.max(0, Math.ceil((left - j) / sw)) | 0;
      const woHi = Math.min(wo - 1, Math.floor((w - 1 + left - j) / sw)) | 0;
      const rowsAt = aOff + (i * kw + j) * ci * P;
      if (phased) {
        const px = (((j - left) % sw) + sw) % sw | 0;
        const q = Math.round((j - left - px) / sw) | 0; // column ox reads width phase px at ox + q
        gatherTapPhased(heap, rowsAt, xOff, ci, n, ho, wo, h, i - top, sh, sp, px, wp, woLo, woHi, q);
      } else {
        gatherTapStrided(heap, rowsAt, xOff, ci, n, ho, wo, h, w, i - top, j - left, sh, sw, woLo, woHi);
      }
    }
  }
  free(b, xT);
  return A;
}

/**
 * dW[i,j,ci,co] = sum_{n,ho,wo} x[n, ho*sh+i-top, wo*sw+j-left, ci] * dy[n,ho,wo,co],
 * as one matrix product A [kh*kw*ci, P] @ dy [P, co] with P = n*Ho*Wo (A from im2colT),
 * in XNNPACK. The reduction is over P, which keeps the GEMM efficient (a conv
 * formulation reduces over n, i.e. over 1 at batch 1).
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = convInfoFor(x.shape, a.filterShape, a);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const [n, h, w] = x.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const P = n * ho * wo;
  const { top, left } = info.padInfo;
  if (sh === 1 && sw === 1 && co * h * w < ci * ho * wo) {
    // Stride 1 with fewer output than input channels (the generator's folded last layer,
    // 128 -> 12; the discriminator's last, 512 -> 1): im2col over dy instead of x, a
    // fraction of the copying. B [(i', j', co), n*H*W] holds dy shifted by the flipped
    // taps (i = kh-1-i'), G = B @ x [n*H*W, ci], dW[i, j, c, o] = G[(kh-1-i, kw-1-j, o), c].
    const B = im2colT(b, dy, kh, kw, 1, 1, kh - 1 - top, kw - 1 - left, h, w);
    const G = call('BatchMatMul', b, { a: B, b: { ...x, shape: [n * h * w, ci] } }, { transposeA: false, transposeB: false } as unknown as NamedAttrMap);
    free(b, B);
    const out = b.makeOutput([kh, kw, ci, co], 'float32');
    const gv = b.typedArrayFromHeap(G);
    const ov = b.typedArrayFromHeap(out);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const gTap = ((kh - 1 - i) * kw + (kw - 1 - j)) * co * ci;
        const oTap = (i * kw + j) * ci * co;
        for (let o = 0; o < co; o++) {
          for (let c = 0; c < ci; c++) ov[oTap + c * co + o] = gv[gTap + o * ci + c]!;
        }
      }
    }
    free(b, G);
    return out;
  }
  const A = im2colT(b, x, kh, kw, sh, sw, top, left, ho, wo);
  const out = call('BatchMatMul', b, { a: A, b: { ...dy, shape: [P, co] } }, { transposeA: false, transposeB: false } as unknown as NamedAttrMap);
  free(b, A);
  out.shape = [kh, kw, ci, co];
  return out;
};

/** wasm's own Conv2D (XNNPACK), kept when conv2D below replaces it. */
let originalConv2D: KernelConfig | null = null;

function xnnConv2D(b: WasmBackendLike, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  if (originalConv2D !== null) return originalConv2D.kernelFunc({ inputs, backend: b as never, attrs }) as TensorInfo;
  return call('Conv2D', b, inputs, attrs);
}

/**
 * The forward conv takes the GEMM route while the output has at most this many
 * positions per output channel (P <= co / 4): the filter dominates. (At P = co/2,
 * [1,32,32,256] x [4,4,256,512], XNNPACK's own conv is as fast as the GEMM and
 * reuses its packed filter across the discriminator's three forwards in a step.)
 */
export let GEMM_CONV_MAX_RATIO = 0.25;

/** Changes GEMM_CONV_MAX_RATIO (measurements: bench/conv-route.ts). */
export function setGemmConvMaxRatio(r: number): void {
  GEMM_CONV_MAX_RATIO = r;
}

/**
 * Transposed filters of the GEMM route, by filter dataId: a filter used again
 * (the discriminator within a step, inference) skips the transpose. Entries whose
 * filter is gone from the backend are freed on the next call.
 */
const filterTCache = new Map<object, TensorInfo>();

function sweepFilterTCache(b: WasmBackendLike & { dataIdMap?: { has(id: object): boolean } }): void {
  for (const [id, t] of filterTCache) {
    if (b.dataIdMap && !b.dataIdMap.has(id)) {
      b.disposeData(t.dataId);
      filterTCache.delete(id);
    }
  }
}

/** Number of cached transposed filters (for leak tests). */
export function wasmFilterTCacheSize(): number {
  return filterTCache.size;
}

/**
 * Conv2D for wasm. XNNPACK re-arranges (HWIO -> OHWI, then packs) the whole filter
 * whenever it meets a filter tensor for the first time, about 20 ns per filter element:
 * in training, every step, and for the generator's inner layers (4x4x512x1024 filters
 * on 2x2..16x16 inputs) that dominated the product itself by up to 50x. When the
 * filter is large against the output (P = n*Ho*Wo <= co/2), the conv is computed here as
 * out^T [co, P] = W^T [co, (i,j,c)] @ A [(i,j,c), P] in XNNPACK's GEMM with W^T (one
 * plain transpose of the filter, half the cost) as the unpacked operand and the small
 * im2col matrix A (im2colT) as the packed one, then one small transpose. Everything
 * else (and dilations, other layouts) goes to wasm's own kernel.
 */
export const conv2D: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as { strides: number | [number, number]; pad: unknown; dataFormat: string; dilations: number | [number, number]; dimRoundingMode?: unknown };
  const dil = a.dilations ?? 1;
  const undilated = typeof dil === 'number' ? dil === 1 : dil[0] === 1 && dil[1] === 1;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || !undilated || x.dtype !== 'float32') return xnnConv2D(b, inputs as never, attrs as NamedAttrMap);
  const info = convInfoFor(x.shape, filter.shape, { ...a, dataFormat: 'NHWC' });
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const n = x.shape[0]!;
  const P = n * ho * wo;
  if (P > GEMM_CONV_MAX_RATIO * co || P === 0) return xnnConv2D(b, inputs as never, attrs as NamedAttrMap);
  const K = kh * kw * ci;
  sweepFilterTCache(b as never);
  let wT = filterTCache.get(filter.dataId);
  if (wT === undefined) {
    wT = transpose2d(b, filter, K, co); // [co, (i, j, c)]
    filterTCache.set(filter.dataId, wT);
  }
  const A = im2colT(b, x, kh, kw, sh, sw, info.padInfo.top, info.padInfo.left, ho, wo); // [(i, j, c), P]
  const outT = call('BatchMatMul', b, { a: wT, b: A }, { transposeA: false, transposeB: false } as unknown as NamedAttrMap); // [co, P]
  free(b, A);
  const out = transpose2d(b, outT, co, P);
  free(b, outT);
  out.shape = [n, ho, wo, co];
  return out;
};

/** Phase geometry along one axis of a stride-s transposed conv. */
interface Phase {
  r: number; // tap residue: taps k = r + m*s
  taps: number; // number of taps in this phase
  qMin: number; // first dy position feeding output t0
  count: number; // number of outputs of this phase
  t0: number; // first output index of this phase
  padBefore: number;
  padAfter: number;
  cropBegin: number;
  cropEnd: number; // inclusive
}

function phases(k: number, s: number, pad: number, outLen: number, dyLen: number): Phase[] {
  const out: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const taps = r < k ? Math.ceil((k - r) / s) : 0;
    const qMin = Math.ceil((pad - r) / s);
    const qMax = Math.floor((outLen - 1 + pad - r) / s);
    const count = qMax - qMin + 1;
    const first = qMin - (taps - 1);
    out.push({
      r, taps, qMin, count,
      t0: qMin * s + r - pad,
      padBefore: Math.max(0, -first),
      padAfter: Math.max(0, qMax - (dyLen - 1)),
      cropBegin: Math.max(0, first),
      cropEnd: Math.min(dyLen - 1, qMax),
    });
  }
  return out;
}

/**
 * Sub-filters per phase, cached by the filter's dataId: XNNPACK keys its packed
 * weights on the filter tensor, so reusing the same sub-filter tensors makes
 * repeated calls with an unchanged filter (inference, D's weights within a
 * step) skip both the re-arrangement and the re-packing. Entries whose filter
 * is gone from the backend are freed on the next call.
 */
const subFilterCache = new Map<object, { key: string; filters: Map<string, TensorInfo> }>();

function sweepCache(b: WasmBackendLike & { dataIdMap?: { has(id: object): boolean } }): void {
  for (const [id, entry] of subFilterCache) {
    if (b.dataIdMap && !b.dataIdMap.has(id)) {
      for (const t of entry.filters.values()) b.disposeData(t.dataId);
      subFilterCache.delete(id);
    }
  }
}

/** Number of filters with cached sub-filters (for leak tests). */
export function wasmKernelCacheSize(): number {
  return subFilterCache.size;
}

/** Frees every cached sub-filter and transposed filter. */
export function clearWasmKernelCache(backend: unknown): void {
  const b = backend as WasmBackendLike;
  for (const entry of subFilterCache.values()) for (const t of entry.filters.values()) b.disposeData(t.dataId);
  subFilterCache.clear();
  for (const t of filterTCache.values()) b.disposeData(t.dataId);
  filterTCache.clear();
}

/**
 * dX for small spatial sizes: Z = W [(i,j,ci), co] @ dy^T [co, P] in XNNPACK,
 * with the filter in its own layout (nothing to re-arrange or re-pack per
 * call, only the small dy^T), then a JS scatter-add (col2im) of Z into dX.
 * The sub-pixel path would re-arrange and re-pack the whole filter, which
 * dominates when the filter (kh*kw*ci*co) is much larger than the activations.
 */
function backpropInputGemm(b: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, inputShape: number[],
  kh: number, kw: number, sh: number, sw: number, top: number, left: number): TensorInfo {
  const [n, h, w, ci] = inputShape as [number, number, number, number];
  const [, ho, wo, co] = dy.shape as [number, number, number, number];
  const P = n * ho * wo;
  const dyT = transpose2d(b, dy, P, co); // [co, (n, ho, wo)]
  const z = call('BatchMatMul', b, { a: { ...filter, shape: [kh * kw * ci, co] }, b: { ...dyT, shape: [co, P] } },
    { transposeA: false, transposeB: false } as unknown as NamedAttrMap); // [(i, j, ci), P]
  free(b, dyT);
  // Z^T [P, (i, j, ci)]: each (position, tap) is then one contiguous run of ci values
  // added into dX (a strided gather from Z was 2-3x slower).
  const K = kh * kw * ci;
  const zt = transpose2d(b, z, K, P);
  free(b, z);
  const out = b.makeOutput([n, h, w, ci], 'float32');
  const ov = b.typedArrayFromHeap(out);
  ov.fill(0);
  const heap = new Float32Array(ov.buffer);
  const simd = ci % 4 === 0 ? simdKernels(b) : null;
  if (simd !== null) col2imRowsSimd(simd, ov.byteOffset, b.typedArrayFromHeap(zt).byteOffset, n, h, w, ci, ho, wo, kh, kw, sh, sw, top, left);
  else col2imRows(heap, ov.byteOffset >>> 2, b.typedArrayFromHeap(zt).byteOffset >>> 2, n, h, w, ci, ho, wo, kh, kw, sh, sw, top, left);
  free(b, zt);
  return out;
}

/** col2imRows with each run added by the SIMD module (byte addresses; ci a multiple of 4). */
function col2imRowsSimd(simd: NonNullable<ReturnType<typeof simdKernels>>, oAddr: number, zAddr: number, n: number, h: number, w: number, ci: number,
  ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void {
  const K = kh * kw * ci;
  let src = zAddr;
  for (let nn = 0; nn < n; nn++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++, src += 4 * K) {
        for (let i = 0; i < kh; i++) {
          const y = oy * sh + i - top;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < kw; j++) {
            const x = ox * sw + j - left;
            if (x < 0 || x >= w) continue;
            simd.addRow(oAddr + 4 * ((nn * h + y) * w + x) * ci, src + 4 * (i * kw + j) * ci, ci);
          }
        }
      }
    }
  }
}

/** dX[nn, y, x, :] += Zt[(nn, oy, ox), (i, j), :] over taps landing inside dX (a small, integer-only loop V8 optimises once). */
function col2imRows(heap: Float32Array, oOff: number, zOff: number, n: number, h: number, w: number, ci: number, ho: number, wo: number,
  kh: number, kw: number, sh: number, sw: number, top: number, left: number): void {
  const K = kh * kw * ci;
  let src = zOff;
  for (let nn = 0; nn < n; nn++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++, src += K) {
        for (let i = 0; i < kh; i++) {
          const y = oy * sh + i - top;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < kw; j++) {
            const x = ox * sw + j - left;
            if (x < 0 || x >= w) continue;
            const o = oOff + ((nn * h + y) * w + x) * ci;
            const z = src + (i * kw + j) * ci;
            for (let c = 0; c < ci; c++) heap[o + c]! += heap[z + c]!;
          }
        }
      }
    }
  }
}


/**
 * The GEMM path is used while dy has at most this many positions per dy
 * channel (P <= 4 * co). Measured per generator layer with a new filter each
 * call (training): 1->2 px 138 vs 10 ms, 8->16 px 321 vs 70 ms, 32->64 px
 * 126 vs 109 ms, 64->128 px 104 vs 179 ms (sub-pixel vs GEMM).
 */
export const GEMM_BACKPROP_INPUT_MAX_RATIO = 4;

/** dX = conv2dTranspose(dy, W): sub-pixel decomposition into stride-1 XNNPACK convs. */
export const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const info = convInfoFor(a.inputShape, filter.shape, a);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const [n, h, w] = a.inputShape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  sweepCache(b as never);
  const P = n * ho * wo;
  // GEMM for small activations and a filter not seen before; sub-pixel convs
  // otherwise (and whenever this filter's sub-filters are cached, i.e. inference).
  if (P <= GEMM_BACKPROP_INPUT_MAX_RATIO * co && !subFilterCache.has(filter.dataId)) {
    return backpropInputGemm(b, dy, filter, a.inputShape, kh, kw, sh, sw, info.padInfo.top, info.padInfo.left);
  }
  const py = phases(kh, sh, info.padInfo.top, h, ho);
  const px = phases(kw, sw, info.padInfo.left, w, wo);

  const cacheKey = `${kh},${kw},${sh},${sw}`;
  let entry = subFilterCache.get(filter.dataId);
  if (entry === undefined || entry.key !== cacheKey) {
    if (entry) for (const t of entry.filters.values()) b.disposeData(t.dataId);
    entry = { key: cacheKey, filters: new Map() };
    subFilterCache.set(filter.dataId, entry);
  }
  let wAll: Float32Array | null = null;
  const subFilterFor = (fy: Phase, fx: Phase): TensorInfo => {
    const k = `${fy.r},${fx.r}`;
    let g = entry!.filters.get(k);
    if (g === undefined) {
      wAll ??= b.typedArrayFromHeap(filter).slice(); // [kh, kw, ci, co]; copied: the heap may grow
      g = b.makeOutput([fy.taps, fx.taps, co, ci], 'float32', undefined, subFilter(wAll, kw, ci, co, sh, sw, fy, fx));
      entry!.filters.set(k, g);
    }
    return g;
  };
  const phaseOut = (fy: Phase, fx: Phase): TensorInfo | null => {
    if (fy.taps === 0 || fx.taps === 0 || fy.count <= 0 || fx.count <= 0) return null;
    if (fy.cropEnd < fy.cropBegin || fx.cropEnd < fx.cropBegin) return null; // phase sees only padding
    const g = subFilterFor(fy, fx);
    let src = dy;
    const needCrop = fy.cropBegin > 0 || fy.cropEnd < ho - 1 || fx.cropBegin > 0 || fx.cropEnd < wo - 1;
    if (needCrop) {
      src = slice(b, dy, [0, fy.cropBegin, fx.cropBegin, 0], [n, fy.cropEnd - fy.cropBegin + 1, fx.cropEnd - fx.cropBegin + 1, co]);
    }
    const p = conv(b, src, g, [[0, 0], [fy.padBefore, fy.padAfter], [fx.padBefore, fx.padAfter], [0, 0]], [1, 1]);
    if (needCrop) free(b, src);
    return p;
  };

  if (py.length === 1 && px.length === 1 && uniformPhases(py, h, 1) && uniformPhases(px, w, 1)) {
    return phaseOut(py[0]!, px[0]!)!; // stride 1: one phase is the whole output
  }
  const out = b.makeOutput([n, h, w, ci], 'float32');
  // Interleaving in JS: wasm's DepthToSpace is ~60 ns/element, ten times slower.
  if (!(uniformPhases(py, h, sh) && uniformPhases(px, w, sw))) b.typedArrayFromHeap(out).fill(0);
  for (const fy of py) {
    for (const fx of px) {
      const p = phaseOut(fy, fx);
      if (p === null) continue;
      scatterPhase(b.typedArrayFromHeap(p), b.typedArrayFromHeap(out), n, h, w, ci, sh, sw, fy, fx, p.shape);
      free(b, p);
    }
  }
  return out;
};

/** True when every phase has taps, covers len/s outputs, and the first outputs are 0..s-1 (so no zero fill is needed). */
function uniformPhases(ph: Phase[], len: number, s: number): boolean {
  if (len % s !== 0) return false;
  const starts = ph.map((p) => p.t0).sort((x, y) => x - y);
  return ph.every((p) => p.taps > 0 && p.count === len / s && p.cropEnd >= p.cropBegin) && starts.every((t, i) => t === i);
}

/**
 * g[jy, jx, o, i] = W[ry + (Ty-1-jy)*sh, rx + (Tx-1-jx)*sw, i, o]: flipped taps,
 * in/out swapped; the [ci, co] -> [co, ci] swap is a blocked transpose.
 */
function subFilter(wAll: Float32Array, kw: number, ci: number, co: number, sh: number, sw: number, fy: Phase, fx: Phase): Float32Array {
  const g = new Float32Array(fy.taps * fx.taps * co * ci);
  const B = 32;
  for (let jy = 0; jy < fy.taps; jy++) {
    const ky = fy.r + (fy.taps - 1 - jy) * sh;
    for (let jx = 0; jx < fx.taps; jx++) {
      const kx = fx.r + (fx.taps - 1 - jx) * sw;
      const src = (ky * kw + kx) * ci * co;
      const dst = (jy * fx.taps + jx) * co * ci;
      for (let i0 = 0; i0 < ci; i0 += B) {
        const i1 = Math.min(ci, i0 + B);
        for (let o0 = 0; o0 < co; o0 += B) {
          const o1 = Math.min(co, o0 + B);
          for (let i = i0; i < i1; i++) {
            const s = src + i * co;
            for (let o = o0; o < o1; o++) g[dst + o * ci + i] = wAll[s + o]!;
          }
        }
      }
    }
  }
  return g;
}

function scatterPhase(p: Float32Array, out: Float32Array, n: number, h: number, w: number, c: number,
  sh: number, sw: number, fy: Phase, fx: Phase, pShape: number[]): void {
  const [, ph, pw] = pShape as [number, number, number, number];
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < fy.count && i < ph; i++) {
      const t = fy.t0 + i * sh;
      const rowOut = (b * h + t) * w;
      const rowIn = (b * ph + i) * pw;
      for (let j = 0; j < fx.count && j < pw; j++) {
        const u = fx.t0 + j * sw;
        const src = (rowIn + j) * c;
        out.set(p.subarray(src, src + c), (rowOut + u) * c);
      }
    }
  }
}

export const wasmGradientKernels: KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInput },
];

let registered = false;
/** wasm's own Conv2D (for comparisons), or null before registration. */
export function originalWasmConv2D(): KernelFunc | null {
  return originalConv2D?.kernelFunc ?? null;
}

/**
 * Registers the replacement kernels (Conv2D for large filters included), those of ./wasm-ops.ts (Identity, Slice,
 * Concat, reductions, ...) and the chunked Adam update (./wasm-adam.ts); call before
 * tf.setBackend('wasm'). Idempotent.
 */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registerWasmOpKernels();
  registerWasmAdamKernel();
  for (const k of wasmGradientKernels) {
    if (getKernel(k.kernelName, k.backendName) !== undefined) unregisterKernel(k.kernelName, k.backendName);
    registerKernel(k);
  }
  originalConv2D = replaceWasmKernel('Conv2D', conv2D) ?? originalConv2D;
  registered = true;
}
