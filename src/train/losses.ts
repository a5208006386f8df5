/** The reference losses: LSGAN (MSE to 1/0 patch targets) and L1. Scalars; caller disposes. */
import * as tf from '@tensorflow/tfjs-core';

/** mean((pred - target)^2) against a constant patch target (1 = real, 0 = fake). */
export function mseToConstant(pred: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar);
}

/** mean(|a - b|). */
export function l1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar);
}
