/**
 * Frame mode: the synthesised S x S face put back into the original photo.
 * Each original pixel near the face is mapped through the inverse of the
 * letterbox + alignment transform into the S x S face (bilinear sample), and
 * blended with a feathered mask: the convex hull of the 478 landmarks, grown
 * by `grow` and faded over `feather` (both as fractions of S).
 */
import type { RgbImage } from '../io/images.js';
import { applyAffine, invertAffine, type Affine } from './align.js';
import { convexHull, type Pt } from './hull.js';
import { NUM_LANDMARKS } from './render.js';

export interface PasteOptions { grow: number; feather: number }
export const DEFAULT_PASTE: PasteOptions = { grow: 0.03, feather: 0.04 };

export { convexHull };

/** Signed distance from q to a convex polygon: positive inside, negative outside. */
export function signedDistance(poly: Pt[], q: Pt): number {
  let inside = true;
  let best = Infinity;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i]!;
    const b = poly[(i + 1) % poly.length]!;
    const ex = b[0] - a[0];
    const ey = b[1] - a[1];
    const len2 = ex * ex + ey * ey || 1e-12;
    const t = Math.max(0, Math.min(1, ((q[0] - a[0]) * ex + (q[1] - a[1]) * ey) / len2));
    best = Math.min(best, Math.hypot(q[0] - a[0] - t * ex, q[1] - a[1] - t * ey));
    if (ex * (q[1] - a[1]) - ey * (q[0] - a[0]) < 0) inside = false; // hull is counter-clockwise in math orientation
  }
  return inside ? best : -best;
}

function sampleBilinear(img: RgbImage, x: number, y: number, out: number[]): void {
  // x, y in continuous coordinates (pixel centres at +0.5)
  const fx = Math.min(Math.max(x - 0.5, 0), img.width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), img.height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, img.width - 1);
  const y1 = Math.min(y0 + 1, img.height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  for (let c = 0; c < 3; c++) {
    const v00 = img.data[(y0 * img.width + x0) * 3 + c]!;
    const v01 = img.data[(y0 * img.width + x1) * 3 + c]!;
    const v10 = img.data[(y1 * img.width + x0) * 3 + c]!;
    const v11 = img.data[(y1 * img.width + x1) * 3 + c]!;
    out[c] = (v00 * (1 - ax) + v01 * ax) * (1 - ay) + (v10 * (1 - ax) + v11 * ax) * ay;
  }
}

/**
 * Blends `face` (S x S, the letterbox space of `toOriginal`) into `frame` in place
 * over the landmark hull. Returns the number of pixels changed.
 */
export function pasteBack(frame: RgbImage, face: RgbImage, landmarks: Float32Array, toOriginal: Affine, opts: PasteOptions = DEFAULT_PASTE): number {
  const S = face.width;
  const pts: Pt[] = [];
  for (let i = 0; i < NUM_LANDMARKS; i++) pts.push([landmarks[i * 3]! * S, landmarks[i * 3 + 1]! * S]);
  const hull = convexHull(pts);
  if (hull.length < 3) return 0;
  const grow = opts.grow * S;
  const feather = Math.max(opts.feather * S, 1e-6);
  const inv = invertAffine(toOriginal);
  // bounding box of the grown hull in the frame
  const corners = hull.map(([x, y]) => applyAffine(toOriginal, x, y));
  const scale = Math.hypot(toOriginal.a, toOriginal.c);
  const pad = (grow + 1) * scale + 2;
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0])) - pad));
  const x1 = Math.min(frame.width - 1, Math.ceil(Math.max(...corners.map((c) => c[0])) + pad));
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1])) - pad));
  const y1 = Math.min(frame.height - 1, Math.ceil(Math.max(...corners.map((c) => c[1])) + pad));
  const rgb = [0, 0, 0];
  let changed = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const q = applyAffine(inv, x + 0.5, y + 0.5);
      const d = signedDistance(hull, q) + grow;
      if (d <= 0) continue;
      const t = Math.min(1, d / feather);
      const alpha = t * t * (3 - 2 * t); // smoothstep
      sampleBilinear(face, q[0], q[1], rgb);
      const o = (y * frame.width + x) * 3;
      for (let c = 0; c < 3; c++) frame.data[o + c] = Math.round(alpha * rgb[c]! + (1 - alpha) * frame.data[o + c]!);
      changed++;
    }
  }
  return changed;
}
