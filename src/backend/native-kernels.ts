/**
 * Kernels that only the native backend ('tensorflow', libtensorflow through
 * tfjs-node's binding) has: one TensorFlow op where tfjs-core's formulation runs
 * several passes over the tensor.
 *
 *   GanonLeakyReluGrad  {dy, x}, {alpha}  -> LeakyReluGrad: dy where x > 0, else dy * alpha
 *   GanonReluGrad       {dy, x}           -> ReluGrad: dy * (x > 0)
 *   GanonInstanceNorm   {x}, {epsilon}    -> FusedBatchNormV3 (training) on [1, H, W, C]:
 *                                            [y, saved1, saved2, saved3]
 *   GanonInstanceNormGrad {dy, x, saved1, saved2, saved3}, {epsilon} -> FusedBatchNormGradV3: dx
 *
 * tfjs-node's own Step kernel (what tfjs-core's ReLU/LeakyReLU gradients use) is
 * seven ops on the native backend (IsNan, Greater, Fill, Select, ...), and the
 * moments formulation of instance norm with its gradient a dozen or more: at
 * [1, 128, 128, 64] that is 50 ms against 8 ms for the two fused ops
 * (docs/performance.md). Values: LeakyReluGrad and ReluGrad compute exactly what
 * the tfjs formulation does (dy * 1, dy * alpha, dy * 0); batch norm in training
 * mode on a batch of one normalizes each channel over H x W with the biased
 * variance, which is nn.InstanceNorm2d (equal to rounding; tested).
 *
 * Other backends do not have these kernels: callers check `hasKernel` and fall
 * back to the tfjs-core formulation (src/models/ops.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

export const LEAKY_RELU_GRAD = 'GanonLeakyReluGrad';
export const RELU_GRAD = 'GanonReluGrad';
export const INSTANCE_NORM = 'GanonInstanceNorm';
export const INSTANCE_NORM_GRAD = 'GanonInstanceNormGrad';

/** What ganon uses of tfjs-node's binding (its TF_* constants and op runner). */
export interface TfBinding {
  TF_ATTR_INT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_SHAPE: number;
  TF_FLOAT: number;
}
export interface OpAttr { name: string; type: number; value: unknown }
/** tfjs-node's NodeJSKernelBackend, as far as ganon calls it. */
export interface NodeBackendLike {
  binding: TfBinding;
  executeSingleOutput(op: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(op: string, attrs: OpAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

/** Whether the active backend has kernel `name` (e.g. one of the above). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

const floatT = (b: TfBinding, name = 'T'): OpAttr => ({ name, type: b.TF_ATTR_TYPE, value: b.TF_FLOAT });

function batchNormAttrs(b: TfBinding, epsilon: number, forward: boolean): OpAttr[] {
  const attrs = [
    floatT(b), floatT(b, 'U'),
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
  // the forward op has exponential_avg_factor (running statistics; unused here), the gradient has not
  return forward ? [...attrs, { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 }] : attrs;
}


const kernels: tf.KernelConfig[] = [
  {
    kernelName: LEAKY_RELU_GRAD,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const be = backend as unknown as NodeBackendLike;
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const alpha = (attrs as unknown as { alpha: number }).alpha;
      return be.executeSingleOutput('LeakyReluGrad', [floatT(be.binding), { name: 'alpha', type: be.binding.TF_ATTR_FLOAT, value: alpha }], [dy, x]);
    },
  },
  {
    kernelName: RELU_GRAD,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend }) => {
      const be = backend as unknown as NodeBackendLike;
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      return be.executeSingleOutput('ReluGrad', [floatT(be.binding)], [dy, x]);
    },
  },
  {
    kernelName: INSTANCE_NORM,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const be = backend as unknown as NodeBackendLike;
      const { x } = inputs as { x: tf.TensorInfo };
      if (x.shape.length !== 4 || x.shape[0] !== 1) throw new Error(`${INSTANCE_NORM} needs [1, H, W, C], got [${x.shape.join(', ')}]`);
      // scale 1, offset 0 (no affine part); no running statistics in
      const [scale, offset, empty] = [tf.ones([x.shape[3]!]), tf.zeros([x.shape[3]!]), tf.tensor1d([])];
      try {
        const eps = (attrs as unknown as { epsilon: number }).epsilon;
        const [y, mean, variance, s1, s2, s3] = be.executeMultipleOutputs('FusedBatchNormV3', batchNormAttrs(be.binding, eps, true), [x, scale, offset, empty, empty], 6);
        tf.dispose([mean!, variance!]);
        return [y!, s1!, s2!, s3!];
      } finally {
        tf.dispose([scale, offset, empty]);
      }
    },
  },
  {
    kernelName: INSTANCE_NORM_GRAD,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const be = backend as unknown as NodeBackendLike;
      const { dy, x, saved1, saved2, saved3 } = inputs as Record<'dy' | 'x' | 'saved1' | 'saved2' | 'saved3', tf.TensorInfo>;
      const scale = tf.ones([x.shape[3]!]);
      try {
        const eps = (attrs as unknown as { epsilon: number }).epsilon;
        const [dx, dScale, dOffset, r4, r5] = be.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(be.binding, eps, false), [dy, x, scale, saved1, saved2, saved3], 5);
        tf.dispose([dScale!, dOffset!, r4!, r5!]);
        return dx!;
      } finally {
        scale.dispose();
      }
    },
  },
];

/** Registers the kernels above for 'tensorflow' (idempotent). */
export function registerNativeKernels(): void {
  for (const k of kernels) if (tf.getKernel(k.kernelName, k.backendName) === undefined) tf.registerKernel(k);
}
