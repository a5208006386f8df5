/**
 * Depthwise-convolution kernels for tfjs-backend-wasm 4.22: both gradients, and a
 * forward pass for the filters wasm's own kernel is slow on.
 *
 * Why: wasm ships neither `DepthwiseConv2dNativeBackpropInput` nor
 * `DepthwiseConv2dNativeBackpropFilter`, so training anything with a depthwise
 * conv (ConvNeXt's 7x7 blocks) fails with "kernel not registered". Both are
 * re-expressed here as wasm `DepthwiseConv2dNative` (XNNPACK) calls, always with
 * multiplier 1 and a 3x3 (9-tap) filter: XNNPACK 4.22 has single-pass depthwise
 * micro-kernels only for a few tap counts (3, 4, 9, 25); any other filter (7x7:
 * 49 taps, or a multiplier > 1) takes a grouped-GEMM path that was measured
 * 3-12x slower per multiply-add.
 *
 * - dX: a stride-1 depthwise conv of dy (zero-inserted when the forward stride
 *   is > 1) with the spatially flipped filter and complementary padding, over
 *   dy's C*M channels (multiplier 1), then a sum over the multiplier. A kh x kw
 *   filter is split into ceil(kh/3) * ceil(kw/3) pieces of 3x3 taps {p, p+P,
 *   p+2P} along each axis (dilation P*d): each piece is a fast 9-tap conv whose
 *   padding is the original minus p*d, and the pieces are added with AddN.
 *   (2-4x faster than one 7x7 conv, e.g. wasm's own forward, at ConvNeXt shapes.)
 * - forward (DepthwiseConv2dNative): the same pieces for multiplier-1 filters
 *   without a fast micro-kernel (7x7 and the like), any stride; everything else
 *   goes to wasm's own kernel, kept when this one is registered.
 * - dW: dy is cut into 3x3 spatial blocks; every (image, block, channel) becomes
 *   one channel of a depthwise conv whose input is the block's window of x
 *   (halo included, gathered in JS) and whose 3x3 "filter" is the dy block, with
 *   stride = forward dilation and dilation = forward stride; its kh x kw output
 *   is that block's contribution to dW. Channels go in chunks of about 4096 per
 *   call; contributions are summed by XNNPACK's AvgPool within a chunk and in JS
 *   across chunks. Measured against the alternatives: one conv with all of dy as
 *   an Ho x Wo filter (batch folded into channels) takes the slow path and is
 *   1.5-6x slower; a plain JS loop is up to 4x slower.
 *
 * Autograd stays correct because tfjs-core defines the gradients per op; only
 * the kernels computing them change. Tests compare both kernels against
 * tfjs-backend-cpu (test/backend/wasm-depthwise.test.ts).
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type DepthwiseConv2dNativeAttrs,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { callWasm, replaceWasmKernel, type WasmBackendLike } from './wasm-call.js';

const call = callWasm;

function free(backend: WasmBackendLike, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/** The whole wasm heap as floats, and where t starts in it. Re-take after every allocation. */
function heapOf(b: WasmBackendLike, t: TensorInfo): { heap: Float32Array; off: number } {
  const v = b.typedArrayFromHeap(t);
  return { heap: new Float32Array(v.buffer), off: v.byteOffset >>> 2 };
}

/**
 * wasm's own `DepthwiseConv2dNative` (XNNPACK), kept when ours replaces it
 * (registerWasmDepthwiseGradientKernels); null until then.
 */
let originalForward: KernelConfig | null = null;

/** wasm's own (XNNPACK) depthwise conv, whatever is registered under the name now. */
function xnnDepthwise(b: WasmBackendLike, inputs: { x: TensorInfo; filter: TensorInfo }, attrs: NamedAttrMap): TensorInfo {
  if (originalForward !== null) return originalForward.kernelFunc({ inputs: inputs as never, backend: b as never, attrs }) as TensorInfo;
  return call('DepthwiseConv2dNative', b, inputs, attrs);
}

/** wasm's (XNNPACK) depthwise conv, multiplier 1, explicit non-negative padding. */
function depthwise(b: WasmBackendLike, x: TensorInfo, filter: TensorInfo, strides: [number, number],
  pad: [number, number, number, number], dilations: [number, number]): TensorInfo {
  const [t, bo, l, r] = pad;
  return xnnDepthwise(b, { x, filter }, {
    strides, pad: [[0, 0], [t, bo], [l, r], [0, 0]], dilations, dimRoundingMode: undefined, dataFormat: 'NHWC',
  } as unknown as NamedAttrMap);
}

/**
 * One piece along one axis: taps first, first + step, ..., first + (n-1)*step of the
 * filter, computed as a conv of t >= n taps (the rest zero) with dilation step*d.
 */
interface AxisPiece { first: number; step: number; n: number; t: number }

/**
 * A filter axis of k > 3 taps is cut into P = ceil(k/3) pieces of taps {p, p+P, p+2P}
 * (dilation P*d, padding shifted by p*d), so every shift p < P stays within 'same'
 * padding and no piece needs its input cropped. (Runs of 3 consecutive taps were
 * measured 1.5-2x slower at ConvNeXt shapes: the pieces beyond the padding need a
 * cropped copy of the input.)
 */
function axisPieces(k: number, T = 3): AxisPiece[] {
  if (k <= T) return [{ first: 0, step: 1, n: k, t: k }];
  const P = Math.ceil(k / T);
  const out: AxisPiece[] = [];
  for (let p = 0; p < P; p++) out.push({ first: p, step: P, n: Math.ceil((k - p) / P), t: T });
  return out;
}

/** Tap counts with a single-pass XNNPACK depthwise micro-kernel (1 measured as fast as 3). */
const FAST_TAPS = new Set([1, 3, 4, 9, 25]);

/**
 * out[n,y,x,c] = sum_{i<kh, j<kw} inp[n, y*sh + i*dh - top, x*sw + j*dw - left, c] * tap(i, j)[c]
 * (zero outside inp), for y < outH, x < outW: a depthwise correlation with multiplier 1
 * and arbitrary (even negative) padding, as a sum of XNNPACK convs of at most 3x3 taps
 * (pieces with a fast micro-kernel: 3x3, 3x1, 1x3, 2x2, 1x1; a 2 becomes 3 with a zero tap).
 * `taps` holds Ch floats per tap; tapOffset(i, j) says where tap (i, j) starts.
 */
export function depthwiseSplit(b: WasmBackendLike, inp: TensorInfo, taps: Float32Array, tapOffset: (i: number, j: number) => number,
  kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, top: number, left: number, outH: number, outW: number): TensorInfo {
  const [n, lh, lw, ch] = inp.shape as [number, number, number, number];
  // Pieces are added as they come, three at a time into a running sum, so that
  // at most five [n, outH, outW, ch] buffers are alive (not one per piece).
  let parts: TensorInfo[] = [];
  const fold = (): void => {
    const s = call('AddN', b, parts, {});
    free(b, ...parts);
    parts = [s];
  };
  for (const ay0 of axisPieces(kh)) {
    for (const ax0 of axisPieces(kw)) {
      let ay = ay0;
      let ax = ax0;
      if (!FAST_TAPS.has(ay.t * ax.t)) {
        // 2x3, 3x2 (or 2x1, 1x2): no fast micro-kernel; a zero tap makes the 2 a 3.
        if (ay.t === 2) ay = { ...ay, t: 3 };
        if (ax.t === 2) ax = { ...ax, t: 3 };
      }
      const Dy = ay.step * dh;
      const Dx = ax.step * dw;
      // The least padding after that gives outH (outW) outputs at this stride.
      let padT = top - ay.first * dh;
      let padB = (outH - 1) * sh + 1 + (ay.t - 1) * Dy - lh - padT;
      let padL = left - ax.first * dw;
      let padR = (outW - 1) * sw + 1 + (ax.t - 1) * Dx - lw - padL;
      // Negative padding means rows/columns this piece never reads: crop them.
      const r0 = Math.max(0, -padT);
      const r1 = lh - Math.max(0, -padB);
      const c0 = Math.max(0, -padL);
      const c1 = lw - Math.max(0, -padR);
      if (r1 <= r0 || c1 <= c0) continue; // the piece sees only padding
      padT = Math.max(0, padT); padB = Math.max(0, padB);
      padL = Math.max(0, padL); padR = Math.max(0, padR);
      const g = new Float32Array(ay.t * ax.t * ch);
      for (let u = 0; u < ay.n; u++) {
        const i = ay.first + u * ay.step;
        for (let v = 0; v < ax.n; v++) {
          const j = ax.first + v * ax.step;
          const o = tapOffset(i, j);
          g.set(taps.subarray(o, o + ch), (u * ax.t + v) * ch);
        }
      }
      const crop = r0 > 0 || c0 > 0 || r1 < lh || c1 < lw;
      const src = crop
        ? call('Slice', b, { x: inp }, { begin: [0, r0, c0, 0], size: [n, r1 - r0, c1 - c0, ch] } as unknown as NamedAttrMap)
        : inp;
      const f = b.makeOutput([ay.t, ax.t, ch, 1], 'float32', undefined, g);
      const out = depthwise(b, src, f, [sh, sw], [padT, padB, padL, padR], [Dy, Dx]);
      free(b, f);
      if (crop) free(b, src);
      if (out.shape[1] !== outH || out.shape[2] !== outW) {
        free(b, out, ...parts);
        throw new Error(`wasm depthwise: piece shape ${out.shape} != [${n},${outH},${outW},${ch}]`);
      }
      parts.push(out);
      if (parts.length === 4) fold();
    }
  }
  if (parts.length === 0) {
    const z = b.makeOutput([n, outH, outW, ch], 'float32');
    b.typedArrayFromHeap(z).fill(0);
    return z;
  }
  if (parts.length > 1) fold();
  return parts[0]!;
}

function convInfo(xShape: number[], filterShape: number[], a: { strides: number | [number, number]; pad: unknown; dilations: number | [number, number]; dimRoundingMode?: unknown }) {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad as 'same', a.dimRoundingMode as 'floor' | undefined, true);
}

/**
 * dX[n,y,x,c] = sum_{i,j,m} dy[n, ho, wo, c*M+m] * W[i,j,c,m] over y = ho*sh + i*dh - top
 * (same for x): a stride-1 correlation of dy (zero-inserted by the stride) with the
 * flipped filter and padding (k-1)*d - top, then a sum over the multiplier m.
 */
export const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const info = convInfo(a.inputShape, filter.shape, a);
  if (info.dataFormat !== 'channelsLast') throw new Error('wasm depthwise gradient: only NHWC is supported');
  const [n, h, w, c] = a.inputShape as [number, number, number, number];
  const [kh, kw, , m] = filter.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const cm = c * m;
  const wv = b.typedArrayFromHeap(filter).slice(); // [kh, kw, c*m]; copied: the heap may grow

  let z = dy;
  if (sh > 1 || sw > 1) {
    // Zero-insert dy: z[n, ho*sh, wo*sw, :] = dy[n, ho, wo, :].
    const zh = (ho - 1) * sh + 1;
    const zw = (wo - 1) * sw + 1;
    z = b.makeOutput([n, zh, zw, cm], 'float32');
    const zt = heapOf(b, z);
    const dt = heapOf(b, dy);
    const heap = zt.heap;
    heap.fill(0, zt.off, zt.off + n * zh * zw * cm);
    for (let nn = 0; nn < n; nn++) {
      for (let y = 0; y < ho; y++) {
        for (let x = 0; x < wo; x++) {
          const s = dt.off + ((nn * ho + y) * wo + x) * cm;
          heap.copyWithin(zt.off + ((nn * zh + y * sh) * zw + x * sw) * cm, s, s + cm);
        }
      }
    }
  }
  const top = (kh - 1) * dh - info.padInfo.top;
  const left = (kw - 1) * dw - info.padInfo.left;
  const flipped = (i: number, j: number) => ((kh - 1 - i) * kw + (kw - 1 - j)) * cm;
  const out = depthwiseSplit(b, z, wv, flipped, kh, kw, 1, 1, dh, dw, top, left, h, w);
  if (z !== dy) free(b, z);
  if (m === 1) return out;
  const summed = call('Sum', b, { x: { ...out, shape: [n, h, w, c, m] } }, { axis: [4], keepDims: false } as unknown as NamedAttrMap);
  free(b, out);
  return summed;
};

/** dy blocks are BLOCK x BLOCK (a 9-tap XNNPACK filter). */
const BLOCK = 3;
/** Channels per XNNPACK call in dW (the rest of a chunk stays in L2). */
export const DW_CHUNK_CHANNELS = 4096;

/**
 * dW[i,j,c,m] = sum_{n,ho,wo} x[n, ho*sh + i*dh - top, wo*sw + j*dw - left, c] * dy[n,ho,wo,c*M+m].
 * For a dy block starting at (bh*B, bw*B), the block's part of the sum is a depthwise conv
 * (stride dh, dilation sh, no padding) of the x window starting at (bh*B*sh - top, ...)
 * with the dy block as its B x B filter: its output has exactly kh x kw positions.
 * Each (image, block, channel c*M+m) is one channel of that conv.
 */
export const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = convInfo(x.shape, a.filterShape, a);
  if (info.dataFormat !== 'channelsLast') throw new Error('wasm depthwise gradient: only NHWC is supported');
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [kh, kw, , m] = a.filterShape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const cm = c * m;
  const bh = Math.min(BLOCK, ho);
  const bw = Math.min(BLOCK, wo);
  const rh = (bh - 1) * sh + (kh - 1) * dh + 1; // x window of one block
  const rw = (bw - 1) * sw + (kw - 1) * dw + 1;
  const nbh = Math.ceil(ho / bh);
  const nbw = Math.ceil(wo / bw);
  const nb = nbh * nbw;
  const total = n * nb; // (image, block) pairs, image-major
  const perChunk = Math.max(1, Math.floor(DW_CHUNK_CHANNELS / cm));
  const acc = new Float64Array(kh * kw * cm);
  const taps = kh * kw;

  for (let q0 = 0; q0 < total; q0 += perChunk) {
    const cnt = Math.min(perChunk, total - q0);
    const ch = cnt * cm;
    const xw = b.makeOutput([1, rh, rw, ch], 'float32');
    const fb = b.makeOutput([bh, bw, ch, 1], 'float32');
    const { heap, off: xwOff } = heapOf(b, xw); // views taken after the last allocation
    const fbOff = heapOf(b, fb).off;
    const xOff = heapOf(b, x).off;
    const dyOff = heapOf(b, dy).off;
    for (let k = 0; k < cnt; k++) {
      const q = q0 + k;
      const nn = Math.floor(q / nb);
      const blk = q - nn * nb;
      const by = Math.floor(blk / nbw) * bh;
      const bx = (blk % nbw) * bw;
      const y0 = by * sh - top;
      const x0 = bx * sw - left;
      // x window (halo included), repeated m times per channel when m > 1.
      for (let r = 0; r < rh; r++) {
        const y = y0 + r;
        for (let s = 0; s < rw; s++) {
          const xx = x0 + s;
          const dst = xwOff + (r * rw + s) * ch + k * cm;
          if (y < 0 || y >= h || xx < 0 || xx >= w) {
            heap.fill(0, dst, dst + cm);
            continue;
          }
          const src = xOff + ((nn * h + y) * w + xx) * c;
          if (m === 1) {
            heap.copyWithin(dst, src, src + c);
          } else {
            for (let cc = 0; cc < c; cc++) {
              const v = heap[src + cc]!;
              for (let mm = 0; mm < m; mm++) heap[dst + cc * m + mm] = v;
            }
          }
        }
      }
      // the dy block as the filter (zero beyond dy's edge)
      for (let u = 0; u < bh; u++) {
        for (let v = 0; v < bw; v++) {
          const dst = fbOff + (u * bw + v) * ch + k * cm;
          const yy = by + u;
          const xx = bx + v;
          if (yy >= ho || xx >= wo) {
            heap.fill(0, dst, dst + cm);
            continue;
          }
          const src = dyOff + ((nn * ho + yy) * wo + xx) * cm;
          heap.copyWithin(dst, src, src + cm);
        }
      }
    }
    const out = depthwise(b, xw, fb, [dh, dw], [0, 0, 0, 0], [sh, sw]); // [1, kh, kw, ch]
    free(b, xw, fb);
    if (out.shape[1] !== kh || out.shape[2] !== kw) {
      free(b, out);
      throw new Error(`wasm depthwise filter gradient: block output ${out.shape} is not ${kh}x${kw}`);
    }
    // Sum over the chunk's (image, block) pairs: [1, taps, cnt, cm] averaged over
    // cnt by XNNPACK's average pooling (a JS loop over every output is 3x slower).
    const mean = cnt === 1 ? out : call('AvgPool', b, { x: { ...out, shape: [1, taps, cnt, cm] } },
      { filterSize: [1, cnt], strides: [1, cnt], pad: 'valid', dimRoundingMode: undefined } as unknown as NamedAttrMap);
    if (mean !== out) free(b, out);
    const mv = b.typedArrayFromHeap(mean); // [taps, cm]
    for (let j = 0; j < taps * cm; j++) acc[j]! += cnt * mv[j]!;
    free(b, mean);
  }
  return b.makeOutput([kh, kw, c, m], 'float32', undefined, Float32Array.from(acc));
};

/**
 * Filters for which the forward pass is computed as 3x3 pieces: multiplier 1 and a
 * tap count without a fast XNNPACK micro-kernel (anything but 1x1..3x3, 2x2 and 5x5
 * shapes: 7x7 in ConvNeXt). Everything else goes to wasm's own kernel.
 */
export function forwardUsesPieces(kh: number, kw: number, m: number): boolean {
  if (m !== 1) return false;
  if (kh <= 3 && kw <= 3) return false;
  if (kh * kw === 25 || kh * kw === 4) return false;
  return true;
}

/**
 * DepthwiseConv2dNative for wasm: filters with a slow XNNPACK path (see
 * forwardUsesPieces) as a sum of dilated 3x3 pieces (depthwiseSplit), the rest by
 * wasm's own kernel.
 */
export const depthwiseConv2dNative: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseConv2dNativeAttrs;
  const [kh, kw, , m] = filter.shape as [number, number, number, number];
  if (!forwardUsesPieces(kh, kw, m) || (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')) {
    return xnnDepthwise(b, { x, filter }, attrs as NamedAttrMap);
  }
  const info = convInfo(x.shape, filter.shape, a);
  const c = x.shape[3]!;
  const wv = b.typedArrayFromHeap(filter).slice(); // [kh, kw, c, 1]; copied: the heap may grow
  return depthwiseSplit(b, x, wv, (i, j) => (i * kw + j) * c, kh, kw, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth);
};

export const wasmDepthwiseGradientKernels: KernelConfig[] = [
  { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName: 'wasm', kernelFunc: depthwiseConv2dNativeBackpropInput },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter', backendName: 'wasm', kernelFunc: depthwiseConv2dNativeBackpropFilter },
];

let registered = false;
/**
 * Registers the depthwise gradient kernels and the forward replacement for wasm;
 * call before tf.setBackend('wasm'). Idempotent. wasm's own forward kernel is kept
 * (with its setup function, which the backend runs at initialisation) for the
 * filters it is fast on and for the 3x3 pieces.
 */
export function registerWasmDepthwiseGradientKernels(): void {
  if (registered) return;
  for (const k of wasmDepthwiseGradientKernels) {
    if (getKernel(k.kernelName, k.backendName) !== undefined) unregisterKernel(k.kernelName, k.backendName);
    registerKernel(k);
  }
  originalForward = replaceWasmKernel('DepthwiseConv2dNative', depthwiseConv2dNative) ?? originalForward;
  registered = true;
}

/** wasm's own DepthwiseConv2dNative (for comparisons), or null before registration. */
export function originalWasmDepthwiseForward(): KernelFunc | null {
  return originalForward?.kernelFunc ?? null;
}
