/**
 * The attributes task end to end: a preprocessed-CelebA-style manifest (40
 * attribute columns; two of them vary with the picture: a green square present
 * -> Eyeglasses, a blue stripe present -> Wearing_Hat), a micro multi-label
 * ConvNeXt trained with the reference's weighted BCE learns both to >= 90%
 * per-label accuracy on the val split.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveClassifierConfig } from '../../src/config/classifier.js';
import { loadClassifier } from '../../src/eval/classifier-model.js';
import { decodeImage, writePng } from '../../src/io/images.js';
import { writeManifest, type ManifestRow } from '../../src/io/manifest.js';
import { CELEBA_ATTRIBUTES } from '../../src/pipeline/datasets/celeba.js';
import { openClassifierData } from '../../src/train/classifier-data.js';
import { trainClassifier } from '../../src/train/classifier.js';
import { Rng } from '../../src/util/rng.js';
import { shapeImage } from '../helpers/shapes.js';

async function writeCelebaLike(root: string, n: { train: number; val: number }) {
  mkdirSync(join(root, 'faces'), { recursive: true });
  const rng = new Rng(11);
  const rows: ManifestRow[] = [];
  const truth = new Map<string, [number, number]>();
  for (const split of ['train', 'val'] as const) {
    for (let i = 0; i < n[split]; i++) {
      const square = rng.uniform() < 0.5;
      const stripe = rng.uniform() < 0.5;
      const id = `${split}-${i}`;
      await writePng(join(root, 'faces', `${id}.png`), shapeImage(rng, 40, { square, stripe }));
      const attributes: Record<string, number> = {};
      CELEBA_ATTRIBUTES.forEach((a, j) => (attributes[a] = j % 3 === 0 ? 1 : -1));
      attributes.Eyeglasses = square ? 1 : -1;
      attributes.Wearing_Hat = stripe ? 1 : -1;
      truth.set(id, [square ? 1 : 0, stripe ? 1 : 0]);
      rows.push({ id, source: `${id}.jpg`, split, labels: JSON.stringify({ attributes }), faceIndex: 0, box: [0, 0, 40, 40], angle: 0, score: 1, status: 'ok', message: '', landmarks: null });
    }
  }
  rows.push({ id: 'noface', source: 'x.jpg', split: 'train', labels: '{}', faceIndex: 0, box: null, angle: 0, score: 0, status: 'no_face', message: 'no face', landmarks: null });
  await writeManifest(join(root, 'manifest.arrow'), rows);
  return truth;
}

describe('multi-label classifier (attributes task)', () => {
  it('reads 40 targets in the file order (-1/1 -> 0/1) and skips no-face rows', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-ml-read-'));
    await writeCelebaLike(root, { train: 3, val: 1 });
    const d = openClassifierData(root, { task: 'attributes' });
    expect(d.classes).toEqual(CELEBA_ATTRIBUTES);
    expect(d.items).toHaveLength(4);
    expect(d.skipped).toEqual([{ id: 'noface', reason: 'no_face' }]);
    const t = d.items[0]!.label as Uint8Array;
    expect(t).toHaveLength(40);
    expect(t[0]).toBe(1);
    expect(t[1]).toBe(0);
  });

  it('a micro ConvNeXt learns square -> Eyeglasses and stripe -> Wearing_Hat to >= 90% each', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-ml-'));
    const truth = await writeCelebaLike(root, { train: 160, val: 48 });
    const out = mkdtempSync(join(tmpdir(), 'ganon-ml-run-'));
    const config = resolveClassifierConfig({ task: 'attributes', arch: 'convnext_micro', input: { resize: 36, crop: 32, flip: true }, train: { batchSize: 16, maxEpochs: 24, lr: 3e-3, earlyStopping: 8 } });
    await trainClassifier({ config, dataDir: root, outDir: out, resume: false, backend: tf.getBackend(), out: null });
    const model = await loadClassifier(out);
    expect(model.kind).toBe('multilabel');
    const eg = CELEBA_ATTRIBUTES.indexOf('Eyeglasses');
    const hat = CELEBA_ATTRIBUTES.indexOf('Wearing_Hat');
    const ids = [...truth.keys()].filter((k) => k.startsWith('val-'));
    const imgs = await Promise.all(ids.map((id) => decodeImage(join(root, 'faces', `${id}.png`))));
    const p = await model.predict(imgs);
    let okEg = 0;
    let okHat = 0;
    ids.forEach((id, i) => {
      const [sq, st] = truth.get(id)!;
      okEg += (p[i]![eg]! > 0.5 ? 1 : 0) === sq ? 1 : 0;
      okHat += (p[i]![hat]! > 0.5 ? 1 : 0) === st ? 1 : 0;
    });
    model.dispose();
    expect(okEg / ids.length).toBeGreaterThanOrEqual(0.9);
    expect(okHat / ids.length).toBeGreaterThanOrEqual(0.9);
  }, 600_000);
});
