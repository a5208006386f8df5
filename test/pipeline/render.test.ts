/**
 * The landmark renderer against MediaPipe's draw_landmarks as the reference
 * called it, drawn with OpenCV by test/fixtures/pipeline/make_render_fixture.py.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import { LANDMARK_VALUE, renderLandmarks } from '../../src/pipeline/render.js';
import { fixtureDir } from '../helpers/fixtures.js';

interface RenderFixture {
  sizes: number[];
  points: [number, number, number][];
  notes: string[];
  /** per size: the pixel each point lands on, null where mediapipe drops it. */
  pixel: Record<string, ([number, number] | null)[]>;
}

const fixture = JSON.parse(readFileSync(fixtureDir + 'pipeline/render_points.json', 'utf8')) as RenderFixture;
const flat = (pts: readonly (readonly number[])[]) => pts.flatMap((p) => [p[0]!, p[1]!, p[2]!]);

/** Lit pixels as "x,y" strings; checks every channel is 0 or 224 and the three agree. */
function litPixels(img: RgbImage): Set<string> {
  const lit = new Set<string>();
  let clean = true;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 3;
      const [r, g, b] = [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
      clean &&= r === g && g === b && (r === 0 || r === LANDMARK_VALUE);
      if (r) lit.add(`${x},${y}`);
    }
  }
  expect(clean, 'every pixel is (0,0,0) or (224,224,224)').toBe(true);
  return lit;
}

function plusAt(x: number, y: number, size: number): Set<string> {
  const s = new Set<string>();
  for (const [dx, dy] of [[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]] as const) {
    const px = x + dx;
    const py = y + dy;
    if (px >= 0 && py >= 0 && px < size && py < size) s.add(`${px},${py}`);
  }
  return s;
}

describe('renderLandmarks vs the OpenCV golden image', () => {
  it('covers at least 40 points, some dropped', () => {
    expect(fixture.points.length).toBeGreaterThanOrEqual(40);
    expect(fixture.pixel['64']!.filter((p) => p === null).length).toBeGreaterThanOrEqual(5);
  });

  for (const size of fixture.sizes) {
    it(`matches render_${size}.png pixel for pixel`, async () => {
      const golden = await decodeImage(fixtureDir + `pipeline/render_${size}.png`);
      expect([golden.width, golden.height]).toEqual([size, size]);
      const fromNumbers = renderLandmarks(flat(fixture.points), size);
      expect(fromNumbers.width).toBe(size);
      expect(fromNumbers.height).toBe(size);
      expect(Buffer.from(fromNumbers.data).equals(Buffer.from(golden.data))).toBe(true);
      // The manifest stores landmarks as float32; the fixture values are float32, so the same image.
      const fromF32 = renderLandmarks(Float32Array.from(flat(fixture.points)), size);
      expect(Buffer.from(fromF32.data).equals(Buffer.from(golden.data))).toBe(true);
    });

    it(`puts each point where mediapipe does at ${size} (one point at a time)`, () => {
      const expected = fixture.pixel[String(size)]!;
      fixture.points.forEach((p, i) => {
        const lit = litPixels(renderLandmarks(p, size));
        const px = expected[i];
        if (px === null || px === undefined) expect(lit.size, fixture.notes[i]).toBe(0);
        else expect([...lit].sort(), fixture.notes[i]).toEqual([...plusAt(px[0], px[1], size)].sort());
      });
    });
  }
});

describe('renderLandmarks semantics', () => {
  it('a single interior point is exactly the 5-pixel "+" of value 224', () => {
    const img = renderLandmarks([0.5, 0.5, 0], 9); // floor(4.5) = 4
    expect([...litPixels(img)].sort()).toEqual(['3,4', '4,3', '4,4', '4,5', '5,4']);
    for (const key of ['3,4', '4,3', '4,4', '4,5', '5,4']) {
      const [x, y] = key.split(',').map(Number) as [number, number];
      const o = (y * 9 + x) * 3;
      expect([...img.data.subarray(o, o + 3)]).toEqual([224, 224, 224]);
    }
    expect(img.data.reduce((a, v) => a + (v ? 1 : 0), 0)).toBe(15);
  });

  it('ignores z', () => {
    const pts = fixture.points.map(([x, y]) => [x, y, 0] as const);
    const base = renderLandmarks(flat(pts), 64);
    for (const z of [-1e6, -1, 0.37, 5, Number.NaN]) {
      const moved = renderLandmarks(flat(pts.map(([x, y]) => [x, y, z])), 64);
      expect(Buffer.from(moved.data).equals(Buffer.from(base.data))).toBe(true);
    }
  });

  it('drops points outside [0, 1] (and NaN) but keeps 0, -0 and 1', () => {
    const outside = [
      [-1e-3, 0.5], [0.5, -1e-3], [1.001, 0.5], [0.5, 1.001],
      [Math.fround(1 + 2 ** -23), 0.5], [0.5, -(2 ** -149)], [-5, 7], [Number.NaN, 0.5], [0.5, Number.NaN],
      [Number.POSITIVE_INFINITY, 0.5],
    ];
    for (const [x, y] of outside) {
      expect(renderLandmarks([x!, y!, 0], 16).data.every((v) => v === 0), `${x}, ${y}`).toBe(true);
    }
    expect(litPixels(renderLandmarks([-0, 0, 0], 16))).toEqual(new Set(['0,0', '1,0', '0,1']));
  });

  it('points exactly at 1.0 land on S-1', () => {
    for (const size of [64, 37, 1, 2]) {
      const lit = litPixels(renderLandmarks([1, 1, 0], size));
      expect(lit.has(`${size - 1},${size - 1}`)).toBe(true);
      expect(lit).toEqual(plusAt(size - 1, size - 1, size));
      expect(litPixels(renderLandmarks([1, 0.5, 0], size)).has(`${size - 1},${Math.floor(size / 2)}`)).toBe(true);
      expect(litPixels(renderLandmarks([0.5, 1, 0], size)).has(`${Math.floor(size / 2)},${size - 1}`)).toBe(true);
    }
  });

  it('renders nothing for no points, and a full 478-point set on a black S x S x 3 canvas', () => {
    expect(renderLandmarks([], 8).data.every((v) => v === 0)).toBe(true);
    const img = renderLandmarks(new Float32Array(478 * 3).fill(0.25), 512);
    expect(img.data.length).toBe(512 * 512 * 3);
    expect(litPixels(img)).toEqual(plusAt(128, 128, 512));
  });
});
