/** Building blocks shared by the pix2pix networks (NHWC tensors throughout). */
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, INSTANCE_NORM, INSTANCE_NORM_GRAD, LEAKY_RELU_GRAD, RELU_GRAD } from '../backend/native-kernels.js';

export const IN_EPS = 1e-5;

/**
 * nn.InstanceNorm2d defaults: affine=False, track_running_stats=False, eps=1e-5.
 * Per-sample, per-channel statistics over H and W (biased variance), in training
 * and eval alike; no parameters. On the native backend one fused op each way
 * (src/backend/native-kernels.ts), elsewhere tf.moments.
 */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  if (hasKernel(INSTANCE_NORM)) return instanceNormFused(x);
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, IN_EPS))) as tf.Tensor4D;
  });
}

/** Batch norm in training mode over a batch of one, with its fused gradient. */
const batchNormOfOne = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const [y, s1, s2, s3] = tf.engine().runKernel(INSTANCE_NORM, { x }, { epsilon: IN_EPS }) as tf.Tensor[];
  save([x, s1!, s2!, s3!]);
  return {
    value: y!,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, saved1, saved2, saved3] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, x: xs, saved1, saved2, saved3 }, { epsilon: IN_EPS }) as tf.Tensor;
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * Instance norm as batch norm of one image whose channels are (sample, channel)
 * pairs: [B, H, W, C] -> [1, H, W, B*C] (a transpose only when B > 1) and back.
 */
function instanceNormFused(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (b === 1) return batchNormOfOne(x);
  return tf.tidy(() => {
    const one = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c]) as tf.Tensor4D;
    return tf.transpose(tf.reshape(batchNormOfOne(one), [h, w, b, c]), [2, 0, 1, 3]) as tf.Tensor4D;
  });
}

/** tf.relu with its gradient as one ReluGrad op on the native backend (same values). */
export const relu = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.relu(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => hasKernel(RELU_GRAD)
      ? tf.engine().runKernel(RELU_GRAD, { dy, x: saved[0]! }) as tf.Tensor
      : tf.mul(dy, tf.step(saved[0]!)),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;

const leakyReluFns = new Map<number, (x: tf.Tensor4D) => tf.Tensor4D>();

/**
 * tf.leakyRelu(x, alpha) (0 < alpha < 1) with its gradient computed as dy * step(x, alpha)
 * (step: 1 where x > 0, else alpha) instead of tfjs-core's where(x > 0, dy, dy * alpha):
 * the same values bit for bit (dy * 1 is dy), except where x is NaN (cpu's Step gives NaN
 * there). On wasm, Greater against a scalar and Select take slow generic loops: 17-28 ns
 * per element against 3-6 for Step and Multiply (docs/performance.md). On the native
 * backend it is one LeakyReluGrad op (tfjs-node's Step is seven), same values.
 */
export function leakyRelu(x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  let f = leakyReluFns.get(alpha);
  if (f === undefined) {
    f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([xi]);
      return {
        value: tf.leakyRelu(xi, alpha),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => hasKernel(LEAKY_RELU_GRAD)
          ? tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x: saved[0]! }, { alpha }) as tf.Tensor
          : tf.mul(dy, tf.step(saved[0]!, alpha)),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;
    leakyReluFns.set(alpha, f);
  }
  return f(x);
}

/**
 * Conv k4 s2 p1. On an even size PyTorch's padding=1 is exactly TF 'same'
 * (1 before, 1 after); 'same' keeps both backends on their fast kernels
 * (libtensorflow's explicit-padding gradients are several times slower).
 */
export function convDown(x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
  if (x.shape[1] % 2 !== 0 || x.shape[2] % 2 !== 0) throw new Error(`convDown needs even sides, got ${x.shape[1]}x${x.shape[2]}`);
  return tf.tidy(() => {
    const y = tf.conv2d(x, w, 2, 'same');
    return bias ? tf.add(y, bias) : y;
  });
}

/** ConvTranspose k4 s2 p1: doubles H and W. w is [kh, kw, out, in]. */
export function convUp(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [b, h, wd] = x.shape;
  return tf.conv2dTranspose(x, w, [b, h * 2, wd * 2, w.shape[2]], 2, 'same');
}

/**
 * ZeroPad2d((1,0,1,0)) followed by a k4 conv with padding=1: 2 before and 1 after
 * on both axes (TF 'same' would pad 1 before and 2 after). Stride 1.
 */
export function convPad21(x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.conv2d(tf.pad(x, [[0, 0], [2, 1], [2, 1], [0, 0]]), w, 1, 'valid');
    return bias ? tf.add(y, bias) : y;
  });
}

/** nn.Upsample(scale_factor=2), mode 'nearest'. */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [h * 2, w * 2], false, false);
}

/** Dropout that is active only in training; `seed` makes the mask reproducible. */
export function maybeDropout(x: tf.Tensor4D, rate: number, training: boolean, seed: number | undefined): tf.Tensor4D {
  if (!training || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, seed) as tf.Tensor4D;
}

/**
 * Axis map of the fold below: tap k (0..3) of the k4 conv, for output phase r
 * (output row 2q + r), reads low-resolution row q - 1 + FOLD[r][k].
 *   y[2q]   = (w0 + w1) x[q-1] + (w2 + w3) x[q]
 *   y[2q+1] = w0 x[q-1] + (w1 + w2) x[q] + w3 x[q+1]
 */
const FOLD = [[0, 0, 1, 1], [0, 1, 1, 2]] as const;

/** [3*3*4, 16]: row (a, b, phase), column (ky, kx); 1 where tap (ky, kx) lands on offset (a, b). */
const FOLD_MATRIX = (() => {
  const m = new Float32Array(36 * 16);
  for (let ry = 0; ry < 2; ry++) {
    for (let rx = 0; rx < 2; rx++) {
      for (let ky = 0; ky < 4; ky++) {
        for (let kx = 0; kx < 4; kx++) m[((FOLD[ry]![ky]! * 3 + FOLD[rx]![kx]!) * 4 + ry * 2 + rx) * 16 + ky * 4 + kx] = 1;
      }
    }
  }
  return m;
})();

/**
 * The generator's final layer, `Upsample(x2, nearest) -> ZeroPad2d((1,0,1,0)) ->
 * Conv2d(k4, p1)`, computed at the low resolution: the upsample and the k4
 * conv fold into one 3x3 conv with 4 x Cout channels (one set per output
 * phase, weights summed as above), then the phases are interleaved. Same
 * function, a quarter of the input, and gradients that avoid libtensorflow's
 * very slow stride-1 k4 backprop on a full-resolution, 3-channel output.
 * w is [4, 4, Cin, Cout] (TF layout of the PyTorch k4 weight).
 */
export function upsampleConvPad21(x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, wd] = x.shape;
    const [, , ci, co] = w.shape;
    const folded = tf.matMul(tf.tensor2d(FOLD_MATRIX, [36, 16]), tf.reshape(w, [16, ci * co])); // [(a, b, phase), ci*co]
    const w3 = tf.reshape(tf.transpose(tf.reshape(folded, [3, 3, 4, ci, co]), [0, 1, 3, 2, 4]), [3, 3, ci, 4 * co]);
    const y = tf.conv2d(x, w3 as tf.Tensor4D, 1, 'same'); // [b, h, w, (ry, rx, co)]
    const inter = tf.reshape(tf.transpose(tf.reshape(y, [b * h, wd, 2, 2, co]), [0, 2, 1, 3, 4]), [b, 2 * h, 2 * wd, co]);
    return (bias ? tf.add(inter, bias) : inter) as tf.Tensor4D;
  });
}

/**
 * x [n, k] @ w [k, m] with a gradient that uses explicit transposes. Same values and
 * gradients as tf.matMul's, but tfjs-backend-wasm's BatchMatMul is 10-20x slower with
 * its transposeA/transposeB flags (measured: [3136,96]^T @ [3136,384] 322 ms with the
 * flag, 21 ms as transpose + matMul), and autograd of matMul uses those flags.
 */
export const dense = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy as tf.Tensor2D)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;
