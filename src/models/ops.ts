/** Building blocks shared by the pix2pix networks (NHWC tensors throughout). */
import * as tf from '@tensorflow/tfjs-core';

export const IN_EPS = 1e-5;

/**
 * nn.InstanceNorm2d defaults: affine=False, track_running_stats=False, eps=1e-5.
 * Per-sample, per-channel statistics over H and W (biased variance), in training
 * and eval alike; no parameters.
 */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, IN_EPS))) as tf.Tensor4D;
  });
}

/** Conv k4 s2 p1 (PyTorch padding=1 on an even size == TF 'same'). */
export function convDown(x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
  const y = tf.conv2d(x, w, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  return bias ? tf.add(y, bias) : y;
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
  const y = tf.conv2d(x, w, 1, [[0, 0], [2, 1], [2, 1], [0, 0]]);
  return bias ? tf.add(y, bias) : y;
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
