/**
 * The classifier losses of the reference (`GenericClassifier`), as PyTorch computes them:
 * - multi-class: nn.CrossEntropyLoss(weight=w), whose mean is weighted:
 *   sum_i w[y_i] * nll_i / sum_i w[y_i];
 * - multi-label: (nn.BCEWithLogitsLoss(reduction='none')(x, y) * w).mean() over all
 *   samples and labels, w per label;
 * and sklearn's 'balanced' class weights n / (k * count_c).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/** Weighted-mean cross-entropy of logits [N, K] against integer targets [N]. */
export function weightedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, classWeights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(targets, 'int32'), k);
    const nll = tf.neg(tf.sum(tf.mul(logp, onehot), 1));
    const w = tf.sum(tf.mul(onehot, classWeights), 1);
    return tf.div(tf.sum(tf.mul(nll, w)), tf.sum(w)) as tf.Scalar;
  });
}

/** mean(BCEWithLogits(x, y) * w) with w per label, numerically stable form. */
export function weightedBceWithLogits(logits: tf.Tensor2D, targets: tf.Tensor2D, labelWeights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    // max(x, 0) - x y + log(1 + exp(-|x|))
    const l = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(tf.mul(l, labelWeights)) as tf.Scalar;
  });
}

/**
 * sklearn's compute_class_weight('balanced'): n / (k * count_c). A class with no
 * samples gets weight 0 here (sklearn refuses; such a class cannot be learned
 * and must not divide by zero).
 */
export function balancedWeights(labels: ArrayLike<number>, numClasses: number): Float64Array {
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new ConfigError(`label ${c} is outside 0..${numClasses - 1}`);
    counts[c]! += 1;
  }
  const n = labels.length;
  return counts.map((c) => (c > 0 ? n / (numClasses * c) : 0));
}

/**
 * The reference's per-label weight for multi-label targets [N][L] (0/1): the mean of
 * the label's two balanced weights, (n / (2 n0) + n / (2 n1)) / 2. A label that is
 * constant in the training split gets the weight of its only class divided by 2
 * (the absent class contributes 0).
 */
export function multilabelWeights(targets: readonly ArrayLike<number>[], numLabels: number): Float64Array {
  const out = new Float64Array(numLabels);
  for (let j = 0; j < numLabels; j++) {
    const col = targets.map((t) => t[j]!);
    const w = balancedWeights(col, 2);
    out[j] = (w[0]! + w[1]!) / 2;
  }
  return out;
}
