/**
 * Emotion preservation: Table 2 / Table 3 arithmetic on synthetic probabilities
 * worked out here, the harness on real PNG files with a deterministic fake
 * classifier (missing, corrupt and extra files), the predictions-file path
 * through the CLI, and Table 4 (training scenario) from a predictions file and
 * from a (one-epoch) micro ConvNeXt run.
 */
import erfc from '@stdlib/math-base-special-erfc';
import { tableFromIPC } from 'apache-arrow';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveClassifierConfig } from '../../src/config/classifier.js';
import { table2, table3, type EmotionRow } from '../../src/eval/emotion.js';
import { runEmotionEval } from '../../src/eval/emotion-run.js';
import { runEmotionTraining } from '../../src/eval/emotion-training.js';
import type { ImagePredictor } from '../../src/eval/predictor.js';
import { writePng, type RgbImage } from '../../src/io/images.js';
import { ganon } from '../helpers/cli.js';
import { writeShapesImageFolder } from '../helpers/shapes.js';

function rowsFor(method: string, cls: string, orig: number[], anon: number[]): EmotionRow[] {
  return orig.map((p, i) => ({ image: `img${i}`, method, class: cls, p_orig: p, p_anon: anon[i]! }));
}

describe('Table 2', () => {
  it('mean |p_anon - p_orig| per class and method', async () => {
    const rows = [
      ...rowsFor('gan', 'happy', [0.5, 0.25, 1], [0.75, 0.25, 0.5]), // |d| = .25, 0, .5 -> 0.25
      ...rowsFor('gan', 'sad', [0.5, 0.75, 0], [0.5, 0.5, 0]), // 0, .25, 0 -> 1/12
      ...rowsFor('blur', 'happy', [0.5, 0.25], [0, 0.125]), // .5, .125 -> 0.3125 (img2 missing)
      ...rowsFor('blur', 'sad', [0.5, 0.75], [0.25, 0.75]), // .25, 0 -> 0.125
    ];
    const t = table2(rows, ['happy', 'sad'], ['gan', 'blur']);
    expect(t.mean.gan!.happy).toBeCloseTo(0.25, 15);
    expect(t.mean.gan!.sad).toBeCloseTo(1 / 12, 15);
    expect(t.mean.blur!.happy).toBeCloseTo(0.3125, 15);
    expect(t.mean.blur!.sad).toBeCloseTo(0.125, 15);
    expect(t.n).toEqual({ gan: 3, blur: 2 });
  });
});

describe('Table 3', () => {
  it('Wilcoxon (approx, wilcox zeros, no correction), r = z / sqrt(N), Bonferroni over the table', async () => {
    // reference |dp| x and other |dp| y on 6 images: d = x - y = [.125, -.0625, .3125, 0, .375, -.25]
    const x = [0.25, 0.0625, 0.375, 0.125, 0.5, 0.125];
    const y = [0.125, 0.125, 0.0625, 0.125, 0.125, 0.375];
    const base = 0.5;
    const rows = [
      ...rowsFor('gan', 'happy', x.map(() => base), x.map((v) => base + v)),
      ...rowsFor('dp2', 'happy', y.map(() => base), y.map((v) => base - v)),
      ...rowsFor('gan', 'sad', x.map(() => base), x.map(() => base)),
      ...rowsFor('dp2', 'sad', y.map(() => base), y.map((v) => base + v)),
    ];
    const t = table3(rows, ['happy', 'sad'], ['gan', 'dp2'], 'gan');
    // happy: nonzero |d| ranks .0625->1 .125->2 .25->3 .3125->4 .375->5; R+ = 2+4+5 = 11, R- = 1+3 = 4
    const n = 5;
    const zHappy = (4 - (n * (n + 1)) / 4) / Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24);
    const pHappy = erfc(-zHappy / Math.SQRT2);
    const happy = t.find((r) => r.class === 'happy')!;
    expect(happy.statistic).toBe(4);
    expect(happy.zeros).toBe(1);
    expect(happy.n).toBe(6);
    expect(happy.z).toBeCloseTo(zHappy, 12);
    expect(happy.r).toBeCloseTo(zHappy / Math.sqrt(6), 12);
    expect(happy.p).toBeCloseTo(pHappy, 12);
    // sad: x = 0 everywhere, y > 0: d = -y, ranks of y (ties .125 x3 -> avg rank 2, .0625->... ) all negative: T = 0
    const sad = t.find((r) => r.class === 'sad')!;
    expect(sad.statistic).toBe(0);
    expect(sad.pBonferroni).toBeCloseTo(Math.min(1, 2 * sad.p), 14);
    expect(happy.pBonferroni).toBeCloseTo(Math.min(1, 2 * pHappy), 12);
    expect(happy.stars).toBe(pHappy < 0.05 ? '*' : '');
  });
  it('rejects an unknown reference', async () => {
    expect(() => table3([], ['a'], ['x', 'y'], 'z')).toThrow(/reference method 'z'/);
  });
});

/** A deterministic stand-in classifier: p(bright) = mean pixel / 255. */
function fakePredictor(): ImagePredictor {
  return {
    name: 'fake-brightness', proxy: true, kind: 'multiclass', classes: ['bright', 'dark'],
    async predict(images: RgbImage[]) {
      return images.map((img) => {
        let s = 0;
        for (const v of img.data) s += v;
        const m = s / img.data.length / 255;
        return Float32Array.from([m, 1 - m]);
      });
    },
    dispose() {},
  };
}

const solid = (v: number): RgbImage => ({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(v) });

describe('ganon eval emotion harness', () => {
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ganon-emo-'));
    mkdirSync(join(root, 'orig', 'sub'), { recursive: true });
    mkdirSync(join(root, 'gan', 'sub'), { recursive: true });
    await writePng(join(root, 'orig', 'a.png'), solid(255));
    await writePng(join(root, 'orig', 'b.png'), solid(0));
    await writePng(join(root, 'orig', 'sub', 'c.png'), solid(51));
    await writePng(join(root, 'orig', 'd.png'), solid(102));
    await writePng(join(root, 'gan', '0_a.png'), solid(204)); // |dp| = 0.2
    await writePng(join(root, 'gan', '0_b.png'), solid(51)); // 0.2
    writeFileSync(join(root, 'gan', 'sub', '0_c.png'), 'corrupt'); // error
    await writePng(join(root, 'gan', 'stray.png'), solid(1)); // extra; d missing
  });

  it('pairs by name, predicts, counts missing / corrupt / extra, computes baselines on the fly', async () => {
    const out = join(root, 'run');
    const r = await runEmotionEval({ original: join(root, 'orig'), methods: [{ name: 'gan', dir: join(root, 'gan') }], baselines: ['mask'], predictor: fakePredictor(), outDir: out });
    expect(r.counts.gan).toMatchObject({ ok: 2, missing: 1, error: 1, extra: 1, missingFiles: ['d.png'], errorFiles: ['sub/c.png'], extraFiles: ['stray.png'] });
    expect(r.counts.mask!.ok).toBe(4);
    expect(r.table2.mean.gan!.bright).toBeCloseTo(0.2, 6);
    // mask: everything black -> p(bright) = 0: |dp| = 1, 0, .2, .4 -> mean 0.4
    expect(r.table2.mean.mask!.bright).toBeCloseTo(0.4, 6);
    const t = tableFromIPC(readFileSync(join(out, 'emotion.arrow')));
    expect(t.schema.fields.map((f) => f.name)).toEqual(['image', 'method', 'class', 'p_orig', 'p_anon']);
    expect(t.numRows).toBe((2 + 4) * 2);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.kind).toBe('emotion');
    expect(run.classifier).toMatchObject({ name: 'fake-brightness', proxy: true });
    expect(run.table3).toHaveLength(2); // 2 classes x (mask vs gan)
    expect(readdirSync(out).sort()).toEqual(['emotion.arrow', 'run.json', 'table2.md', 'table3.md']);
  });

  it('maps dataset classes onto the classifier by name and lists the ones it lacks', async () => {
    const r = await runEmotionEval({ original: join(root, 'orig'), methods: [{ name: 'gan', dir: join(root, 'gan') }], predictor: fakePredictor(), classes: ['Dark', 'contempt'], outDir: join(root, 'run2') });
    expect(r.classes).toEqual(['Dark']);
    expect(r.unavailable).toEqual(['contempt']);
  });

  it("a trained (non-proxy) classifier whose classes do not cover the dataset's is an error listing both", async () => {
    const p = { ...fakePredictor(), proxy: false };
    await expect(runEmotionEval({ original: join(root, 'orig'), methods: [{ name: 'gan', dir: join(root, 'gan') }], predictor: p, classes: ['dark', 'contempt'], outDir: join(root, 'run4') }))
      .rejects.toThrow(/has classes \[bright, dark\], which do not cover the dataset's \[dark, contempt\] \(missing: contempt\)/);
  });

  it('from a predictions file through the CLI (no classifier)', async () => {
    const csv = ['image,method,class,p',
      'x,original,happy,0.9', 'x,original,sad,0.1', 'y,original,happy,0.2', 'y,original,sad,0.8',
      'x,gan,happy,0.7', 'x,gan,sad,0.3', 'y,gan,happy,0.3', 'y,gan,sad,0.7',
      'x,blur,happy,0.5', 'x,blur,sad,0.5'].join('\n');
    const f = join(root, 'preds.csv');
    writeFileSync(f, csv);
    const out = join(root, 'run3');
    const r = await ganon(['eval', 'emotion', '--predictions', f, '--out', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.table2.mean.gan.happy).toBeCloseTo(0.15, 12); // (.2 + .1) / 2
    expect(j.table2.mean.blur.happy).toBeCloseTo(0.4, 12);
    expect(j.counts.blur).toMatchObject({ ok: 1, missing: 1 });
    expect(readFileSync(join(out, 'table2.md'), 'utf8')).toMatch(/\| happy \| \*\*0\.150\*\* \| 0\.400 \|/);
    const bad = await ganon(['eval', 'emotion', '--predictions', f, '--out', out, '--reference', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--reference 'nope' is not one of the methods \(gan, blur\)/);
  });
});

describe('Table 4 (training scenario)', () => {
  it('from a predictions file: argmax per image vs its label, sklearn report per method', async () => {
    const rows = ['image,method,class,p,label'];
    const add = (img: string, m: string, label: string, ph: number) => rows.push(`${img},${m},happy,${ph},${label}`, `${img},${m},sad,${1 - ph},${label}`);
    add('1', 'original', 'happy', 0.9); add('2', 'original', 'sad', 0.2); add('3', 'original', 'happy', 0.4); add('4', 'original', 'sad', 0.1);
    add('1', 'gan', 'happy', 0.9); add('2', 'gan', 'sad', 0.7); add('3', 'gan', 'happy', 0.6); add('4', 'gan', 'sad', 0.8);
    const dir = mkdtempSync(join(tmpdir(), 'ganon-t4-'));
    writeFileSync(join(dir, 'p.csv'), rows.join('\n'));
    const r = await runEmotionTraining({ predictions: join(dir, 'p.csv'), methods: [], outDir: join(dir, 'run'), backend: 'none' });
    // original: predictions happy, sad, sad, sad vs labels happy, sad, happy, sad -> accuracy 3/4
    expect(r.reports.original!.accuracy).toBe(0.75);
    // gan: happy, happy, happy, happy -> accuracy 2/4; sad never predicted -> precision 0 with a warning
    expect(r.reports.gan!.accuracy).toBe(0.5);
    expect(r.reports.gan!.classes.find((c) => c.name === 'sad')!.precision).toBe(0);
    expect(r.reports.gan!.warnings.length).toBeGreaterThan(0);
    const conf = tableFromIPC(readFileSync(join(dir, 'run', 'confusion.arrow')));
    expect(conf.numRows).toBe(2 * 4);
    const json = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8'));
    expect(json.reports.original.accuracy).toBe(0.75);
  });

  it('trains one micro classifier per method (1 epoch) and scores each on the original val split', async () => {
    const data = mkdtempSync(join(tmpdir(), 'ganon-t4-data-'));
    await writeShapesImageFolder(data, { train: 6, val: 4 }, 40, 9);
    const anon = mkdtempSync(join(tmpdir(), 'ganon-t4-anon-'));
    for (const split of ['train', 'val']) {
      for (const cls of readdirSync(join(data, split))) {
        mkdirSync(join(anon, split, cls), { recursive: true });
        for (const f of readdirSync(join(data, split, cls))) cpSync(join(data, split, cls, f), join(anon, split, cls, `0_${f}`));
      }
    }
    const config = resolveClassifierConfig({ arch: 'convnext_micro', input: { resize: 36, crop: 32 }, train: { batchSize: 8, maxEpochs: 1 } });
    const out = mkdtempSync(join(tmpdir(), 'ganon-t4-run-'));
    const r = await runEmotionTraining({ data, methods: [{ name: 'copy', dir: anon }], config, outDir: out, backend: tf.getBackend(), out: null });
    expect(r.methods).toEqual(['original', 'copy']);
    expect(r.reports.original!.samples).toBe(12);
    // same images, same seed: the two classifiers are identical, so are their reports
    expect(r.reports.copy).toEqual(r.reports.original);
    expect(readdirSync(out).sort()).toEqual(['confusion.arrow', 'copy', 'original', 'run.json', 'table4.md']);
  }, 300_000);
});
