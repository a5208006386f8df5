/**
 * A trained classifier run (`ganon classifier train` output) as an
 * ImagePredictor: the best checkpoint's weights, its class names and input
 * transform; softmax probabilities (emotion) or per-label sigmoids (attributes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { convnextConfig, convnextForward, convnextInit, convnextSpecs, convnextValues } from '../models/convnext.js';
import { Params } from '../models/params.js';
import { classifierBatch } from '../pipeline/classifier-input.js';
import { readClassifierRun } from '../train/classifier.js';
import type { ImagePredictor } from './predictor.js';

const BATCH = 32;

export async function loadClassifier(runDir: string): Promise<ImagePredictor> {
  const { state, weights, file } = readClassifierRun(runDir);
  const net = convnextConfig(state.arch, state.numClasses);
  const { values, headReplaced } = convnextValues(weights, net, file, convnextInit(0));
  if (headReplaced) throw new ModelLoadError(`${file}: the head does not have ${state.numClasses} classes as state.json says`);
  let params: Params | null = new Params(convnextSpecs(net), values, 'classifier');
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  const { resize, crop } = state.config.input;
  const multilabel = state.task === 'attributes';
  return {
    name: `${state.arch} (${runDir})`,
    proxy: false,
    kind: multilabel ? 'multilabel' : 'multiclass',
    classes: state.classes,
    weightsSha256: sha,
    async predict(images: RgbImage[]): Promise<Float32Array[]> {
      if (params === null) throw new Error('classifier was disposed');
      const out: Float32Array[] = [];
      for (let i = 0; i < images.length; i += BATCH) {
        const x = classifierBatch(images.slice(i, i + BATCH), { resize, crop });
        const p = tf.tidy(() => {
          const logits = convnextForward(params!, net, x);
          return multilabel ? tf.sigmoid(logits) : tf.softmax(logits);
        });
        const data = (await p.data()) as Float32Array;
        tf.dispose([x, p]);
        const k = net.numClasses;
        for (let r = 0; r < data.length / k; r++) out.push(data.slice(r * k, (r + 1) * k));
      }
      return out;
    },
    dispose() {
      params?.dispose();
      params = null;
    },
  };
}
