/**
 * The embedded PROXY emotion classifier for the expression-preservation
 * evaluation.
 *
 * The paper scores emotion preservation with ConvNeXt classifiers trained on
 * AffectNet, CK+ and FACES; none of them ships on npm. Until the user supplies
 * theirs, the default is the 7-class FER2013 model (oarriaga's mini-Xception,
 * `models/emotion.json` + `emotion.bin`) inside the `@vladmandic/human` npm
 * package, loaded from local files only. It is a substitute: every output that
 * uses it is named 'proxy-emotion-fer2013' and says "proxy".
 *
 * Preprocessing replicated from Human 3.3.6 (src/gear/emotion.ts `predict`,
 * identical in dist/human.node-wasm.js), default config (`emotion.crop` unset):
 *  - the face image in [0, 1] (Human gives the model its face crop, already
 *    divided by 255);
 *  - `tf.image.resizeBilinear(face, [64, 64], alignCorners = false)` (the size is
 *    the model's input_1 shape, N x 64 x 64 x 1);
 *  - grayscale `0.2989 R + 0.5870 G + 0.1140 B` (Human's `constants.rgb`,
 *    MATLAB's rgb2gray), summed over the channel axis keeping it;
 *  - `(gray - 0.5) * 2`, i.e. [-1, 1];
 *  - `model.execute(input)`; the graph ends in `predictions/Softmax`, so the
 *    output already is a probability vector (Human applies no activation).
 * Classes, in the model's output order (Human's `annotations` for a
 * 1-channel model): angry, disgust, fear, happy, sad, surprise, neutral.
 * Human keeps only the classes with probability > `minConfidence` (0.1), as
 * `min(0.99, trunc(100 p) / 100)`; here the full distribution is returned.
 * What differs from Human: Human feeds the model its own face crop (BlazeFace
 * box, refined by the mesh, cut to 192 x 192); here the caller gives the
 * toolkit's aligned, letterboxed S x S crop (src/pipeline/faces.ts), so every
 * method is classified on identical geometry.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { InputError, ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { humanModelPath } from '../pipeline/human.js';
import { sha256Files } from './embed.js';
import { fileHandler } from '../io/models.js';


export interface EmotionModel {
  /** Printed in every table, JSON and run.json. */
  name: string;
  /** True for substitutes of the paper's ConvNeXt classifiers. */
  proxy: boolean;
  /** sha256 over the model's .json and .bin files. */
  weightsSha256: string;
  /** Class names in the order of the probability vectors. */
  classes: readonly string[];
  /** One probability vector (length classes.length, sum 1) per face image (any size; RGB uint8). */
  predict(images: RgbImage[]): Promise<Float32Array[]>;
  /**
   * The same on a float batch N x H x W x 3 in [0, 1] (what Human passes its
   * emotion model); returns N x classes probabilities, owned by the caller.
   */
  predictTensor(faces: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

export const PROXY_EMOTION_NAME = 'proxy-emotion-fer2013';
/** FER2013 order, as Human's emotion module labels a 1-channel model's outputs. */
export const FER2013_CLASSES: readonly string[] = Object.freeze(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
/** Human's grayscale weights (`constants.rgb`). */
export const GRAY_WEIGHTS: readonly [number, number, number] = [0.2989, 0.587, 0.114];
/** Human's default `face.emotion.minConfidence`: it reports only classes above this. */
export const HUMAN_MIN_CONFIDENCE = 0.1;
/** Faces per model call. */
const BATCH = 32;

/** `<@vladmandic/human>/models/emotion.json`. */
export function emotionModelPath(): string {
  return humanModelPath('emotion.json');
}

/**
 * Human's emotion preprocessing on N x H x W x 3 floats in [0, 1]: bilinear
 * resize to size x size (alignCorners false), weighted grayscale, (g - 0.5) * 2.
 * Returns N x size x size x 1.
 */
export function emotionInput(faces: tf.Tensor4D, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const resized = tf.image.resizeBilinear(faces, [size, size], false);
    const gray = tf.sum(tf.mul(resized, tf.tensor1d([...GRAY_WEIGHTS], 'float32')), 3, true);
    return tf.mul(tf.sub(gray, 0.5), 2) as tf.Tensor4D;
  });
}

/** Loads the proxy emotion classifier (Human's FER2013 mini-Xception). */
export async function loadProxyEmotion(path: string = emotionModelPath()): Promise<EmotionModel> {
  let model: GraphModel;
  try {
    model = await loadGraphModel(fileHandler(path));
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`cannot load the emotion model '${path}': ${(e as Error).message}`);
  }
  const shape = model.inputs[0]?.shape;
  const size = shape?.[2] ?? 64;
  const outShape = model.outputs[0]?.shape;
  if (shape?.[3] !== 1 || shape?.[1] !== size || (outShape?.[1] !== undefined && outShape[1] !== FER2013_CLASSES.length)) {
    model.dispose();
    throw new ModelLoadError(`emotion model '${path}' is not the 7-class grayscale FER2013 model (input [${shape}], output [${outShape}])`);
  }
  let disposed = false;
  const alive = () => {
    if (disposed) throw new ModelLoadError('the proxy emotion model was disposed');
  };
  const predictTensor = (faces: tf.Tensor4D): tf.Tensor2D => {
    alive();
    if (faces.rank !== 4 || faces.shape[3] !== 3) throw new InputError(`emotion: expected N x H x W x 3 faces, got [${faces.shape}]`);
    return tf.tidy(() => {
      const res = model.execute(emotionInput(faces, size));
      const probs = (Array.isArray(res) ? res[0]! : res) as tf.Tensor2D;
      if (probs.rank !== 2 || probs.shape[1] !== FER2013_CLASSES.length) throw new ModelLoadError(`emotion model '${path}' returned [${probs.shape}]`);
      return probs;
    });
  };
  return {
    name: PROXY_EMOTION_NAME,
    proxy: true,
    weightsSha256: sha256Files([path, path.replace(/\.json$/, '.bin')]),
    classes: FER2013_CLASSES,
    predictTensor,
    async predict(images: RgbImage[]): Promise<Float32Array[]> {
      alive();
      const k = FER2013_CLASSES.length;
      const out: Float32Array[] = [];
      for (let i = 0; i < images.length; i += BATCH) {
        const chunk = images.slice(i, i + BATCH);
        // Resize each face on its own (they may differ in size; bilinear
        // resize is per image anyway), so only 64 x 64 copies are kept.
        const small: tf.Tensor3D[] = [];
        let probs: tf.Tensor2D;
        try {
          for (const [j, f] of chunk.entries()) {
            if (!(f.width > 0 && f.height > 0) || f.data.length !== f.width * f.height * 3) {
              throw new InputError(`face ${i + j + 1}: ${f.data.length} bytes for a ${f.width}x${f.height} RGB image`);
            }
            small.push(tf.tidy(() => {
              const unit = tf.div(tf.tensor3d(Float32Array.from(f.data), [f.height, f.width, 3], 'float32'), 255); // Human: crop / 255
              return tf.image.resizeBilinear(unit as tf.Tensor3D, [size, size], false);
            }));
          }
          probs = tf.tidy(() => predictTensor(tf.stack(small) as tf.Tensor4D));
        } finally {
          tf.dispose(small);
        }
        try {
          const data = await probs.data<'float32'>();
          for (let j = 0; j < chunk.length; j++) {
            const v = Float32Array.from(data.subarray(j * k, (j + 1) * k));
            if (!v.every(Number.isFinite)) throw new InputError(`face ${i + j + 1}: the emotion probabilities are not finite`);
            out.push(v);
          }
        } finally {
          probs.dispose();
        }
      }
      return out;
    },
    dispose() {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}

/** Synonym groups: every name in a group means the same emotion (compared lower-cased). */
const SYNONYMS: readonly (readonly string[])[] = [
  ['anger', 'angry'],
  ['happiness', 'happy'],
  ['sadness', 'sad'],
  ['surprise', 'surprised'],
  ['fear', 'afraid', 'fearful'],
  ['disgust', 'disgusted'],
  ['neutral', 'neutrality'],
];
const CANONICAL = new Map<string, string>(SYNONYMS.flatMap((g) => g.map((n) => [n, g[0]!] as [string, string])));

function canonical(name: string): string {
  const n = name.trim().toLowerCase();
  return CANONICAL.get(n) ?? n;
}

export interface ClassMapping {
  /** Per dataset class, the index of the model class with the same meaning, or null. */
  mapping: (number | null)[];
  /** Dataset classes the model cannot predict (e.g. AffectNet's contempt for FER2013), in dataset order. */
  unavailable: string[];
}

/**
 * Maps dataset class names onto model classes by name: case-insensitive, with
 * the synonym groups above (anger/angry, happiness/happy, sadness/sad,
 * surprise/surprised, fear/afraid/fearful, disgust/disgusted,
 * neutral/neutrality); other names must match exactly (ignoring case). A class
 * the model lacks is reported unavailable, never guessed. Two model classes
 * with the same meaning are an error.
 */
export function mapClasses(modelClasses: readonly string[], datasetClasses: readonly string[]): ClassMapping {
  const index = new Map<string, number>();
  for (const [i, c] of modelClasses.entries()) {
    const key = canonical(c);
    const prev = index.get(key);
    if (prev !== undefined) throw new InputError(`model classes '${modelClasses[prev]}' and '${c}' mean the same emotion`);
    index.set(key, i);
  }
  const mapping: (number | null)[] = [];
  const unavailable: string[] = [];
  for (const c of datasetClasses) {
    const m = index.get(canonical(c));
    mapping.push(m ?? null);
    if (m === undefined) unavailable.push(c);
  }
  return { mapping, unavailable };
}
