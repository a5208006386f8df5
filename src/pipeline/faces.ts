/**
 * Stages 1-5 for one image: detect every face, align and crop each (eye line
 * level, tight box plus margin), letterbox to S x S, and find its 478
 * landmarks on the letterboxed crop (as the reference runs MediaPipe on the
 * crop). Returns one record per face; an image without a face returns none.
 */
import type { RgbImage } from '../io/images.js';
import { alignCrop, applyAffine, eyeAngle, expandBox, invertAffine, type Affine } from './align.js';
import { DEFAULT_DETECT, detectFaces, type DetectConfig } from './human.js';
import { letterbox } from './letterbox.js';
import { NUM_LANDMARKS } from './render.js';

export interface FaceOptions {
  size: number;
  /** Extra margin around the detector box, as a fraction of its sides (0 = the tight box). */
  margin: number;
  detect: DetectConfig;
}

export const DEFAULT_FACE_OPTIONS: FaceOptions = { size: 512, margin: 0, detect: DEFAULT_DETECT };

export interface FaceRecord {
  faceIndex: number;
  /** Detector box in the original image, [x, y, w, h]. */
  box: [number, number, number, number];
  score: number;
  /** Eye-line angle removed by alignment, radians. */
  angle: number;
  /** The S x S aligned, letterboxed face. */
  image: RgbImage;
  /** 478 x (x, y, z) normalised to the S x S image, MediaPipe order; null when no mesh was found. */
  landmarks: Float32Array | null;
  /** 'crop': mesh found on the letterboxed crop; 'original': mapped from the full-image mesh. */
  landmarkSource: 'crop' | 'original' | null;
  /** S x S pixel (continuous coordinates) -> original image pixel. */
  toOriginal: Affine;
}

const IRIS_RIGHT = 468;
const IRIS_LEFT = 473;

export async function extractFaces(img: RgbImage, opts: FaceOptions = DEFAULT_FACE_OPTIONS): Promise<FaceRecord[]> {
  const faces = await detectFaces(img, opts.detect);
  const out: FaceRecord[] = [];
  for (const [faceIndex, f] of faces.entries()) {
    const eyeR: [number, number] = [f.mesh[IRIS_RIGHT * 3]!, f.mesh[IRIS_RIGHT * 3 + 1]!];
    const eyeL: [number, number] = [f.mesh[IRIS_LEFT * 3]!, f.mesh[IRIS_LEFT * 3 + 1]!];
    const angle = eyeAngle(eyeR, eyeL);
    const crop = alignCrop(img, expandBox(f.box, opts.margin), angle);
    const lb = await letterbox(crop.image, opts.size);
    // letterboxed pixel -> crop pixel -> original pixel
    const sx = lb.scaleX ?? lb.scale;
    const sy = lb.scaleY ?? lb.scale;
    const lbToCrop: Affine = { a: 1 / sx, b: 0, c: 0, d: 1 / sy, tx: -lb.offsetX / sx, ty: -lb.offsetY / sy };
    const toOriginal = compose(crop.toOriginal, lbToCrop);
    let landmarks: Float32Array | null = null;
    let landmarkSource: FaceRecord['landmarkSource'] = null;
    const again = await detectFaces(lb.image, { ...opts.detect, maxFaces: 1 });
    if (again.length > 0) {
      landmarks = normalise(again[0]!.mesh, opts.size);
      landmarkSource = 'crop';
    } else {
      landmarks = mapMesh(f.mesh, invertAffine(toOriginal), opts.size);
      landmarkSource = 'original';
    }
    out.push({ faceIndex, box: f.box, score: f.score, angle, image: lb.image, landmarks, landmarkSource, toOriginal });
  }
  return out;
}

function normalise(mesh: Float32Array, size: number): Float32Array {
  const out = new Float32Array(NUM_LANDMARKS * 3);
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    out[i * 3] = mesh[i * 3]! / size;
    out[i * 3 + 1] = mesh[i * 3 + 1]! / size;
    out[i * 3 + 2] = mesh[i * 3 + 2]! / size;
  }
  return out;
}

function mapMesh(mesh: Float32Array, t: Affine, size: number): Float32Array {
  const out = new Float32Array(NUM_LANDMARKS * 3);
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    const [x, y] = applyAffine(t, mesh[i * 3]!, mesh[i * 3 + 1]!);
    out.set([x / size, y / size, mesh[i * 3 + 2]! / size], i * 3);
  }
  return out;
}

/** outer ∘ inner: apply inner first. */
export function compose(outer: Affine, inner: Affine): Affine {
  return {
    a: outer.a * inner.a + outer.b * inner.c,
    b: outer.a * inner.b + outer.b * inner.d,
    c: outer.c * inner.a + outer.d * inner.c,
    d: outer.c * inner.b + outer.d * inner.d,
    tx: outer.a * inner.tx + outer.b * inner.ty + outer.tx,
    ty: outer.c * inner.tx + outer.d * inner.ty + outer.ty,
  };
}
