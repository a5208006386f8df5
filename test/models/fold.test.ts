/** The folded final layer equals nearest-upsample + (2,1) pad + k4 conv, values and gradients. */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { convPad21, upsampleConvPad21, upsampleNearest2x } from '../../src/models/ops.js';
import { maxRelDiff, seededValues } from '../helpers/tensors.js';

describe('upsampleConvPad21', () => {
  for (const [b, h, w, ci, co] of [[1, 4, 4, 3, 2], [2, 8, 6, 5, 3], [1, 1, 1, 2, 1], [1, 16, 16, 16, 3]]) {
    it(`equals the three-op form on [${b},${h},${w},${ci}] -> ${co}`, async () => {
      const x = tf.tensor4d(seededValues(b! * h! * w! * ci!, 1), [b!, h!, w!, ci!]);
      const k = tf.tensor4d(seededValues(16 * ci! * co!, 2), [4, 4, ci!, co!]);
      const bias = tf.tensor1d(seededValues(co!, 3));
      const dy = tf.tensor4d(seededValues(b! * 4 * h! * w! * co!, 4), [b!, 2 * h!, 2 * w!, co!]);
      const ref = (a: tf.Tensor, c: tf.Tensor) => convPad21(upsampleNearest2x(a as tf.Tensor4D), c as tf.Tensor4D, bias);
      const fold = (a: tf.Tensor, c: tf.Tensor) => upsampleConvPad21(a as tf.Tensor4D, c as tf.Tensor4D, bias);
      expect(maxRelDiff(await fold(x, k).data(), await ref(x, k).data())).toBeLessThan(1e-5);
      const [gx1, gk1] = tf.grads(ref)([x, k], dy);
      const [gx2, gk2] = tf.grads(fold)([x, k], dy);
      expect(maxRelDiff(await gx2!.data(), await gx1!.data())).toBeLessThan(1e-5);
      expect(maxRelDiff(await gk2!.data(), await gk1!.data())).toBeLessThan(1e-5);
      tf.dispose([x, k, bias, dy, gx1!, gk1!, gx2!, gk2!]);
    });
  }
});
