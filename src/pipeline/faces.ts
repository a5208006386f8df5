/**
 * Stages 1-5 for one image: detect every face (the detector alone: box and eye
 * keypoints, as RetinaFace gives the reference), align and crop each (eye line
 * level, box plus margin), letterbox to S x S, and find its 478 landmarks on
 * the letterboxed crop (as the reference runs MediaPipe on the crop). The mesh
 * runs once per face, on the crop; only where it finds no face there is it run
 * on the full image and mapped back. Returns one record per face; an image
 * without a face returns none.
 */
import type { RgbImage } from '../io/images.js';
import { alignCrop, applyAffine, eyeAngle, expandBox, invertAffine, type Affine } from './align.js';
import { DEFAULT_DETECT, detectBoxes, detectFaces, type DetectConfig, type DetectedFace } from './human.js';
import { letterbox } from './letterbox.js';
import { embeddedLandmarker, type Landmarker } from './landmarks.js';
import { NUM_LANDMARKS } from './render.js';

export interface FaceOptions {
  size: number;
  /** Extra margin around the detector box, as a fraction of its sides (0 = the tight box). */
  margin: number;
  detect: DetectConfig;
  /** Stage 5's backend (src/pipeline/landmarks.ts); default: the embedded mesh. */
  landmarker?: Landmarker;
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

export async function extractFaces(img: RgbImage, opts: FaceOptions = DEFAULT_FACE_OPTIONS): Promise<FaceRecord[]> {
  const faces = await detectBoxes(img, opts.detect);
  const out: FaceRecord[] = [];
  for (const [faceIndex, f] of faces.entries()) {
    const angle = eyeAngle(f.rightEye, f.leftEye);
    const crop = alignCrop(img, expandBox(f.box, opts.margin), angle);
    const lb = await letterbox(crop.image, opts.size);
    // letterboxed pixel -> crop pixel -> original pixel
    const sx = lb.scaleX ?? lb.scale;
    const sy = lb.scaleY ?? lb.scale;
    const lbToCrop: Affine = { a: 1 / sx, b: 0, c: 0, d: 1 / sy, tx: -lb.offsetX / sx, ty: -lb.offsetY / sy };
    const toOriginal = compose(crop.toOriginal, lbToCrop);
    out.push({ faceIndex, box: f.box, score: f.score, angle, image: lb.image, landmarks: null, landmarkSource: null, toOriginal });
  }
  // stage 5 on all crops of the image at once (one round trip for mediapipe)
  const landmarker = opts.landmarker ?? embeddedLandmarker({ ...opts.detect, maxFaces: 1 });
  const found = await landmarker.landmarks(out.map((r) => r.image));
  let full: DetectedFace[] | null = null;
  for (const [i, r] of out.entries()) {
    const p = found[i] ?? null;
    if (p !== null) {
      r.landmarks = p;
      r.landmarkSource = 'crop';
    } else if (landmarker.name === 'embedded') {
      // the full-image mesh of this face through the inverse transforms; mediapipe leaves no points, as the reference does
      full ??= await detectFaces(img, opts.detect);
      const m = nearestFace(full, r.box);
      if (m !== null) {
        r.landmarks = mapMesh(m.mesh, invertAffine(r.toOriginal), opts.size);
        r.landmarkSource = 'original';
      }
    }
  }
  return out;
}

/** The meshed face whose box centre is nearest to `box`'s, if within half its size. */
function nearestFace(faces: DetectedFace[], box: [number, number, number, number]): DetectedFace | null {
  const cx = box[0] + box[2] / 2;
  const cy = box[1] + box[3] / 2;
  let best: DetectedFace | null = null;
  let bestD = Math.max(box[2], box[3]) / 2;
  for (const f of faces) {
    const d = Math.hypot(f.box[0] + f.box[2] / 2 - cx, f.box[1] + f.box[3] / 2 - cy);
    if (d <= bestD) {
      best = f;
      bestD = d;
    }
  }
  return best;
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
