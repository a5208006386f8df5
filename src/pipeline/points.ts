/** Landmark points as JSON: what `ganon landmarks --json` prints and `--from-json` reads. */
import { InputError } from '../errors.js';
import type { FaceRecord } from './faces.js';
import { NUM_LANDMARKS } from './render.js';

export interface FaceJson {
  faceIndex: number;
  box: number[];
  score: number;
  angleDeg: number;
  landmarkSource: string | null;
  /** 478 x [x, y, z], normalised to the S x S face image. */
  landmarks: number[][] | null;
}

export function landmarksToJson(f: FaceRecord): FaceJson {
  const pts: number[][] = [];
  if (f.landmarks) for (let i = 0; i < NUM_LANDMARKS; i++) pts.push([f.landmarks[i * 3]!, f.landmarks[i * 3 + 1]!, f.landmarks[i * 3 + 2]!]);
  return { faceIndex: f.faceIndex, box: f.box, score: f.score, angleDeg: (f.angle * 180) / Math.PI, landmarkSource: f.landmarkSource, landmarks: f.landmarks ? pts : null };
}

/**
 * Accepts `{faces: [{landmarks}]}` (our --json), `{landmarks: [...]}` or a bare
 * array of [x, y, z?] points, normalised to [0, 1].
 */
export function parseLandmarksJson(text: string, source: string, face = 0): Float32Array {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`'${source}' is not valid JSON: ${(e as Error).message}`);
  }
  const obj = v as { faces?: { landmarks?: unknown }[]; landmarks?: unknown };
  const pts = Array.isArray(v) ? v : obj.faces ? obj.faces[face]?.landmarks : obj.landmarks;
  if (!Array.isArray(pts)) throw new InputError(`'${source}': no landmarks found (expected {faces:[{landmarks}]}, {landmarks} or an array of [x, y, z])`);
  const out = new Float32Array(pts.length * 3);
  pts.forEach((p, i) => {
    if (!Array.isArray(p) || p.length < 2 || !p.slice(0, 3).every((c) => typeof c === 'number' && Number.isFinite(c))) {
      throw new InputError(`'${source}': point ${i} is not [x, y] or [x, y, z] numbers`);
    }
    out.set([p[0] as number, p[1] as number, (p[2] as number | undefined) ?? 0], i * 3);
  });
  return out;
}
