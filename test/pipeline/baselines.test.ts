import { describe, expect, it } from 'vitest';
import { blur, gaussianKernel, mask, pixelate } from '../../src/pipeline/baselines.js';

const grey = (w: number, h: number, f: (x: number, y: number) => number) => {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(f(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
};
const channel0 = (img: { width: number; height: number; data: Uint8Array }) =>
  Array.from({ length: img.height }, (_, y) => Array.from({ length: img.width }, (_, x) => img.data[(y * img.width + x) * 3]!));

describe('baselines', () => {
  it('pixelate: 4x4 into 2x2 blocks of means (by hand)', () => {
    const img = grey(4, 4, (x, y) => x + 4 * y); // 0..15
    // block means: [0,1,4,5] -> 2.5 -> 3 (round half up); [2,3,6,7] -> 4.5 -> 5; [8,9,12,13] -> 10.5 -> 11; [10,11,14,15] -> 12.5 -> 13
    expect(channel0(pixelate(img, 2))).toEqual([[3, 3, 5, 5], [3, 3, 5, 5], [11, 11, 13, 13], [11, 11, 13, 13]]);
    expect(channel0(pixelate(img, 4))).toEqual(channel0(img)); // one pixel per block
  });

  it('pixelate: uneven blocks use floor(i*W/N) edges', () => {
    const img = grey(5, 1, (x) => x * 10); // 0 10 20 30 40
    // N=2: edges 0,2,5 -> [0,10] mean 5, [20,30,40] mean 30
    expect(channel0(pixelate(img, 2))).toEqual([[5, 5, 30, 30, 30]]);
  });

  it("Gaussian kernel follows OpenCV: fixed tables up to 7, the sigma rule above", () => {
    expect(Array.from(gaussianKernel(3))).toEqual([0.25, 0.5, 0.25]);
    const k9 = gaussianKernel(9); // sigma = 0.3 * 3 + 0.8 = 1.7
    const raw = [-4, -3, -2, -1, 0, 1, 2, 3, 4].map((i) => Math.exp(-(i * i) / (2 * 1.7 * 1.7)));
    const sum = raw.reduce((a, b) => a + b, 0);
    raw.forEach((v, i) => expect(k9[i]).toBeCloseTo(v / sum, 15));
  });

  it('blur 3x3 on a single bright pixel gives the outer product of [1/4, 1/2, 1/4] (by hand)', () => {
    const img = grey(5, 5, (x, y) => (x === 2 && y === 2 ? 160 : 0));
    const b = channel0(blur(img, 3));
    // 160 * [0.25, 0.5, 0.25]^T [0.25, 0.5, 0.25]: 10 20 10 / 20 40 20 / 10 20 10
    expect(b.slice(1, 4).map((r) => r.slice(1, 4))).toEqual([[10, 20, 10], [20, 40, 20], [10, 20, 10]]);
    expect(b[0]).toEqual([0, 0, 0, 0, 0]);
  });

  it('blur uses BORDER_REFLECT_101 and a box option', () => {
    const img = grey(3, 1, (x) => [30, 0, 0][x]!);
    // box 3, row [30, 0, 0]: left neighbour of x=0 reflects to x=1 (0): (0 + 30 + 0)/3 = 10; x=1: (30+0+0)/3 = 10; x=2: right of x=2 reflects to x=1: (0+0+0)/3 = 0
    // vertical pass on a 1-row image reflects to itself
    expect(channel0(blur(img, 3, 'box'))).toEqual([[10, 10, 0]]);
    expect(() => blur(img, 4)).toThrow(/odd positive kernel size/);
  });

  it('mask is black and the same size', () => {
    const m = mask(grey(3, 2, () => 200));
    expect([m.width, m.height, Math.max(...m.data)]).toEqual([3, 2, 0]);
  });
});
