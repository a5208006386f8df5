/**
 * Letterbox to S x S: the reference's ZeroPaddingResize
 * (lib/transform/zero_padding_resize_transformer.py):
 * - ratio = min(S/w, S/h); the face is resized to (int(ratio*w), int(ratio*h))
 *   with PIL's LANCZOS filter, small faces upscaled too;
 * - pasted at ((S-w')//2, (S-h')//2) on a black S x S canvas;
 * - an image that is already S x S is returned as is.
 *
 * The resize is a port of Pillow's ImagingResample (Resample.c, 8 bits per
 * channel; src/pipeline/resample.ts, which also has PIL's other filters):
 * separable, horizontal pass then vertical, Lanczos-3 support scaled
 * by the reduction factor, coefficients normalised per output pixel and
 * rounded to 22-bit fixed point, uint8 between the passes. It reproduces
 * PIL's output bit for bit (test/pipeline/letterbox.test.ts against the PIL
 * fixture). sharp's 'lanczos3' is available as `resampler: 'sharp'` but is NOT
 * what the reference did: on downscales it is within a few levels of PIL, on
 * upscales its sampling grid is shifted by a fraction of a pixel (errors of
 * tens of levels on detailed images), so it is not the default.
 *
 * Deviation: where int(ratio*w) or int(ratio*h) is 0 (an image more than S
 * times wider than tall, or the reverse) PIL raises; here that side is 1 px.
 */
import sharp from 'sharp';
import { InputError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { resizePil } from './resample.js';

export type LetterboxResampler = 'pil' | 'sharp';

export interface LetterboxOptions {
  /** 'pil' (default): bit-exact port of PIL's LANCZOS. 'sharp': libvips lanczos3 (faster, not exact). */
  resampler?: LetterboxResampler;
}

/**
 * Maps points between the input image and the S x S letterbox, in continuous
 * pixel coordinates (pixel i covers [i, i+1), so a normalised landmark u maps
 * to u*width). `scale` is the reference's ratio; `scaleX`/`scaleY` are the
 * factors the resize really applied (w'/w and h'/h, which differ from `ratio`
 * by the int() truncation, up to 1 px at the far edge).
 */
export interface LetterboxTransform {
  scale: number;
  offsetX: number;
  offsetY: number;
  scaleX?: number;
  scaleY?: number;
}

export interface LetterboxGeometry {
  /** Size of the resized image before pasting. */
  width: number;
  height: number;
  scale: number;
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

export interface LetterboxResult {
  image: RgbImage;
  scale: number;
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new InputError(`letterbox size must be an integer >= 1, got ${size}`);
}

function checkImage(img: RgbImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`letterbox: image must be non-empty, got ${width} x ${height}`);
  }
  if (!data || data.length !== width * height * 3) {
    throw new InputError(`letterbox: image data has ${data?.length ?? 0} bytes, expected ${width} x ${height} x 3 = ${width * height * 3}`);
  }
}

/** The reference's geometry for a w x h image letterboxed to size (pure). */
export function letterboxGeometry(width: number, height: number, size: number): LetterboxGeometry {
  checkSize(size);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`letterbox: image must be non-empty, got ${width} x ${height}`);
  }
  if (width === size && height === size) {
    return { width, height, scale: 1, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 };
  }
  // Same double arithmetic as Python: min(S/w, S/h), then int() truncates.
  const scale = Math.min(size / width, size / height);
  const w = Math.max(1, Math.trunc(scale * width));
  const h = Math.max(1, Math.trunc(scale * height));
  return {
    width: w,
    height: h,
    scale,
    scaleX: w / width,
    scaleY: h / height,
    offsetX: Math.floor((size - w) / 2),
    offsetY: Math.floor((size - h) / 2),
  };
}

export async function letterbox(img: RgbImage, size: number, opts: LetterboxOptions = {}): Promise<LetterboxResult> {
  checkSize(size);
  checkImage(img);
  if (img.width === size && img.height === size) {
    return { image: img, scale: 1, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 };
  }
  const g = letterboxGeometry(img.width, img.height, size);
  let resized: RgbImage;
  if (g.width === img.width && g.height === img.height) resized = img;
  else if ((opts.resampler ?? 'pil') === 'pil') resized = resizeLanczosPil(img, g.width, g.height);
  else if (opts.resampler === 'sharp') resized = await resizeLanczosSharp(img, g.width, g.height);
  else throw new InputError(`letterbox: unknown resampler '${String(opts.resampler)}' (expected 'pil' or 'sharp')`);

  const data = new Uint8Array(size * size * 3);
  const row = g.width * 3;
  for (let y = 0; y < g.height; y++) {
    data.set(resized.data.subarray(y * row, (y + 1) * row), ((y + g.offsetY) * size + g.offsetX) * 3);
  }
  return {
    image: { width: size, height: size, data },
    scale: g.scale,
    scaleX: g.scaleX,
    scaleY: g.scaleY,
    offsetX: g.offsetX,
    offsetY: g.offsetY,
  };
}

/** Input-image point -> letterbox point (continuous pixel coordinates). */
export function toLetterbox(x: number, y: number, t: LetterboxTransform): { x: number; y: number } {
  return { x: x * (t.scaleX ?? t.scale) + t.offsetX, y: y * (t.scaleY ?? t.scale) + t.offsetY };
}

/** Letterbox point -> input-image point (the inverse of toLetterbox). */
export function fromLetterbox(x: number, y: number, t: LetterboxTransform): { x: number; y: number } {
  return { x: (x - t.offsetX) / (t.scaleX ?? t.scale), y: (y - t.offsetY) / (t.scaleY ?? t.scale) };
}

/**
 * Resizes exactly as PIL's `Image.resize((w, h), Image.LANCZOS)` on an RGB image
 * (resizePil in ./resample.ts with the LANCZOS filter; kept for existing callers).
 */
export function resizeLanczosPil(img: RgbImage, width: number, height: number): RgbImage {
  return resizePil(img, width, height, 'lanczos');
}

/** sharp (libvips) lanczos3 resize: close to PIL on downscales only; see the header. */
export async function resizeLanczosSharp(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  checkImage(img);
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`sharp resized to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
