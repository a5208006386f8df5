/** Frame mode: the inverse transform puts things back where they were, and the CLI keeps size, name and format. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import { applyAffine } from '../../src/pipeline/align.js';
import { extractFaces, type FaceRecord } from '../../src/pipeline/faces.js';
import { convexHull, pasteBack, signedDistance } from '../../src/pipeline/frame.js';
import { ganon, repoRoot } from '../helpers/cli.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
let img: RgbImage;
let face: FaceRecord;

beforeAll(async () => {
  img = await decodeImage(ASTRONAUT);
  [face] = (await extractFaces(img, { size: 256, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } })) as [FaceRecord];
});

describe('frame mode', () => {
  it('a marker drawn in the S x S face lands at toOriginal(marker) in the frame, within 1 px', async () => {
    const S = 256;
    for (const lmIndex of [1, 33, 263, 152]) { // nose tip, eye corners, chin
      const qx = Math.floor(face.landmarks![lmIndex * 3]! * S) + 0.5;
      const qy = Math.floor(face.landmarks![lmIndex * 3 + 1]! * S) + 0.5;
      const marker: RgbImage = { width: S, height: S, data: new Uint8Array(S * S * 3) };
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) marker.data.fill(255, ((qy - 0.5 + dy) * S + (qx - 0.5 + dx)) * 3, ((qy - 0.5 + dy) * S + (qx - 0.5 + dx)) * 3 + 3);
      const frame: RgbImage = { width: img.width, height: img.height, data: new Uint8Array(img.data.length) };
      pasteBack(frame, marker, face.landmarks!, face.toOriginal, { grow: 0.05, feather: 0.001 });
      let sx = 0, sy = 0, sw = 0;
      for (let y = 0; y < frame.height; y++) for (let x = 0; x < frame.width; x++) {
        const v = frame.data[(y * frame.width + x) * 3]!;
        sx += v * (x + 0.5); sy += v * (y + 0.5); sw += v;
      }
      const [ex, ey] = applyAffine(face.toOriginal, qx, qy);
      expect(sw).toBeGreaterThan(0);
      expect(Math.hypot(sx / sw - ex, sy / sw - ey), `landmark ${lmIndex}`).toBeLessThanOrEqual(1);
    }
  });

  it('pasting the face crop itself back changes the photo only slightly (resampling), and only near the face', async () => {
    const frame: RgbImage = { width: img.width, height: img.height, data: Uint8Array.from(img.data) };
    const changed = pasteBack(frame, face.image, face.landmarks!, face.toOriginal);
    expect(changed).toBeGreaterThan(5000);
    let diff = 0;
    for (let i = 0; i < frame.data.length; i++) diff += Math.abs(frame.data[i]! - img.data[i]!);
    expect(diff / changed / 3).toBeLessThan(12); // mean abs error per changed channel: resampling only
    expect(frame.data.subarray(0, 3 * 512 * 20)).toEqual(img.data.subarray(0, 3 * 512 * 20)); // the top rows are untouched
  });

  it('convex hull and signed distance', async () => {
    const hull = convexHull([[0, 0], [4, 0], [4, 4], [0, 4], [2, 2], [1, 3]]);
    expect(hull).toHaveLength(4);
    expect(signedDistance(hull, [2, 2])).toBeCloseTo(2, 12);
    expect(signedDistance(hull, [6, 2])).toBeCloseTo(-2, 12);
  });

  it('CLI --mode frame: same size, name and format; no metadata', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ganon-frame-'));
    const jpg = join(out, 'in.jpg');
    await sharp(ASTRONAUT).jpeg().withMetadata({ orientation: 1 }).toFile(jpg);
    const r = await ganon(['anonymize', jpg, '--out', join(out, 'o'), '--mode', 'frame', '--method', 'blur:17']);
    expect(r.code, r.stderr).toBe(0);
    const meta = await sharp(join(out, 'o', 'in.jpg')).metadata();
    expect([meta.format, meta.width, meta.height, meta.exif, meta.orientation]).toEqual(['jpeg', 512, 512, undefined, undefined]);
  });
});
