import { describe, expect, it } from 'vitest';
import { alignCrop, applyAffine, eyeAngle, expandBox, invertAffine } from '../../src/pipeline/align.js';
import { compose } from '../../src/pipeline/faces.js';

/** A w x h image whose pixel (x, y) stores x in red and y in green (+1 so 0 means "black fill"). */
function coordImage(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x + 1, y + 1, 9], (y * w + x) * 3);
  return { width: w, height: h, data };
}

describe('alignment', () => {
  it('eye angle is measured from the image-left eye, y down', () => {
    expect(eyeAngle([10, 10], [20, 10])).toBe(0);
    expect(eyeAngle([20, 20], [10, 10])).toBeCloseTo(Math.PI / 4, 12); // order does not matter
    expect(eyeAngle([10, 10], [20, 0])).toBeCloseTo(-Math.PI / 4, 12);
  });

  it('angle 0 is a plain crop; outside the image is black', () => {
    const img = coordImage(20, 10);
    const c = alignCrop(img, [15, 5, 10, 10], 0);
    expect([c.image.width, c.image.height]).toEqual([10, 10]);
    expect(Array.from(c.image.data.subarray(0, 3))).toEqual([16, 6, 9]); // pixel (15, 5)
    const o = (9 * 10 + 9) * 3; // crop (9, 9) = original (24, 14): outside
    expect(Array.from(c.image.data.subarray(o, o + 3))).toEqual([0, 0, 0]);
  });

  it('rotating by 90 degrees maps the crop centre row to the centre column (nearest, about the centre)', () => {
    const img = coordImage(8, 8);
    const c = alignCrop(img, [0, 0, 8, 8], Math.PI / 2);
    // output (x, y) samples input at centre + R(90)(p - centre): (x, y) -> (8 - y - 1, x) in pixels
    for (const [x, y] of [[0, 0], [3, 5], [7, 2]] as const) {
      const o = (y * 8 + x) * 3;
      expect([c.image.data[o]! - 1, c.image.data[o + 1]! - 1]).toEqual([7 - y, x]);
    }
  });

  it('toOriginal maps crop points to the original and inverts exactly', () => {
    const img = coordImage(40, 40);
    const c = alignCrop(img, [5, 7, 20, 16], 0.3);
    // the crop centre maps to the box centre
    const [cx, cy] = applyAffine(c.toOriginal, 10, 8);
    expect(cx).toBeCloseTo(15, 10);
    expect(cy).toBeCloseTo(15, 10);
    const inv = invertAffine(c.toOriginal);
    const [x, y] = applyAffine(inv, ...applyAffine(c.toOriginal, 3.25, 11.5));
    expect(x).toBeCloseTo(3.25, 10);
    expect(y).toBeCloseTo(11.5, 10);
    const id = compose(inv, c.toOriginal);
    expect([id.a, id.b, id.c, id.d, id.tx, id.ty].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 0, 0, 1, 0, 0]);
  });

  it('expandBox grows each side by margin/2 and rounds outward', () => {
    expect(expandBox([10, 10, 20, 10], 0)).toEqual([10, 10, 20, 10]);
    // x: 10 - 5 = 5 .. 30 + 5 = 35; y: floor(10 - 2.5) = 7 .. ceil(20 + 2.5) = 23
    expect(expandBox([10, 10, 20, 10], 0.5)).toEqual([5, 7, 30, 16]);
  });
});
