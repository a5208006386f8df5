/**
 * The classifier input transform of the paper's ConvNeXt classifiers
 * (shared/docs/REFERENCE.md §4): `ConvNeXt_Base_Weights.IMAGENET1K_V1.transforms()`,
 * torchvision's ImageClassification(resize_size=232, crop_size=224, BILINEAR),
 * applied to PIL images as the reference's LabeledDataset loads them:
 *
 * 1. F.resize(img, [232]): the shorter side becomes 232, the longer
 *    `int(232 * long / short)` (_compute_resized_output_size); an image already
 *    of that size is returned as is; otherwise PIL's `Image.resize(size,
 *    BILINEAR)`, whose support grows with the reduction factor (antialiasing):
 *    resizePil(..., 'bilinear'), bit-exact.
 * 2. F.center_crop(img, [224]): where the image is smaller than the crop on a
 *    side, it is first padded with black, (crop - n) // 2 before and
 *    (crop - n + 1) // 2 after; then the crop starts at
 *    `int(round((n - 224) / 2.0))` on each side (Python's round: half to even,
 *    so an offset of 4.5 becomes 4 and 5.5 becomes 6). With 232/224 the shorter
 *    side is always 232, so nothing is ever padded; smaller `resize`/`crop`
 *    pairs can pad.
 * 3. pil_to_tensor, convert_image_dtype(float): u / 255 in float32.
 * 4. F.normalize: (x - mean) / std in float32, ImageNet mean and std.
 * 5. Training only: the reference composes RandomHorizontalFlip() AFTER the
 *    transform, i.e. it mirrors the columns of the normalised crop. `flip: true`
 *    does exactly that; the caller draws the p = 0.5 decision.
 *
 * Every float32 step is rounded as PyTorch rounds it, so the result equals
 * torchvision's bit for bit on the fixtures (test/pipeline/classifier-input.test.ts;
 * the test's tolerance is 1e-6). Layout: HWC (NHWC for a batch), the layout of
 * the TF.js networks; torchvision's CHW transposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { resizePil } from './resample.js';

export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

export interface ClassifierInputOptions {
  /** Shorter side after the resize (default 232). */
  resize?: number;
  /** Side of the centre crop (default 224). */
  crop?: number;
  /** Per-channel mean, RGB (default ImageNet). */
  mean?: readonly number[];
  /** Per-channel std, RGB (default ImageNet). */
  std?: readonly number[];
  /** Mirror the columns of the result (torchvision's hflip after the transform). Default false. */
  flip?: boolean;
}

export interface ClassifierBatchOptions extends Omit<ClassifierInputOptions, 'flip'> {
  /** One decision for all images, or one per image. Default false. */
  flip?: boolean | readonly boolean[];
}

export interface CenterCropGeometry {
  /** Black padding added first, torchvision's [left, top, right, bottom]. */
  padLeft: number;
  padTop: number;
  padRight: number;
  padBottom: number;
  /** Top-left corner of the crop in the padded image. */
  left: number;
  top: number;
}

function checkSide(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new InputError(`classifier input: ${name} must be an integer >= 1, got ${v}`);
}

function checkImage(img: RgbImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`classifier input: image must be non-empty, got ${width} x ${height}`);
  }
  if (!data || data.length !== width * height * 3) {
    throw new InputError(`classifier input: image data has ${data?.length ?? 0} bytes, expected ${width} x ${height} x 3 = ${width * height * 3}`);
  }
}

/** torchvision's _compute_resized_output_size for a single size (the shorter side), no max_size. */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  checkSide('resize', size);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`classifier input: image must be non-empty, got ${width} x ${height}`);
  }
  const [short, long] = width <= height ? [width, height] : [height, width];
  // Python: int(requested_new_short * long / short): an exact integer product,
  // one correctly rounded division (the same double in JS), truncation.
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/**
 * F.resize(img, [size]) on a PIL image with BILINEAR: the shorter side to `size`.
 * Returns `img` itself when the size does not change (as torchvision does).
 */
export function resizeShorter(img: RgbImage, size: number): RgbImage {
  checkImage(img);
  const { width, height } = resizedSize(img.width, img.height, size);
  if (width === img.width && height === img.height) return img;
  return resizePil(img, width, height, 'bilinear');
}

/** Python 3's round() of a non-negative multiple of 0.5: half to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Padding and crop offsets of F.center_crop for a width x height image (pure). */
export function centerCropGeometry(width: number, height: number, size: number): CenterCropGeometry {
  checkSide('crop', size);
  const padLeft = size > width ? Math.floor((size - width) / 2) : 0;
  const padTop = size > height ? Math.floor((size - height) / 2) : 0;
  const padRight = size > width ? Math.floor((size - width + 1) / 2) : 0;
  const padBottom = size > height ? Math.floor((size - height + 1) / 2) : 0;
  const w = width + padLeft + padRight;
  const h = height + padTop + padBottom;
  return {
    padLeft,
    padTop,
    padRight,
    padBottom,
    left: roundHalfEven((w - size) / 2),
    top: roundHalfEven((h - size) / 2),
  };
}

/** F.center_crop(img, [size]) on a PIL image: black padding where it is too small, then the centre crop (a new image). */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  checkImage(img);
  const g = centerCropGeometry(img.width, img.height, size);
  const data = new Uint8Array(size * size * 3); // black where padded
  // Crop rectangle in the padded image -> source rectangle in img.
  const x0 = g.left - g.padLeft;
  const y0 = g.top - g.padTop;
  const xs = Math.max(0, x0);
  const xe = Math.min(img.width, x0 + size);
  for (let y = 0; y < size; y++) {
    const sy = y + y0;
    if (sy < 0 || sy >= img.height || xe <= xs) continue;
    const src = (sy * img.width + xs) * 3;
    data.set(img.data.subarray(src, src + (xe - xs) * 3), (y * size + (xs - x0)) * 3);
  }
  return { width: size, height: size, data };
}

function resolve(opts: ClassifierInputOptions | ClassifierBatchOptions): { resize: number; crop: number; lut: Float32Array } {
  const resize = opts.resize ?? 232;
  const crop = opts.crop ?? 224;
  checkSide('resize', resize);
  checkSide('crop', crop);
  const mean = opts.mean ?? IMAGENET_MEAN;
  const std = opts.std ?? IMAGENET_STD;
  if (mean.length !== 3 || std.length !== 3) {
    throw new InputError(`classifier input: mean and std need 3 values (RGB), got ${mean.length} and ${std.length}`);
  }
  // F.normalize: mean/std as float32 tensors, tensor.sub_(mean).div_(std) in
  // float32; convert_image_dtype: u (as float32) / 255. Each step is one
  // IEEE operation rounded to float32, which fround of the double result
  // reproduces exactly (a double has more than 2 x 24 + 2 bits). A lookup table
  // per channel and uint8 value.
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]!);
    const s = Math.fround(std[c]!);
    if (!Number.isFinite(m) || !Number.isFinite(s) || s === 0) {
      throw new InputError(`classifier input: mean and std must be finite with std != 0, got mean ${mean[c]}, std ${std[c]}`);
    }
    for (let u = 0; u < 256; u++) lut[c * 256 + u] = Math.fround(Math.fround(Math.fround(u / 255) - m) / s);
  }
  return { resize, crop, lut };
}

function normaliseInto(img: RgbImage, lut: Float32Array, flip: boolean, out: Float32Array, offset: number): void {
  const { width, height, data } = img;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = flip ? width - 1 - x : x;
      const s = (y * width + sx) * 3;
      const o = offset + (y * width + x) * 3;
      out[o] = lut[data[s]!]!;
      out[o + 1] = lut[256 + data[s + 1]!]!;
      out[o + 2] = lut[512 + data[s + 2]!]!;
    }
  }
}

/**
 * The classifier's input for one image: crop x crop x 3 floats, HWC (one NHWC
 * row), equal to torchvision's ImageClassification output (CHW) transposed.
 */
export function classifierInput(img: RgbImage, opts: ClassifierInputOptions = {}): Float32Array {
  const { resize, crop, lut } = resolve(opts);
  const cropped = centerCrop(resizeShorter(img, resize), crop);
  const out = new Float32Array(crop * crop * 3);
  normaliseInto(cropped, lut, opts.flip ?? false, out, 0);
  return out;
}

/** classifierInput of each image, stacked into an NHWC float32 tensor [n, crop, crop, 3]. The caller disposes it. */
export function classifierBatch(images: readonly RgbImage[], opts: ClassifierBatchOptions = {}): tf.Tensor4D {
  if (images.length === 0) throw new InputError('classifier input: empty batch');
  const { resize, crop, lut } = resolve(opts);
  const flips = opts.flip;
  if (flips !== undefined && typeof flips !== 'boolean' && flips.length !== images.length) {
    throw new InputError(`classifier input: ${flips.length} flip decisions for ${images.length} images`);
  }
  const per = crop * crop * 3;
  const out = new Float32Array(images.length * per);
  images.forEach((img, i) => {
    const flip = flips === undefined ? false : typeof flips === 'boolean' ? flips : flips[i] === true;
    normaliseInto(centerCrop(resizeShorter(img, resize), crop), lut, flip, out, i * per);
  });
  return tf.tensor4d(out, [images.length, crop, crop, 3], 'float32');
}
