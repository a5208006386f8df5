/**
 * The classical baselines of the paper's Table 1, applied to the same aligned
 * S x S crop as GANonymization: pixelation (the face reduced to N x N blocks,
 * block means, nearest upsampling; the paper's 8 and 16), blur (K x K Gaussian
 * with OpenCV's default sigma rule and BORDER_REFLECT_101, or a box filter; the
 * paper's 9 and 17), and a black mask.
 */
import { InputError } from '../errors.js';
import type { RgbImage } from '../io/images.js';

/** N x N blocks over the image; block edges at floor(i * W / N). */
export function pixelate(img: RgbImage, n: number): RgbImage {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`pixelate needs a positive integer block count (got ${n})`);
  const { width: w, height: h } = img;
  const out = new Uint8Array(img.data.length);
  for (let by = 0; by < n; by++) {
    const y0 = Math.floor((by * h) / n);
    const y1 = Math.floor(((by + 1) * h) / n);
    for (let bx = 0; bx < n; bx++) {
      const x0 = Math.floor((bx * w) / n);
      const x1 = Math.floor(((bx + 1) * w) / n);
      const count = (y1 - y0) * (x1 - x0);
      if (count === 0) continue;
      const sum = [0, 0, 0];
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++) sum[c]! += img.data[(y * w + x) * 3 + c]!;
      const mean = sum.map((s) => Math.round(s / count));
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.set(mean, (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data: out };
}

/** OpenCV's fixed tables for ksize 1, 3, 5, 7 when sigma <= 0 (getGaussianKernel). */
const SMALL_GAUSSIAN: Record<number, number[]> = {
  1: [1],
  3: [0.25, 0.5, 0.25],
  5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
  7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
};

/**
 * OpenCV's getGaussianKernel(k, sigma <= 0): the fixed table for k <= 7, else
 * sigma = 0.3((k-1)/2 - 1) + 0.8 and normalised exp(-(i-c)^2 / 2 sigma^2).
 * (cv2.GaussianBlur on 8-bit images uses fixed-point arithmetic, so it can differ by 1 level.)
 */
export function gaussianKernel(k: number): Float64Array {
  const table = SMALL_GAUSSIAN[k];
  if (table) return Float64Array.from(table);
  const sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
  const kern = new Float64Array(k);
  const c = (k - 1) / 2;
  let sum = 0;
  for (let i = 0; i < k; i++) {
    kern[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    sum += kern[i]!;
  }
  for (let i = 0; i < k; i++) kern[i]! /= sum;
  return kern;
}

/** BORDER_REFLECT_101: gfedcb|abcdefgh|gfedcba. */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** Separable K x K blur (Gaussian or box), OpenCV's default border; rounds to nearest. */
export function blur(img: RgbImage, k: number, kind: 'gaussian' | 'box' = 'gaussian'): RgbImage {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new InputError(`blur needs an odd positive kernel size (got ${k})`);
  const kern = kind === 'gaussian' ? gaussianKernel(k) : new Float64Array(k).fill(1 / k);
  const { width: w, height: h } = img;
  const r = (k - 1) / 2;
  const tmp = new Float64Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += kern[i + r]! * img.data[(y * w + reflect101(x + i, w)) * 3 + c]!;
        tmp[(y * w + x) * 3 + c] = s;
      }
    }
  }
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += kern[i + r]! * tmp[(reflect101(y + i, h) * w + x) * 3 + c]!;
        out[(y * w + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(s)));
      }
    }
  }
  return { width: w, height: h, data: out };
}

export function mask(img: RgbImage): RgbImage {
  return { width: img.width, height: img.height, data: new Uint8Array(img.data.length) };
}
