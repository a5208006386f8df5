/**
 * Face embedders for the identity evaluation (paper Table 1).
 *
 * The only embedder here is the PROXY: the 1024-d HSE-FaceRes descriptor
 * (`faceres.json`, MobileNet trained on VGGFace2) shipped inside the
 * `@vladmandic/human` npm package, loaded from local files only. It is NOT the
 * paper's Facenet512 (DeepFace: InceptionResNetV1, 160 x 160, 512-d), so every
 * output that uses it names it 'proxy-faceres' and says "proxy"; its distances
 * are not comparable with the paper's numbers or DeepFace's 0.30 threshold.
 *
 * Preprocessing replicated from Human 3.3.6 (src/face/faceres.ts `enhance` and
 * `predict`, with the default config: `description.crop` unset, no
 * `filter.equalization`):
 *  - the face image in [0, 1] (Human: its face crop divided by 255);
 *  - `tf.image.resizeBilinear(face, [224, 224], alignCorners = false)` (the
 *    model's input_1 is N x 224 x 224 x 3, RGB);
 *  - times 255, so the network sees float RGB in [0, 255];
 *  - `model.execute(input)`; the embedding is the output whose shape[1] is 1024
 *    (`global_pooling/Mean`); the age (100) and gender (1) heads are ignored.
 * Human's descriptor is returned raw (not normalised), and so is ours: only
 * cosine distance is used, which is scale-free.
 * What differs from Human: Human feeds faceres its own face crop (the
 * BlazeFace box enlarged by 1.4, cut and resized to 256 x 256 with
 * cropAndResize, rotation-corrected when the roll exceeds 0.2 rad); here the
 * caller gives the toolkit's aligned S x S crop (src/pipeline/faces.ts), which
 * goes straight to 224 x 224, so every method is embedded on identical geometry.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { InputError, ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { humanModelPath } from '../pipeline/human.js';
import { fileHandler } from '../io/models.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** sha256 over the existing files, in order (a graph model's .json then its .bin). */
export function sha256Files(paths: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of paths) if (existsSync(p)) h.update(readFileSync(p));
  return h.digest('hex');
}


export interface Embedder {
  /** Printed in every table, JSON and run.json (e.g. 'proxy-faceres'). */
  name: string;
  /** True for substitutes of the paper's Facenet512. */
  proxy: boolean;
  dim: number;
  /** sha256 of the weights file(s) the embedder was loaded from. */
  weightsSha256?: string;
  /** One embedding per face image (any size; RGB uint8). */
  embed(faces: RgbImage[]): Promise<Float32Array[]>;
  dispose(): void;
}

export const PROXY_NAME = 'proxy-faceres';
export const PROXY_DIM = 1024;
/**
 * Faces per model call: 2 on the single-threaded backends (wasm: 14 faces/s at 2,
 * 13 at 8, 10 at 1, measured; XNNPACK's GEMMs fall out of cache at 8), 8 on
 * 'tensorflow'. Each face's numbers do not depend on the batch (tested).
 */
const batchSize = (): number => (tf.getBackend() === 'tensorflow' ? 8 : 2);

/** `<@vladmandic/human>/models/faceres.json`. */
export function faceresModelPath(): string {
  return humanModelPath('faceres.json');
}

/** Loads the proxy embedder (Human's faceres). Embeddings are raw, not L2-normalised. */
export async function loadProxyEmbedder(path: string = faceresModelPath()): Promise<Embedder> {
  let model: GraphModel;
  try {
    model = await loadGraphModel(fileHandler(path));
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`cannot load the faceres model '${path}': ${(e as Error).message}`);
  }
  const shape = model.inputs[0]?.shape;
  const inH = shape?.[1] ?? 224;
  const inW = shape?.[2] ?? 224;
  let disposed = false;
  const weightsSha256 = sha256Files([path, path.replace(/\.json$/, '.bin')]);
  return {
    weightsSha256,
    name: PROXY_NAME,
    proxy: true,
    dim: PROXY_DIM,
    async embed(faces: RgbImage[]): Promise<Float32Array[]> {
      if (disposed) throw new ModelLoadError('the proxy embedder was disposed');
      const out: Float32Array[] = [];
      const batch = batchSize();
      for (let i = 0; i < faces.length; i += batch) {
        const chunk = faces.slice(i, i + batch);
        const outputs = tf.tidy(() => {
          const batch = tf.stack(chunk.map((f, k) => {
            if (f.data.length !== f.width * f.height * 3) throw new InputError(`face ${i + k + 1}: ${f.data.length} bytes for a ${f.width}x${f.height} RGB image`);
            const unit = tf.div(tf.tensor3d(f.data, [f.height, f.width, 3], 'int32'), 255); // Human: crop / 255
            return tf.image.resizeBilinear(unit as tf.Tensor3D, [inH, inW], false);
          })) as tf.Tensor4D;
          const input = tf.mul(batch, 255); // Human: resizeBilinear(...) * 255
          const res = model.execute(input);
          return Array.isArray(res) ? res : [res];
        });
        try {
          const desc = outputs.find((t) => t.shape.length === 2 && t.shape[1] === PROXY_DIM);
          if (!desc) throw new ModelLoadError(`faceres model '${path}' has no ${PROXY_DIM}-d output (outputs: ${outputs.map((t) => `[${t.shape}]`).join(', ')})`);
          const data = await desc.data<'float32'>();
          for (let k = 0; k < chunk.length; k++) {
            const v = Float32Array.from(data.subarray(k * PROXY_DIM, (k + 1) * PROXY_DIM));
            if (!v.every(Number.isFinite)) throw new InputError(`face ${i + k + 1}: the embedding has non-finite values`);
            out.push(v);
          }
        } finally {
          tf.dispose(outputs);
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

/** 1 - a.b / (|a| |b|). Throws InputError on unequal lengths, non-finite values or a zero vector. */
export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InputError(`cosine distance: vectors of length ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  const d = 1 - dot / Math.sqrt(na * nb);
  if (!Number.isFinite(d)) throw new InputError(`cosine distance is not finite (non-finite values or a zero vector; |a|^2 = ${na}, |b|^2 = ${nb})`);
  return d;
}
