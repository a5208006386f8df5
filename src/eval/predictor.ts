/**
 * What the emotion and attribute harnesses need of a classifier: class names and
 * a probability vector per image. Implemented by the proxy emotion model
 * (src/eval/emotion-proxy.ts) and by trained ConvNeXt runs (src/eval/classifier-model.ts).
 */
import type { RgbImage } from '../io/images.js';

export interface ImagePredictor {
  /** Shown in tables and run.json, e.g. 'proxy-emotion-fer2013' or 'convnext_base (RUN)'. */
  name: string;
  /** True for embedded stand-ins of the paper's models. */
  proxy: boolean;
  /** 'multiclass': softmax probabilities summing to 1; 'multilabel': independent sigmoids. */
  kind: 'multiclass' | 'multilabel';
  classes: readonly string[];
  /** sha256 of the weights file, where there is one. */
  weightsSha256?: string;
  /** One probability vector (length classes.length) per image. */
  predict(images: RgbImage[]): Promise<Float32Array[]>;
  dispose(): void;
}
