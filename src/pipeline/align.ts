/**
 * Align and crop, as the paper-era retina-face (<= 0.0.13) did it: crop the
 * face box first, then rotate the crop about its centre so the eye line is
 * level, nearest-neighbour, same size, black corners (PIL's rotate without
 * expand). The affine map from crop pixels back to the original image is kept
 * so later stages (and the evaluation harness) can map back.
 */
import { InputError } from '../errors.js';
import type { RgbImage } from '../io/images.js';

/** x' = a*x + b*y + tx ; y' = c*x + d*y + ty (crop pixel -> original pixel). */
export interface Affine { a: number; b: number; c: number; d: number; tx: number; ty: number }

export interface AlignedCrop {
  image: RgbImage;
  /** Eye-line angle in radians that was removed (positive: right eye lower in the image). */
  angle: number;
  /** The integer box actually cropped, [x, y, w, h] in original pixels (may extend past the image; filled black). */
  box: [number, number, number, number];
  toOriginal: Affine;
}

/** Angle of the line from the image-left eye to the image-right eye (y down). */
export function eyeAngle(eyeA: [number, number], eyeB: [number, number]): number {
  const [l, r] = eyeA[0] <= eyeB[0] ? [eyeA, eyeB] : [eyeB, eyeA];
  return Math.atan2(r[1] - l[1], r[0] - l[0]);
}

/** Box grown by `margin` (fraction of each side) and rounded to whole pixels. */
export function expandBox(box: [number, number, number, number], margin: number): [number, number, number, number] {
  const [x, y, w, h] = box;
  const x0 = Math.floor(x - (w * margin) / 2);
  const y0 = Math.floor(y - (h * margin) / 2);
  const x1 = Math.ceil(x + w + (w * margin) / 2);
  const y1 = Math.ceil(y + h + (h * margin) / 2);
  return [x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0)];
}

/** Crops `box` (black outside the image), then rotates the crop by -angle about its centre (nearest). */
export function alignCrop(img: RgbImage, box: [number, number, number, number], angle: number): AlignedCrop {
  const [bx, by, w, h] = box.map(Math.round) as [number, number, number, number];
  if (w < 1 || h < 1) throw new InputError(`face box [${box}] is empty`);
  const out = new Uint8Array(w * h * 3);
  const cx = w / 2;
  const cy = h / 2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // inverse map: the output pixel centre rotated by +angle about the crop centre
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const sx = Math.floor(cx + cos * dx - sin * dy);
      const sy = Math.floor(cy + sin * dx + cos * dy);
      if (sx < 0 || sy < 0 || sx >= w || sy >= h) continue;
      const ox = bx + sx;
      const oy = by + sy;
      if (ox < 0 || oy < 0 || ox >= img.width || oy >= img.height) continue;
      const s = (oy * img.width + ox) * 3;
      const o = (y * w + x) * 3;
      out[o] = img.data[s]!;
      out[o + 1] = img.data[s + 1]!;
      out[o + 2] = img.data[s + 2]!;
    }
  }
  // crop point p -> original: box origin + centre + R(angle) (p - centre)
  const toOriginal: Affine = { a: cos, b: -sin, c: sin, d: cos, tx: bx + cx - cos * cx + sin * cy, ty: by + cy - sin * cx - cos * cy };
  return { image: { width: w, height: h, data: out }, angle, box: [bx, by, w, h], toOriginal };
}

export function applyAffine(t: Affine, x: number, y: number): [number, number] {
  return [t.a * x + t.b * y + t.tx, t.c * x + t.d * y + t.ty];
}

export function invertAffine(t: Affine): Affine {
  const det = t.a * t.d - t.b * t.c;
  const a = t.d / det;
  const b = -t.b / det;
  const c = -t.c / det;
  const d = t.a / det;
  return { a, b, c, d, tx: -(a * t.tx + b * t.ty), ty: -(c * t.tx + d * t.ty) };
}
