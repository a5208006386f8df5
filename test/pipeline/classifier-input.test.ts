/**
 * The classifier input transform (torchvision's ConvNeXt_Base_Weights.transforms()
 * on PIL images) and the Pillow resampling filters under it, against the
 * torchvision/Pillow fixtures of test/fixtures/classifier-input/make_fixtures.py.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  centerCrop,
  centerCropGeometry,
  classifierBatch,
  classifierInput,
  resizeShorter,
  resizedSize,
} from '../../src/pipeline/classifier-input.js';
import { letterbox, resizeLanczosPil } from '../../src/pipeline/letterbox.js';
import { PIL_FILTERS, resizePil, type PilFilter } from '../../src/pipeline/resample.js';
import { fixtureDir, loadFixture } from '../helpers/fixtures.js';
import { expectNoLeak, maxAbsDiff } from '../helpers/tensors.js';

const DIR = fixtureDir + 'classifier-input/';

interface Case {
  name: string;
  width: number;
  height: number;
  formula: 'structured' | 'noise';
  resize: number;
  crop: number;
  resized: [number, number];
  pad_ltrb: [number, number, number, number];
  crop_left: number;
  crop_top: number;
  resized_sha256: string;
  resized_png?: string;
  resized_rows8_png?: string;
  sampled_stride?: number;
  sum?: number;
  sum_abs?: number;
  sha256_f32_chw?: string;
  flipped?: string;
}
interface ResampleCase {
  filter: PilFilter;
  width: number;
  height: number;
  out: [number, number];
  file: string;
}
const fixture = JSON.parse(readFileSync(DIR + 'cases.json', 'utf8')) as {
  mean: number[];
  std: number[];
  cases: Case[];
  resample: ResampleCase[];
};
const expected = loadFixture('classifier-input/expected.safetensors');

/** The input formula of make_fixtures.py (`pattern`), integer arithmetic. */
function pattern(w: number, h: number, kind: 'structured' | 'noise'): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (kind === 'structured') {
          const ramp =
            c === 0
              ? Math.floor((x * 255) / Math.max(w - 1, 1))
              : c === 1
                ? Math.floor((y * 255) / Math.max(h - 1, 1))
                : Math.floor(((x + y) * 255) / Math.max(w + h - 2, 1));
          const block = (Math.floor(x / 8) + Math.floor(y / 8)) % 2 === 1 ? 60 : 0;
          const noise = (x * x * 31 + y * 17 + x * y * 7 + c * 13) % 37;
          v = Math.floor((ramp * 3) / 5) + block + noise;
        } else {
          v = (x * 37 + y * 11 + c * 89 + ((x * y) % 7) * 40 + ((x * x + 3 * y * y) % 13)) % 256;
        }
        data[(y * w + x) * 3 + c] = v;
      }
    }
  }
  return { width: w, height: h, data };
}

const inputOf = (c: Case): RgbImage => pattern(c.width, c.height, c.formula);

/** torchvision's CHW -> our HWC. */
function chwToHwc(chw: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w * 3);
  for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y * w + x) * 3 + c] = chw[(c * h + y) * w + x]!;
  return out;
}

function tensorOf(name: string): Float32Array {
  const t = expected.get(name);
  if (!t) throw new Error(`fixture tensor ${name} missing`);
  return t.data;
}

const sha256 = (a: ArrayBufferView): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('resizePil: Pillow 12 Image.resize, every filter (make_fixtures.py resample/)', () => {
  it('matches Pillow bit for bit: BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS; down, up, one pass only', async () => {
    expect(fixture.resample.length).toBe(25);
    expect(new Set(fixture.resample.map((r) => r.filter))).toEqual(new Set(PIL_FILTERS));
    for (const r of fixture.resample) {
      const want = await decodeImage(DIR + r.file);
      const got = resizePil(pattern(r.width, r.height, 'noise'), r.out[0], r.out[1], r.filter);
      expect([got.width, got.height]).toEqual([want.width, want.height]);
      expect(sameBytes(got.data, want.data), r.file).toBe(true);
    }
  });

  it('LANCZOS unchanged: resizeLanczosPil is resizePil(lanczos), and letterbox still matches its PIL fixture', async () => {
    const cases = (JSON.parse(readFileSync(fixtureDir + 'pipeline/letterbox.json', 'utf8')) as {
      cases: { size: number; input: string; expected: string }[];
    }).cases;
    expect(cases.length).toBeGreaterThanOrEqual(3);
    for (const c of cases) {
      const input = await decodeImage(fixtureDir + 'pipeline/' + c.input);
      const want = await decodeImage(fixtureDir + 'pipeline/' + c.expected);
      expect(sameBytes((await letterbox(input, c.size)).image.data, want.data), c.input).toBe(true);
    }
    for (const [w, h, W, H] of [[40, 30, 17, 12], [7, 5, 19, 13], [31, 20, 31, 9], [31, 20, 12, 20], [100, 61, 33, 71]] as const) {
      const img = pattern(w, h, 'noise');
      expect(sameBytes(resizeLanczosPil(img, W, H).data, resizePil(img, W, H, 'lanczos').data)).toBe(true);
    }
  });

  it('keeps a flat image flat with every filter, and copies when the size does not change', () => {
    const flat = { width: 9, height: 7, data: new Uint8Array(9 * 7 * 3).fill(200) };
    for (const f of PIL_FILTERS) {
      for (const [W, H] of [[4, 3], [20, 15], [9, 2], [3, 7]] as const) {
        expect(resizePil(flat, W, H, f).data.every((v) => v === 200), `${f} ${W}x${H}`).toBe(true);
      }
      const same = resizePil(flat, 9, 7, f);
      expect(same.data).not.toBe(flat.data);
      expect(sameBytes(same.data, flat.data)).toBe(true);
    }
  });

  it('rejects unknown filters, bad sizes and malformed images with InputError', () => {
    const img = pattern(4, 4, 'noise');
    expect(() => resizePil(img, 2, 2, 'nearest' as never)).toThrow(InputError);
    expect(() => resizePil(img, 2, 2, 'toString' as never)).toThrow(InputError);
    expect(() => resizePil(img, 0, 2, 'bilinear')).toThrow(InputError);
    expect(() => resizePil(img, 2.5, 2, 'bilinear')).toThrow(InputError);
    expect(() => resizePil({ width: 4, height: 4, data: new Uint8Array(5) }, 2, 2, 'bilinear')).toThrow(InputError);
  });
});

describe('classifier input geometry (torchvision 0.28 F.resize / F.center_crop)', () => {
  it('the resized size of every fixture case, and known values', () => {
    for (const c of fixture.cases) {
      expect(resizedSize(c.width, c.height, c.resize), c.name).toEqual({ width: c.resized[0], height: c.resized[1] });
    }
    // int(232 * long / short), the shorter side exactly 232
    expect(resizedSize(640, 480, 232)).toEqual({ width: 309, height: 232 });
    expect(resizedSize(480, 640, 232)).toEqual({ width: 232, height: 309 });
    expect(resizedSize(512, 512, 232)).toEqual({ width: 232, height: 232 });
    expect(resizedSize(1, 1000, 232)).toEqual({ width: 232, height: 232000 });
    expect(resizedSize(3, 7, 232)).toEqual({ width: 232, height: 541 }); // 541.33
  });

  it('padding and crop offsets of every fixture case (round half to even)', () => {
    for (const c of fixture.cases) {
      const g = centerCropGeometry(c.resized[0], c.resized[1], c.crop);
      expect([g.padLeft, g.padTop, g.padRight, g.padBottom], c.name).toEqual(c.pad_ltrb);
      expect([g.left, g.top], c.name).toEqual([c.crop_left, c.crop_top]);
    }
    // Python round(): 0.5 -> 0, 1.5 -> 2, 4.5 -> 4, 5.5 -> 6
    expect([225, 227, 233, 235].map((n) => centerCropGeometry(n, 224, 224).left)).toEqual([0, 2, 4, 6]);
    // with 232/224 nothing is ever padded: the shorter side is always 232
    const g = centerCropGeometry(232, 350, 224);
    expect([g.padLeft, g.padTop, g.padRight, g.padBottom, g.left, g.top]).toEqual([0, 0, 0, 0, 4, 63]);
  });
});

describe('classifier input vs torchvision (make_fixtures.py)', () => {
  it('resizeShorter equals F.resize (PIL BILINEAR) bit for bit', async () => {
    for (const c of fixture.cases) {
      const img = inputOf(c);
      const got = resizeShorter(img, c.resize);
      expect([got.width, got.height], c.name).toEqual(c.resized);
      expect(sha256(got.data), c.name).toBe(c.resized_sha256);
      if (c.resized_png) {
        expect(sameBytes(got.data, (await decodeImage(DIR + c.resized_png)).data), c.name).toBe(true);
      } else {
        // the 512 case: every 8th row stored, for a readable failure
        const rows = await decodeImage(DIR + c.resized_rows8_png!);
        const stride = got.width * 3;
        for (let r = 0; r < rows.height; r++) {
          const mine = got.data.subarray(r * 8 * stride, (r * 8 + 1) * stride);
          expect(sameBytes(mine, rows.data.subarray(r * stride, (r + 1) * stride)), `${c.name} row ${r * 8}`).toBe(true);
        }
      }
      if (c.resized[0] === c.width && c.resized[1] === c.height) expect(got).toBe(img); // F.resize returns the image itself
    }
  });

  it('classifierInput equals ImageClassification(...)(img) within 1e-6 (in fact bit for bit)', () => {
    const rows: string[] = [];
    for (const c of fixture.cases) {
      const got = classifierInput(inputOf(c), { resize: c.resize, crop: c.crop });
      expect(got.length).toBe(c.crop * c.crop * 3);
      if (c.sampled_stride) {
        // s512, the paper's 232/224: strided sample, sums and the sha256 of the whole CHW crop
        const s = c.sampled_stride;
        const n = Math.ceil(c.crop / s);
        const want = chwToHwc(tensorOf(`${c.name}.sampled`), n, n);
        const mine = new Float32Array(n * n * 3);
        for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let ch = 0; ch < 3; ch++) mine[(y * n + x) * 3 + ch] = got[((y * s) * c.crop + x * s) * 3 + ch]!;
        const d = maxAbsDiff(mine, want);
        expect(d, c.name).toBeLessThanOrEqual(1e-6);
        let sum = 0;
        let sumAbs = 0;
        for (const v of got) {
          sum += v;
          sumAbs += Math.abs(v);
        }
        expect(Math.abs(sum - c.sum!), c.name).toBeLessThan(1e-6 * got.length);
        expect(Math.abs(sumAbs - c.sum_abs!), c.name).toBeLessThan(1e-6 * got.length);
        const chw = new Float32Array(got.length);
        const hw = c.crop * c.crop;
        for (let i = 0; i < hw; i++) for (let ch = 0; ch < 3; ch++) chw[ch * hw + i] = got[i * 3 + ch]!;
        expect(sha256(chw), c.name).toBe(c.sha256_f32_chw);
        rows.push(`${c.name}: max |diff| ${d} on the sample, sha256 equal`);
      } else {
        const want = chwToHwc(tensorOf(c.name), c.crop, c.crop);
        const d = maxAbsDiff(got, want);
        expect(d, c.name).toBeLessThanOrEqual(1e-6);
        expect(sameBytes(new Uint8Array(got.buffer), new Uint8Array(want.buffer)), c.name).toBe(true);
        rows.push(`${c.name}: max |diff| ${d}`);
      }
    }
    console.log('classifierInput vs torchvision:\n  ' + rows.join('\n  '));
  });

  it('crop and normalisation from the resized image (the steps one by one)', async () => {
    for (const c of fixture.cases.filter((k) => k.resized_png)) {
      const resized = await decodeImage(DIR + c.resized_png!);
      const cropped = centerCrop(resized, c.crop);
      const want = chwToHwc(tensorOf(c.name), c.crop, c.crop);
      // u = (x * std + mean) * 255 is the uint8 the crop holds
      for (let i = 0; i < want.length; i++) {
        const ch = i % 3;
        const u = Math.round((want[i]! * IMAGENET_STD[ch]! + IMAGENET_MEAN[ch]!) * 255);
        if (cropped.data[i] !== u) throw new Error(`${c.name}: crop byte ${i} is ${cropped.data[i]}, torchvision's ${u}`);
      }
    }
    // padding is black: 17x13 case, 14x11 resized, padded 1/1 left/right, 2/3 top/bottom
    const c = fixture.cases.find((k) => k.name === 'w17h13p')!;
    const cropped = centerCrop(resizeShorter(inputOf(c), c.resize), c.crop);
    const px = (x: number, y: number): number[] => Array.from(cropped.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    expect([px(0, 5), px(15, 5), px(5, 0), px(5, 1), px(5, 13), px(5, 15)]).toEqual(Array(6).fill([0, 0, 0]));
    expect(px(1, 2)).not.toEqual([0, 0, 0]);
  });

  it('flip: torchvision hflip of the normalised crop (RandomHorizontalFlip(p=1) fixture)', () => {
    const c = fixture.cases.find((k) => k.flipped)!;
    const flipped = classifierInput(inputOf(c), { resize: c.resize, crop: c.crop, flip: true });
    const want = chwToHwc(tensorOf(c.flipped!), c.crop, c.crop);
    expect(maxAbsDiff(flipped, want)).toBeLessThanOrEqual(1e-6);
    // = the columns of the unflipped result mirrored
    const plain = classifierInput(inputOf(c), { resize: c.resize, crop: c.crop });
    const n = c.crop;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        for (let ch = 0; ch < 3; ch++) expect(flipped[(y * n + x) * 3 + ch]).toBe(plain[(y * n + (n - 1 - x)) * 3 + ch]);
      }
    }
    expect(maxAbsDiff(flipped, plain)).toBeGreaterThan(0.1);
  });

  it('defaults are the paper transform: 232/224, ImageNet mean/std', () => {
    const c = fixture.cases.find((k) => k.name === 's512')!;
    expect(fixture.mean).toEqual([...IMAGENET_MEAN]);
    expect(fixture.std).toEqual([...IMAGENET_STD]);
    const img = inputOf(c);
    const dflt = classifierInput(img);
    expect(dflt.length).toBe(224 * 224 * 3);
    expect(sameBytes(new Uint8Array(dflt.buffer), new Uint8Array(classifierInput(img, { resize: 232, crop: 224, mean: IMAGENET_MEAN, std: IMAGENET_STD }).buffer))).toBe(true);
    // other mean/std are used as given
    const half = classifierInput(pattern(40, 40, 'noise'), { resize: 8, crop: 8, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const px = resizeShorter(pattern(40, 40, 'noise'), 8).data;
    for (let i = 0; i < half.length; i++) expect(half[i]).toBe(Math.fround(Math.fround(Math.fround(px[i]! / 255) - 0.5) / 0.5));
  });

  it('rejects bad options and images with InputError', () => {
    const img = pattern(10, 10, 'noise');
    expect(() => classifierInput(img, { resize: 0 })).toThrow(InputError);
    expect(() => classifierInput(img, { crop: 2.5 })).toThrow(InputError);
    expect(() => classifierInput(img, { mean: [0.5, 0.5] })).toThrow(InputError);
    expect(() => classifierInput(img, { std: [0.2, 0, 0.2] })).toThrow(InputError);
    expect(() => classifierInput({ width: 0, height: 3, data: new Uint8Array(0) })).toThrow(InputError);
    expect(() => classifierBatch([])).toThrow(InputError);
    expect(() => classifierBatch([img, img], { resize: 8, crop: 8, flip: [true] })).toThrow(InputError);
  });
});

describe('classifierBatch', () => {
  const small = fixture.cases.filter((c) => c.resize === 40 && c.crop === 32);

  it('is the singles stacked (NHWC), with per-image flips', async () => {
    const imgs = small.map(inputOf);
    const flips = imgs.map((_, i) => i % 2 === 1);
    const t = classifierBatch(imgs, { resize: 40, crop: 32, flip: flips });
    try {
      expect(t.shape).toEqual([imgs.length, 32, 32, 3]);
      expect(t.dtype).toBe('float32');
      const data = await t.data();
      const per = 32 * 32 * 3;
      imgs.forEach((img, i) => {
        const single = classifierInput(img, { resize: 40, crop: 32, flip: flips[i] });
        expect(sameBytes(new Uint8Array(data.buffer, data.byteOffset + i * per * 4, per * 4), new Uint8Array(single.buffer)), small[i]!.name).toBe(true);
      });
    } finally {
      t.dispose();
    }
    const all = classifierBatch(imgs.slice(0, 2), { resize: 40, crop: 32, flip: true });
    try {
      const d = await all.data();
      expect(Array.from(d.subarray(0, 32 * 32 * 3))).toEqual(Array.from(classifierInput(imgs[0]!, { resize: 40, crop: 32, flip: true })));
    } finally {
      all.dispose();
    }
  });

  it('leaves exactly one tensor (the result) and nothing after dispose', async () => {
    const imgs = small.slice(0, 3).map(inputOf);
    await expectNoLeak(async () => {
      const before = tf.memory().numTensors;
      const t = classifierBatch(imgs, { resize: 40, crop: 32 });
      expect(tf.memory().numTensors).toBe(before + 1);
      t.dispose();
    });
    // a rejected batch creates nothing
    await expectNoLeak(() => {
      expect(() => classifierBatch(imgs, { resize: 40, crop: 32, flip: [true] })).toThrow(InputError);
    });
  });
});
