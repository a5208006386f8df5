/**
 * Detection, alignment and 478 landmarks on a real photo: astronaut.png
 * (Eileen Collins, NASA, public domain), fetched from Debian's
 * python3-skimage package by scripts/fetch-test-images.sh (npm's pretest).
 * Expected values were checked by hand on the image (pupils at about
 * (204, 100) and (246, 103); face box about [152, 49, 145, 145]).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import { applyAffine } from '../../src/pipeline/align.js';
import { extractFaces } from '../../src/pipeline/faces.js';
import { detectBoxes, detectFaces, toMediaPipeOrder } from '../../src/pipeline/human.js';
import { repoRoot } from '../helpers/cli.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const CAMERA = `${repoRoot}test/.cache/camera.png`;
let img: RgbImage;

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  img = await decodeImage(ASTRONAUT);
});

describe('detection and landmarks on astronaut.png', () => {
  it('finds one face with the hand-checked box and pupils', async () => {
    const faces = await detectFaces(img);
    expect(faces).toHaveLength(1);
    const [x, y, w, h] = faces[0]!.box;
    for (const [got, want] of [[x, 152], [y, 49], [w, 145], [h, 145]] as const) expect(Math.abs(got - want)).toBeLessThanOrEqual(12);
    const m = faces[0]!.mesh;
    // MediaPipe order: 468 = the subject's right iris (image left), 473 = left iris
    expect(Math.hypot(m[468 * 3]! - 204, m[468 * 3 + 1]! - 100)).toBeLessThanOrEqual(6);
    expect(Math.hypot(m[473 * 3]! - 246, m[473 * 3 + 1]! - 103)).toBeLessThanOrEqual(6);
  });

  it('the detector alone (stage 1) finds the same face, with BlazeFace\'s eye keypoints on the pupils', async () => {
    const before = tf.memory().numTensors;
    const boxes = await detectBoxes(img);
    expect(tf.memory().numTensors).toBe(before);
    expect(boxes).toHaveLength(1);
    const [x, y, w, h] = boxes[0]!.box;
    for (const [got, want] of [[x, 152], [y, 49], [w, 145], [h, 145]] as const) expect(Math.abs(got - want)).toBeLessThanOrEqual(12);
    expect(boxes[0]!.score).toBeGreaterThan(0.5);
    // the subject's right eye is on the image left, as MediaPipe's 468
    expect(Math.hypot(boxes[0]!.rightEye[0] - 204, boxes[0]!.rightEye[1] - 100)).toBeLessThanOrEqual(6);
    expect(Math.hypot(boxes[0]!.leftEye[0] - 246, boxes[0]!.leftEye[1] - 103)).toBeLessThanOrEqual(6);
    // and it leaves Human's mesh switched on for the next full detection
    const full = await detectFaces(img);
    expect(full[0]!.mesh.length).toBe(478 * 3);
  });

  it('where the mesh finds no face on the crop, the full-image mesh is mapped back (camera.png, a face turned away)', async () => {
    const cam = await decodeImage(CAMERA);
    const [f] = await extractFaces(cam, { size: 256, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } });
    expect(f).toBeDefined();
    expect(f!.landmarkSource).toBe('original');
    const lm = f!.landmarks!;
    expect(lm.length).toBe(478 * 3);
    // the mapped points are the full-image mesh's: back through toOriginal they land on it
    const [full] = await detectFaces(cam);
    let worst = 0;
    for (const i of [1, 33, 263, 468, 473]) {
      const [ox, oy] = applyAffine(f!.toOriginal, lm[i * 3]! * 256, lm[i * 3 + 1]! * 256);
      worst = Math.max(worst, Math.hypot(ox - full!.mesh[i * 3]!, oy - full!.mesh[i * 3 + 1]!));
    }
    expect(worst).toBeLessThan(1e-3);
  });

  it('aligned, letterboxed crop: 478 landmarks inside the image, eyes level, mapped back onto the pupils', async () => {
    const before = tf.memory().numTensors;
    const [f] = await extractFaces(img, { size: 256, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } });
    expect(f).toBeDefined();
    expect([f!.image.width, f!.image.height]).toEqual([256, 256]);
    expect(f!.landmarkSource).toBe('crop');
    const lm = f!.landmarks!;
    expect(lm.length).toBe(478 * 3);
    for (let i = 0; i < 478; i++) {
      expect(lm[i * 3]!).toBeGreaterThan(0);
      expect(lm[i * 3]!).toBeLessThan(1);
      expect(lm[i * 3 + 1]!).toBeGreaterThan(0);
      expect(lm[i * 3 + 1]!).toBeLessThan(1);
    }
    const iris = (k: number) => [lm[k * 3]! * 256, lm[k * 3 + 1]! * 256] as [number, number];
    const [r, l] = [iris(468), iris(473)];
    expect(r[0]).toBeLessThan(l[0]);
    expect(Math.abs(Math.atan2(l[1] - r[1], l[0] - r[0]))).toBeLessThan((3 * Math.PI) / 180); // level after alignment
    expect((f!.angle * 180) / Math.PI).toBeGreaterThan(1); // the photo's eye line is tilted ~4 degrees
    const back = applyAffine(f!.toOriginal, ...r);
    expect(Math.hypot(back[0] - 204, back[1] - 100)).toBeLessThanOrEqual(6);
    // landmarks lie inside the detector box (mapped back)
    let inside = 0;
    for (let i = 0; i < 478; i++) {
      const [ox, oy] = applyAffine(f!.toOriginal, lm[i * 3]! * 256, lm[i * 3 + 1]! * 256);
      const [bx, by, bw, bh] = f!.box;
      if (ox >= bx - 5 && ox <= bx + bw + 5 && oy >= by - 5 && oy <= by + bh + 5) inside++;
    }
    expect(inside).toBeGreaterThanOrEqual(470);
    // Human keeps its model weights; a second call must not add tensors
    const mid = tf.memory().numTensors;
    await extractFaces(img, { size: 256, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } });
    expect(tf.memory().numTensors).toBe(mid);
    expect(mid).toBeGreaterThanOrEqual(before);
  });

  it('a blank image has no face', async () => {
    const blank = { width: 128, height: 128, data: new Uint8Array(128 * 128 * 3).fill(40) };
    expect(await extractFaces(blank, { size: 128, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } })).toEqual([]);
  });

  it('iris groups are swapped into MediaPipe order', () => {
    const mesh = Array.from({ length: 478 }, (_, i) => [i, 0, 0]);
    const m = toMediaPipeOrder(mesh);
    expect([m[468 * 3], m[472 * 3], m[473 * 3], m[477 * 3], m[467 * 3]]).toEqual([473, 477, 468, 472, 467]);
    // the left iris's side points 474/476 come from Human's mirrored 471/469 (checked against MediaPipe in test/pipeline/mediapipe.test.ts)
    expect(Array.from({ length: 10 }, (_, k) => m[(468 + k) * 3])).toEqual([473, 474, 475, 476, 477, 468, 471, 470, 469, 472]);
  });
});
