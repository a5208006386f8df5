/**
 * Stage 4, segmentation, on the aligned 256 x 256 crop of astronaut.png
 * (fetched by scripts/fetch-test-images.sh; npm's pretest runs it).
 *
 * Coverage band, measured on the wasm backend: the selfie person mask alone
 * keeps 0.80 of this tight crop (face, hair, neck, collar; the wall to the
 * left of the cheek and the black rotation corners are dropped); intersected
 * with the head envelope it keeps 0.68 (neck and collar go). The unstretched
 * face-mesh hull covers 0.41 of the crop (the envelope 0.76). So the result must lie above
 * the bare mesh hull (the forehead and hair are kept) and clearly below the
 * person mask (the neck is cut): the test asserts [0.55, 0.78] and both
 * orderings.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import { extractFaces, type FaceRecord } from '../../src/pipeline/faces.js';
import { convexHull, fillConvex, loadSegmenter, segmentFace } from '../../src/pipeline/segment.js';
import { repoRoot } from '../helpers/cli.js';
import { expectNoLeak } from '../helpers/tensors.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const S = 256;
let face: FaceRecord;

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  const img = await decodeImage(ASTRONAUT);
  const faces = await extractFaces(img, { size: S, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } });
  expect(faces).toHaveLength(1);
  face = faces[0]!;
  expect(face.landmarks).not.toBeNull();
  await loadSegmenter();
});

const pixel = (lm: Float32Array, k: number): number => {
  const x = Math.min(Math.floor(lm[k * 3]! * S), S - 1);
  const y = Math.min(Math.floor(lm[k * 3 + 1]! * S), S - 1);
  return y * S + x;
};

describe('segmentFace on astronaut.png', () => {
  it('keeps the face centre and eyes, drops the corners, coverage in the measured band', async () => {
    const lm = face.landmarks!;
    const r = await segmentFace(face.image, lm);
    expect(r.mask.length).toBe(S * S);
    expect([r.image.width, r.image.height]).toEqual([S, S]);
    // nose tip (1), both pupils (468, 473), inner/outer eye corners (33, 133, 362, 263)
    for (const k of [1, 468, 473, 33, 133, 362, 263]) expect(r.mask[pixel(lm, k)], `landmark ${k}`).toBe(1);
    for (const i of [0, S - 1, S * (S - 1), S * S - 1]) expect(r.mask[i], `corner ${i}`).toBe(0);
    let ones = 0;
    for (const v of r.mask) { expect(v === 0 || v === 1).toBe(true); ones += v; }
    expect(r.coverage).toBeCloseTo(ones / (S * S), 12);
    expect(r.coverage).toBeGreaterThan(0.55);
    expect(r.coverage).toBeLessThan(0.78);

    const personOnly = await segmentFace(face.image, lm, { useHull: false });
    const meshPts: [number, number][] = [];
    for (let i = 0; i < 468; i++) meshPts.push([lm[i * 3]! * S, lm[i * 3 + 1]! * S]);
    const meshHull = fillConvex(convexHull(meshPts), S, S).reduce((a, v) => a + v, 0) / (S * S);
    expect(r.coverage).toBeGreaterThan(meshHull);
    expect(r.coverage).toBeLessThan(personOnly.coverage - 0.05);
    // the intersection is a subset of the person mask
    for (let i = 0; i < S * S; i++) if (r.mask[i] === 1) expect(personOnly.mask[i]).toBe(1);
    // below the chin (the neck) is cut even though the person model keeps it
    const chinX = Math.floor(lm[152 * 3]! * S);
    const neckY = Math.min(S - 1, Math.floor(lm[152 * 3 + 1]! * S) + 20);
    expect(personOnly.mask[neckY * S + chinX]).toBe(1);
    expect(r.mask[neckY * S + chinX]).toBe(0);
  });

  it('zeroes exactly the pixels outside the mask and leaves the rest unchanged', async () => {
    const r = await segmentFace(face.image, face.landmarks);
    for (let i = 0; i < S * S; i++) {
      for (let c = 0; c < 3; c++) {
        const got = r.image.data[i * 3 + c]!;
        if (r.mask[i] === 1) { if (got !== face.image.data[i * 3 + c]) expect.fail(`pixel ${i} changed inside the mask`); }
        else if (got !== 0) expect.fail(`pixel ${i} not zero outside the mask`);
      }
    }
    // the input is not modified
    expect(r.image.data).not.toBe(face.image.data);
  });

  it('is deterministic', async () => {
    const a = await segmentFace(face.image, face.landmarks);
    const b = await segmentFace(face.image, face.landmarks);
    expect(Buffer.from(a.mask).equals(Buffer.from(b.mask))).toBe(true);
    expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
  });

  it('a threshold near 1 keeps less than the default, a threshold near 0 keeps more', async () => {
    const lo = await segmentFace(face.image, face.landmarks, { threshold: 0.05 });
    const mid = await segmentFace(face.image, face.landmarks);
    const hi = await segmentFace(face.image, face.landmarks, { threshold: 0.99 });
    expect(lo.coverage).toBeGreaterThanOrEqual(mid.coverage);
    expect(hi.coverage).toBeLessThanOrEqual(mid.coverage);
  });

  it('leaks no tensor over 3 calls', async () => {
    await expectNoLeak(async () => {
      for (let k = 0; k < 3; k++) await segmentFace(face.image, face.landmarks);
    });
  });
});

describe('segmentFace on degenerate input', () => {
  it('an all-black image gives an empty mask and an all-black image, with or without landmarks', async () => {
    const black: RgbImage = { width: S, height: S, data: new Uint8Array(S * S * 3) };
    for (const lm of [null, face.landmarks]) {
      const r = await segmentFace(black, lm);
      expect(r.coverage).toBeLessThan(0.01);
      expect(r.image.data.every((v) => v === 0)).toBe(true);
    }
  });

  it('handles a non-square image', async () => {
    const img: RgbImage = { width: 40, height: 24, data: new Uint8Array(40 * 24 * 3).fill(128) };
    const r = await segmentFace(img, null);
    expect(r.mask.length).toBe(40 * 24);
    expect(r.image.data.length).toBe(40 * 24 * 3);
  });
});

describe('fillConvex', () => {
  it('fills pixels whose centres lie inside', () => {
    const m = fillConvex([[1, 1], [4, 1], [4, 3], [1, 3]], 6, 5);
    const rows = [];
    for (let y = 0; y < 5; y++) rows.push(Array.from(m.subarray(y * 6, y * 6 + 6)).join(''));
    expect(rows).toEqual(['000000', '011100', '011100', '000000', '000000']);
  });
});
