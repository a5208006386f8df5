/**
 * Pillow's resampler (src/libImaging/Resample.c, ImagingResample on an 8-bit
 * RGB image), ported bit for bit: what `Image.resize((w, h), filter)` returns
 * for BOX, BILINEAR, HAMMING, BICUBIC and LANCZOS. (NEAREST is a different
 * code path in Pillow, an affine transform, and is not ported.)
 *
 * Separable, horizontal pass then vertical. For each output pixel the filter's
 * support is scaled by the reduction factor (Pillow's built-in antialiasing,
 * so a BILINEAR downscale averages over 2 x factor source pixels, not 2), the
 * taps are normalised to sum 1 in double precision and rounded to 22-bit fixed
 * point; sums are rounded, clipped to [0, 255] and stored as uint8 between the
 * passes. As in Pillow, the horizontal pass only computes the source rows the
 * vertical pass reads, and a pass whose size does not change is skipped.
 * test/pipeline/resample.test.ts checks every filter against Pillow fixtures
 * (downscales, upscales, one pass only) and letterbox.test.ts the LANCZOS path.
 */
import { InputError } from '../errors.js';
import type { RgbImage } from '../io/images.js';

export type PilFilter = 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

export const PIL_FILTERS: readonly PilFilter[] = ['box', 'bilinear', 'hamming', 'bicubic', 'lanczos'];

interface FilterDef {
  fn: (x: number) => number;
  support: number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

// Pillow writes 0.54f and 0.46f: float constants promoted to double.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Record<PilFilter, FilterDef> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x = x * Math.PI;
      return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, fn: (x) => (-3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const CLIP_HIGH = 1 << (PRECISION_BITS + 8);

interface Coeffs {
  ksize: number;
  /** per output pixel: first input index and tap count. */
  bounds: Int32Array;
  /** fixed-point taps, ksize per output pixel. */
  kk: Int32Array;
}

/** precompute_coeffs + normalize_coeffs_8bpc for the whole axis (in0 = 0, in1 = inSize). */
function precomputeCoeffs(inSize: number, outSize: number, filter: FilterDef): Coeffs {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C: (int)(v + 0.5), truncation toward zero
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x]! / ww : k[x]!;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  if (v >= CLIP_HIGH) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

function checkImage(img: RgbImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`resize: image must be non-empty, got ${width} x ${height}`);
  }
  if (!data || data.length !== width * height * 3) {
    throw new InputError(`resize: image data has ${data?.length ?? 0} bytes, expected ${width} x ${height} x 3 = ${width * height * 3}`);
  }
}

/**
 * Resizes exactly as Pillow's `Image.resize((width, height), filter)` on an RGB
 * image. Returns a new image (a copy when the size does not change, as Pillow).
 */
export function resizePil(img: RgbImage, width: number, height: number, filter: PilFilter): RgbImage {
  checkImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`resize: target must be at least 1 x 1, got ${width} x ${height}`);
  }
  const def = Object.prototype.hasOwnProperty.call(FILTERS, filter) ? FILTERS[filter] : undefined;
  if (!def) throw new InputError(`resize: unknown filter '${String(filter)}' (expected one of ${PIL_FILTERS.join(', ')})`);
  const inW = img.width;
  const inH = img.height;
  if (inW === width && inH === height) return { width, height, data: img.data.slice() };

  const vert = precomputeCoeffs(inH, height, def);
  let src = img.data;
  let srcW = inW;
  let rowOffset = 0;

  if (width !== inW) {
    const hor = precomputeCoeffs(inW, width, def);
    // Only the source rows the vertical pass reads (all of them when it is skipped).
    const first = height !== inH ? vert.bounds[0]! : 0;
    const last = height !== inH ? vert.bounds[height * 2 - 2]! + vert.bounds[height * 2 - 1]! : inH;
    const rows = last - first;
    const tmp = new Uint8Array(rows * width * 3);
    const { ksize, bounds, kk } = hor;
    for (let yy = 0; yy < rows; yy++) {
      const inRow = (yy + first) * inW * 3;
      const outRow = yy * width * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2]!;
        const xmax = bounds[xx * 2 + 1]!;
        const kOff = xx * ksize;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        let p = inRow + xmin * 3;
        for (let x = 0; x < xmax; x++, p += 3) {
          const c = kk[kOff + x]!;
          s0 += src[p]! * c;
          s1 += src[p + 1]! * c;
          s2 += src[p + 2]! * c;
        }
        const o = outRow + xx * 3;
        tmp[o] = clip8(s0);
        tmp[o + 1] = clip8(s1);
        tmp[o + 2] = clip8(s2);
      }
    }
    src = tmp;
    srcW = width;
    rowOffset = first;
  }

  if (height === inH) return { width, height, data: src };

  const out = new Uint8Array(width * height * 3);
  const { ksize, bounds, kk } = vert;
  const stride = srcW * 3;
  for (let yy = 0; yy < height; yy++) {
    const ymin = bounds[yy * 2]! - rowOffset;
    const ymax = bounds[yy * 2 + 1]!;
    const kOff = yy * ksize;
    const outRow = yy * width * 3;
    for (let xx = 0; xx < width * 3; xx += 3) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = ymin * stride + xx;
      for (let y = 0; y < ymax; y++, p += stride) {
        const c = kk[kOff + y]!;
        s0 += src[p]! * c;
        s1 += src[p + 1]! * c;
        s2 += src[p + 2]! * c;
      }
      out[outRow + xx] = clip8(s0);
      out[outRow + xx + 1] = clip8(s1);
      out[outRow + xx + 2] = clip8(s2);
    }
  }
  return { width, height, data: out };
}
