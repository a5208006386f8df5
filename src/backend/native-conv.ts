/**
 * The native backend's two conv-gradient kernels, Conv2DBackpropInput (also the
 * forward of every transposed conv) and Conv2DBackpropFilter, as tfjs-node 4.22
 * registers them, with two changes:
 *
 * 1. Explicit padding. tfjs-node rejects it in these two kernels (its forward
 *    Conv2D accepts it), so the gradient of `conv2d(x, w, 2, [[0,0],[1,1],[1,1],[0,0]])`
 *    and conv2dTranspose with explicit padding would throw; TensorFlow's ops take
 *    padding 'EXPLICIT' + explicit_paddings, which is what is passed.
 *
 * 2. A GEMM route where libtensorflow's own kernels are slow: they multiply by the
 *    transposed filter, which reads a [4, 4, 512, 1024] filter (32 MB) at well under
 *    1 GB/s when the activations are small. Measured on the pix2pix shapes
 *    (bench/native-conv.ts, docs/performance.md):
 *      dX = col2im(W @ dy^T): W [kh*kw*ci, co] read in its own layout, then the
 *           k x k taps of each low-resolution position added back into the image
 *           (kh and kw multiples of the stride: the taps fall into stride x stride
 *           phases, each a sum of (k/stride)^2 shifted blocks);
 *      dW = patches(x)^T @ dy, patches from TensorFlow's ExtractImagePatches
 *           ('same'/'valid' padding): the same sums in the same order (equal bit
 *           for bit on the shapes measured).
 *    dX's sums run in another order than TensorFlow's: equal to float32 rounding
 *    (tested against the original kernels in test/native).
 *    Each route is used where `useGemm` says, from those measurements, and never
 *    when TensorFlow runs on a GPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NodeBackendLike } from './native-kernels.js';

type Shape4 = [number, number, number, number];
interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: Shape4;
  filterShape?: Shape4;
}

/**
 * When the GEMM routes run: filter size / full-resolution activation size at least
 * this much (measured crossovers: about 2-8 for dX, 8-16 for dW; bench/native-conv.ts).
 */
export const gemmRoute = { minRatioInput: 4, minRatioFilter: 16 };

function useGemm(info: tf.backend_util.Conv2DInfo, wantsInput: boolean): boolean {
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return false;
  if (wantsInput) {
    if (info.filterHeight % info.strideHeight !== 0 || info.filterWidth % info.strideWidth !== 0) return false;
  } else if (info.padInfo.type !== 'SAME' && info.padInfo.type !== 'VALID') {
    return false;
  }
  const filter = info.filterHeight * info.filterWidth * info.inChannels * info.outChannels;
  const activations = info.batchSize * info.inHeight * info.inWidth * info.inChannels;
  return filter >= (wantsInput ? gemmRoute.minRatioInput : gemmRoute.minRatioFilter) * activations;
}

/** dX of a conv (= a transposed conv's forward): col2im(W @ dy^T). */
function inputGradByGemm(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, ho, wo, co] = dy.shape;
    const { filterHeight: kh, filterWidth: kw, inChannels: ci, strideHeight: sh, strideWidth: sw } = info;
    const qh = kh / sh;
    const qw = kw / sw;
    // rows (a, ry, b, rx, ci) with ky = a*sh + ry, kx = b*sw + rx; columns (n, i, j)
    const colsT = tf.reshape(tf.matMul(tf.reshape(filter, [kh * kw * ci, co]), tf.reshape(dy, [n * ho * wo, co]), false, true), [qh, sh, qw, sw * ci * n * ho * wo]);
    // tap block (a, b) of position (i, j) lands on low-resolution cell (i + a, j + b) of phase (ry, rx)
    let phases: tf.Tensor | null = null;
    for (let a = 0; a < qh; a++) {
      for (let b = 0; b < qw; b++) {
        const block = tf.reshape(tf.slice(colsT, [a, 0, b, 0], [1, sh, 1, sw * ci * n * ho * wo]), [sh, sw, ci, n, ho, wo]);
        const shifted = tf.pad(block, [[0, 0], [0, 0], [0, 0], [0, 0], [a, qh - 1 - a], [b, qw - 1 - b]]);
        phases = phases === null ? shifted : tf.add(phases, shifted);
      }
    }
    const hc = ho + qh - 1;
    const wc = wo + qw - 1;
    // canvas row R = sh * cell + ry is padded-input row R, input row R - top
    let canvas = tf.reshape(tf.transpose(phases!, [3, 4, 0, 5, 1, 2]), [n, hc * sh, wc * sw, ci]);
    // input rows/columns past the canvas were never read by the conv ('valid' with a remainder): zero gradient
    const [top, left] = [info.padInfo.top, info.padInfo.left];
    const [padH, padW] = [Math.max(0, top + info.inHeight - hc * sh), Math.max(0, left + info.inWidth - wc * sw)];
    if (padH > 0 || padW > 0) canvas = tf.pad(canvas, [[0, 0], [0, padH], [0, padW], [0, 0]]);
    return tf.slice(canvas, [0, top, left, 0], [n, info.inHeight, info.inWidth, ci]) as tf.Tensor4D;
  });
}

/** dW of a conv: patches(x)^T @ dy. */
function filterGradByGemm(backend: NodeBackendLike, x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const b = backend.binding;
  return tf.tidy(() => {
    const patches = backend.executeSingleOutput('ExtractImagePatches', [
      { name: 'ksizes', type: b.TF_ATTR_INT, value: [1, info.filterHeight, info.filterWidth, 1] },
      { name: 'strides', type: b.TF_ATTR_INT, value: [1, info.strideHeight, info.strideWidth, 1] },
      { name: 'rates', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
      { name: 'padding', type: b.TF_ATTR_STRING, value: info.padInfo.type },
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    ], [x]);
    const [n, ho, wo, co] = dy.shape;
    const k = info.filterHeight * info.filterWidth * info.inChannels;
    const dw = tf.matMul(tf.reshape(patches, [n * ho * wo, k]), tf.reshape(dy, [n * ho * wo, co]), true, false);
    return tf.reshape(dw, [info.filterHeight, info.filterWidth, info.inChannels, co]) as tf.Tensor4D;
  });
}

/** Replaces tfjs-node's two conv-gradient kernels by the wrappers described above (idempotent). */
export function patchConvGradients(): void {
  const ops = [
    { name: tf.Conv2DBackpropInput, sizes: 'inShape' as const },
    { name: tf.Conv2DBackpropFilter, sizes: 'filterShape' as const },
  ];
  for (const op of ops) {
    const orig = tf.getKernel(op.name, 'tensorflow');
    if (!orig || (orig as { ganonConvGrad?: boolean }).ganonConvGrad) continue;
    const kernelFunc: tf.KernelFunc = (args) => {
      const a = args.attrs as unknown as ConvGradAttrs;
      const inp = args.inputs as unknown as { dy: tf.Tensor4D; filter?: tf.Tensor4D; x?: tf.Tensor4D };
      const isInput = op.sizes === 'inShape';
      const fmt = tf.backend_util.convertConv2DDataFormat(a.dataFormat);
      const info = isInput
        ? tf.backend_util.computeConv2DInfo(a.inputShape!, inp.filter!.shape, a.strides, 1, a.pad, a.dimRoundingMode, false, fmt)
        : tf.backend_util.computeConv2DInfo(inp.x!.shape, a.filterShape!, a.strides, 1, a.pad, a.dimRoundingMode, false, fmt);
      const backend = args.backend as unknown as NodeBackendLike & { isUsingGpuDevice?: boolean };
      // measured on CPUs: where TensorFlow runs on a GPU (tfjs-node-gpu with a device), its own kernels
      if (backend.isUsingGpuDevice !== true && useGemm(info, isInput)) {
        return isInput ? inputGradByGemm(inp.dy, inp.filter!, info) : filterGradByGemm(backend, inp.x!, inp.dy, info);
      }
      if (info.padInfo.type !== 'EXPLICIT') return orig.kernelFunc(args);
      const b = backend.binding;
      const nhwc = info.dataFormat === 'channelsLast';
      const p = [info.padInfo.top, info.padInfo.bottom, info.padInfo.left, info.padInfo.right];
      const attrs = [
        { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
        { name: 'strides', type: b.TF_ATTR_INT, value: nhwc ? [1, info.strideHeight, info.strideWidth, 1] : [1, 1, info.strideHeight, info.strideWidth] },
        { name: 'padding', type: b.TF_ATTR_STRING, value: 'EXPLICIT' },
        { name: 'explicit_paddings', type: b.TF_ATTR_INT, value: nhwc ? [0, 0, ...p, 0, 0] : [0, 0, 0, 0, ...p] },
        { name: 'data_format', type: b.TF_ATTR_STRING, value: nhwc ? 'NHWC' : 'NCHW' },
        { name: 'use_cudnn_on_gpu', type: b.TF_ATTR_BOOL, value: true },
        { name: 'dilations', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
      ];
      const sizes = tf.tensor1d(info[op.sizes], 'int32');
      try {
        const ins = isInput ? [sizes, inp.filter!, inp.dy] : [inp.x!, sizes, inp.dy];
        return backend.executeSingleOutput(op.name, attrs, ins) as unknown as tf.TensorInfo;
      } finally {
        sizes.dispose();
      }
    };
    tf.unregisterKernel(op.name, 'tensorflow');
    tf.registerKernel({ ...orig, kernelFunc, ganonConvGrad: true } as tf.KernelConfig);
  }
}
