/**
 * Attribute removal (paper Table 6) and the classifier report on the originals (Table 5):
 * the arithmetic on hand-worked predictions (ties at exactly 0.5 on both sides, n/a, joined by
 * image id), the table layout and order, the harness with a fake classifier over real PNG files
 * (missing, corrupt, extra, on-the-fly baselines), the predictions-file path through the CLI,
 * labels from a CSV and from a preprocessed manifest, the attribute-name mismatch error, and
 * Table 5 against scikit-learn's multi-label report (test/fixtures/sklearn).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { writePng, type RgbImage } from '../../src/io/images.js';
import { writeManifest, type ManifestRow } from '../../src/io/manifest.js';
import {
  checkAttributeNames, formatTable6, removalJson, removalRates, table6Order, type MethodRemoval,
} from '../../src/eval/attributes.js';
import { LabelIndex, runAttributesEval } from '../../src/eval/attributes-run.js';
import { formatFixed, type Scores } from '../../src/eval/classification-report.js';
import type { ImagePredictor } from '../../src/eval/predictor.js';
import { loadClassifier } from '../../src/eval/classifier-model.js';
import { resolveClassifierConfig } from '../../src/config/classifier.js';
import { decodeImage } from '../../src/io/images.js';
import { encodeSafetensors } from '../../src/io/safetensors.js';
import { convnextConfig, convnextSpecs } from '../../src/models/convnext.js';
import { ganon } from '../helpers/cli.js';
import { fixtureDir, formulaWeights } from '../helpers/fixtures.js';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ganon-attr-'));
  temps.push(d);
  return d;
}
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

// ------------------------------------------------------------------------------------------
// The arithmetic
// ------------------------------------------------------------------------------------------

describe('removalRates', () => {
  const attributes = ['A', 'B', 'C', 'D'];
  // originals, in the order x, y, z, w
  const original = new Map<string, number[]>([
    ['x', [0.9, 0.5, 0.2, 0.7]],
    ['y', [0.51, 0.8, 0.1, 0.5]],
    ['z', [0.6, 0.6, 0.5, 0.2]],
    ['w', [0.2, 0.99, 0.3, 0.95]],
  ]);
  // method M lists the images in ANOTHER order, plus one without an original
  const M = new Map<string, number[]>([
    ['w', [0.9, 0.6, 0.9, 0.51]],
    ['z', [0.5, 0.4, 0.8, 0.3]],
    ['y', [0.7, 0.50001, 0.0, 0.9]],
    ['x', [0.1, 0.9, 0.9, 0.5]],
    ['extra', [1, 1, 1, 1]],
  ]);
  // method N: everything 0, and no prediction for w
  const N = new Map<string, number[]>([['x', [0, 0, 0, 0]], ['y', [0, 0, 0, 0]], ['z', [0, 0, 0, 0]]]);
  const r = removalRates({ attributes, original, methods: [{ name: 'M', predictions: M }, { name: 'N', predictions: N }] });

  it('counts kept / removed among originals with p > 0.5, joined by image id', async () => {
    // A: predicted on x (0.9), y (0.51), z (0.6); not w (0.2).
    //    M: x 0.1 removed, y 0.7 kept, z 0.5 removed (exactly 0.5 is not predicted) -> 1 kept, 2 removed
    // B: x has exactly 0.5: not predicted on the original, so not counted; y 0.8, z 0.6, w 0.99 are.
    //    M: y 0.50001 kept, z 0.4 removed, w 0.6 kept -> 2 kept, 1 removed
    // C: no original above 0.5 (z is exactly 0.5) -> n/a, whatever M says
    // D: x 0.7 and w 0.95 (y is exactly 0.5). M: x 0.5 removed, w 0.51 kept -> 1 and 1
    const m = r.methods[0]!;
    expect(m.pairs).toBe(4); // 'extra' has no original
    expect(m.cells).toEqual({
      A: { kept: 1, removed: 2, rate: 2 / 3 },
      B: { kept: 2, removed: 1, rate: 1 / 3 },
      C: { kept: 0, removed: 0, rate: null },
      D: { kept: 1, removed: 1, rate: 0.5 },
    });
    // N: all removed where there is a pair; w has none, so B counts only y and z
    expect(r.methods[1]!.pairs).toBe(3);
    expect(r.methods[1]!.cells).toEqual({
      A: { kept: 0, removed: 3, rate: 1 },
      B: { kept: 0, removed: 2, rate: 1 },
      C: { kept: 0, removed: 0, rate: null },
      D: { kept: 0, removed: 1, rate: 1 },
    });
  });

  it('is not a join by position', async () => {
    // zipping M's values with the originals by position (x<-w, y<-z, z<-y, w<-x) would give, for A:
    // x 0.9 -> 0.9 kept, y 0.51 -> 0.5 removed, z 0.6 -> 0.7 kept: 1/3, not 2/3
    expect(r.methods[0]!.cells.A!.rate).toBeCloseTo(2 / 3, 15);
  });

  it('orders Table 6 by the first method\'s rate, n/a last, ties in attribute order', async () => {
    expect(r.order).toEqual(['A', 'D', 'B', 'C']);
    const cells = (rates: (number | null)[]): MethodRemoval => ({
      name: 'm', pairs: 0, cells: Object.fromEntries(rates.map((rate, i) => [`a${i}`, { kept: 0, removed: 0, rate }])),
    });
    expect(table6Order(['a0', 'a1', 'a2', 'a3', 'a4', 'a5'], [cells([0.5, null, 1, 0.5, 0, 1])])).toEqual(['a2', 'a5', 'a0', 'a3', 'a4', 'a1']);
  });

  it('writes the paper\'s layout: methods side by side with counts', async () => {
    const md = formatTable6(r, { classifier: 'fake' }).split('\n');
    expect(md.slice(0, 6)).toEqual([
      '| Attribute | M removed | M removed / n | N removed | N removed / n |',
      '| :--- | ---: | ---: | ---: | ---: |',
      '| A | 0.666667 | 2 / 3 | 1.000000 | 3 / 3 |',
      '| D | 0.500000 | 1 / 2 | 1.000000 | 1 / 1 |',
      '| B | 0.333333 | 1 / 3 | 1.000000 | 2 / 2 |',
      '| C | n/a | 0 / 0 | n/a | 0 / 0 |',
    ]);
    expect(md.join('\n')).toMatch(/Sorted by the removal rate of M\.\nPairs: M 4, N 3\. Classifier: fake\./);
    const j = removalJson(r);
    expect(Object.keys(j.M!)).toEqual(['A', 'D', 'B', 'C']);
    expect(j.N!.D).toEqual({ kept: 0, removed: 1, rate: 1 });
  });

  it('rejects bad vectors and duplicate names', async () => {
    expect(() => removalRates({ attributes, original: new Map([['x', [0.1, 0.2]]]), methods: [] })).toThrow(/original 'x': 2 probabilities, expected 4/);
    expect(() => removalRates({ attributes, original, methods: [{ name: 'M', predictions: new Map([['x', [0, NaN, 0, 0]]]) }] }))
      .toThrow(/method 'M', image 'x': probability 1 is NaN/);
    expect(() => removalRates({ attributes: ['A', 'A'], original: new Map(), methods: [] })).toThrow(/unique/);
  });

  it('names both lists when attribute names differ', async () => {
    const e = thrown(() => checkAttributeNames(['Smiling', 'Male', 'Young'], ['Male', 'Smiling', 'Old'], 'the classifier', 'the labels'));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toContain('the classifier (3): Smiling, Male, Young');
    expect(e.message).toContain('the labels (3): Male, Smiling, Old');
    expect(e.message).toContain('only in the classifier: Young; only in the labels: Old');
    expect(() => checkAttributeNames(['a', 'b'], ['b', 'a'], 'x', 'y')).not.toThrow(); // order does not matter
  });
});

describe('LabelIndex', () => {
  it('finds labels by exact key, without extension, by basename; ambiguous short forms never match', async () => {
    const idx = new LabelIndex(['A'], 'test');
    const v = (n: number) => Uint8Array.of(n);
    idx.add('img_align_celeba_000001_jpg-0', v(1));
    idx.add('img_align_celeba/000002.jpg', v(0), false);
    idx.add('x/a.png', v(1));
    idx.add('y/a.png', v(0));
    expect(idx.get('img_align_celeba_000001_jpg-0.png')?.[0]).toBe(1); // faces/<id>.png
    expect(idx.get('faces/img_align_celeba_000001_jpg-0.png')?.[0]).toBe(1);
    expect(idx.get('000002.jpg')?.[0]).toBe(0); // the source's basename
    expect(idx.get('x/a.png')?.[0]).toBe(1);
    expect(idx.get('y/a.png')?.[0]).toBe(0);
    expect(idx.get('a.png')).toBeUndefined(); // two entries share basename a.png
  });
});

// ------------------------------------------------------------------------------------------
// The harness with a fake classifier
// ------------------------------------------------------------------------------------------

const solid = (r: number, g: number, b: number, size = 4): RgbImage => {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set([r, g, b], i * 3);
  return { width: size, height: size, data };
};

/** Reddish = mean R / 255, Bright = mean (R + G + B) / 3 / 255; records its batch sizes. */
function fakePredictor(classes = ['Reddish', 'Bright']): ImagePredictor & { calls: number[] } {
  const calls: number[] = [];
  return {
    name: 'fake-colour', proxy: true, kind: 'multilabel', classes, weightsSha256: 'abc123', calls,
    async predict(images) {
      calls.push(images.length);
      return images.map((img) => {
        let r = 0;
        let s = 0;
        for (let i = 0; i < img.data.length; i += 3) {
          r += img.data[i]!;
          s += img.data[i]! + img.data[i + 1]! + img.data[i + 2]!;
        }
        const n = img.data.length / 3;
        return Float32Array.of(r / n / 255, s / 3 / n / 255);
      });
    },
    dispose() {},
  };
}

describe('runAttributesEval with a classifier', () => {
  it('predicts originals, matched method files and on-the-fly baselines; missing, corrupt and extra files are rows', async () => {
    const d = temp();
    const orig = join(d, 'orig');
    const gan = join(d, 'gan');
    mkdirSync(orig);
    mkdirSync(gan);
    // originals: Reddish p, Bright p
    await writePng(join(orig, 'a.png'), solid(255, 0, 0)); // 1, 1/3
    await writePng(join(orig, 'b.png'), solid(200, 200, 200)); // 0.784, 0.784
    await writePng(join(orig, 'c.png'), solid(250, 250, 250)); // 0.98, 0.98
    await writePng(join(orig, 'd.png'), solid(0, 0, 255)); // 0, 1/3
    writeFileSync(join(orig, 'e.png'), 'not a png'); // the original itself is corrupt
    await writePng(join(gan, '0_a.png'), solid(255, 255, 255)); // 1, 1
    await writePng(join(gan, 'b.png'), solid(10, 10, 10)); // 0.04, 0.04
    writeFileSync(join(gan, 'c.png'), 'garbage'); // corrupt method file
    // d: missing
    await writePng(join(gan, '0_e.png'), solid(255, 255, 255)); // its original failed
    await writePng(join(gan, 'zzz.png'), solid(1, 2, 3)); // matches no original
    const p = fakePredictor();
    const out = join(d, 'run');
    const run = await runAttributesEval({
      original: orig, methods: [{ name: 'gan', dir: gan }], baselines: ['mask', 'pixelate:2'], predictor: p, outDir: out, batchSize: 2,
    });
    expect(Math.max(...p.calls)).toBeLessThanOrEqual(2);
    expect(run.methods).toEqual(['gan', 'mask', 'pixelate:2']);
    expect(run.counts.originals).toEqual({ total: 5, ok: 4, error: 1, errors: [{ image: 'e.png', message: expect.stringMatching(/cannot decode image 'e\.png'/) as unknown as string }] });
    expect(run.counts.methods.gan).toEqual({
      ok: 2, missing: 1, extra: 1, error: 1, originalError: 1, missingFiles: ['d.png'], extraFiles: ['zzz.png'],
      errors: [{ image: 'c.png', file: 'c.png', message: expect.stringMatching(/cannot decode image 'c\.png'/) as unknown as string }],
    });
    for (const b of ['mask', 'pixelate:2']) {
      expect(run.counts.methods[b]).toMatchObject({ ok: 4, missing: 0, extra: 0, error: 0, originalError: 1 });
    }
    // originals predicting Reddish: a, b, c; Bright: b, c.
    // gan pairs a (1, 1) and b (0.04, 0.04): Reddish a kept, b removed; Bright b removed
    const cells = (m: string) => run.removal.methods.find((x) => x.name === m)!.cells;
    expect(cells('gan')).toEqual({ Reddish: { kept: 1, removed: 1, rate: 0.5 }, Bright: { kept: 0, removed: 1, rate: 1 } });
    // mask: black, everything removed; pixelate of a solid colour is the same colour: everything kept
    expect(cells('mask')).toEqual({ Reddish: { kept: 0, removed: 3, rate: 1 }, Bright: { kept: 0, removed: 2, rate: 1 } });
    expect(cells('pixelate:2')).toEqual({ Reddish: { kept: 3, removed: 0, rate: 0 }, Bright: { kept: 2, removed: 0, rate: 0 } });

    // files
    for (const f of ['attributes.arrow', 'table6.md', 'run.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(join(out, 'table5.md'))).toBe(false);
    const t = tableFromIPC(readFileSync(join(out, 'attributes.arrow')));
    // gan: 2 ok pairs x 2 attributes + c error + d missing + e original_error + zzz extra; baselines: 4 x 2 + e
    expect(t.numRows).toBe(8 + 9 + 9);
    const rows = t.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    expect(rows.find((r) => r.image === 'a.png' && r.method === 'gan' && r.attribute === 'Reddish'))
      .toMatchObject({ file: '0_a.png', status: 'ok', p_orig: 1, p_anon: 1 });
    expect(rows.find((r) => r.image === 'b.png' && r.method === 'gan' && r.attribute === 'Bright')!.p_anon).toBeCloseTo(10 / 255, 6);
    expect(rows.filter((r) => r.method === 'gan' && r.status !== 'ok').map((r) => [r.image, r.file, r.status]))
      .toEqual([['c.png', 'c.png', 'error'], ['d.png', '', 'missing'], ['e.png', '0_e.png', 'original_error'], ['', 'zzz.png', 'extra']]);
    const json = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({
      kind: 'attributes', classifier: { name: 'fake-colour', proxy: true, weightsSha256: 'abc123' },
      attributes: ['Reddish', 'Bright'], table5: null, methods: ['gan', 'mask', 'pixelate:2'],
      methodSources: [{ name: 'gan', dir: gan }, { name: 'mask', baseline: 'mask' }, { name: 'pixelate:2', baseline: 'pixelate:2' }],
      originals: { total: 5, ok: 4, error: 1 }, counts: { gan: { ok: 2, missing: 1, extra: 1, error: 1, originalError: 1 } },
    });
    expect(typeof json.toolkitVersion).toBe('string');
    expect(typeof json.gitCommit).toBe('string');
    expect((json.table6 as unknown[]).slice(0, 3)).toEqual([
      { attribute: 'Bright', method: 'gan', kept: 0, removed: 1, rate: 1 },
      { attribute: 'Bright', method: 'mask', kept: 0, removed: 2, rate: 1 },
      { attribute: 'Bright', method: 'pixelate:2', kept: 2, removed: 0, rate: 0 },
    ]);
    const md = readFileSync(join(out, 'table6.md'), 'utf8');
    expect(md).toContain('| gan | 2 | 1 | 1 | 1 | 1 |');
    expect(md).toContain('Missing for gan: d.png');
    expect(md).toContain('Extra in gan: zzz.png');
    expect(md).toMatch(/Error in gan: c\.png: cannot decode image 'c\.png'/);
    expect(md).toMatch(/Original error: e\.png: cannot decode/);
  });

  it('stops before predicting when the labels name other attributes (both lists shown)', async () => {
    const d = temp();
    mkdirSync(join(d, 'orig'));
    mkdirSync(join(d, 'gan'));
    await writePng(join(d, 'orig', 'a.png'), solid(255, 0, 0));
    writeFileSync(join(d, 'labels.csv'), 'image,Reddish,Brightness\na.png,1,0\n');
    const p = fakePredictor();
    const e = await rejected(runAttributesEval({
      original: join(d, 'orig'), methods: [{ name: 'gan', dir: join(d, 'gan') }], predictor: p, outDir: join(d, 'run'), labels: join(d, 'labels.csv'),
    }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/attribute names differ between the classifier 'fake-colour' and the labels/);
    expect(e.message).toContain("the classifier 'fake-colour' (2): Reddish, Bright");
    expect(e.message).toMatch(/labels .*labels\.csv\) \(2\): Reddish, Brightness/);
    expect(e.message).toContain('only in the classifier \'fake-colour\': Bright; only in the labels');
    expect(p.calls).toEqual([]);
    expect(existsSync(join(d, 'run'))).toBe(false);
  });

  it('rejects a multi-class classifier, ganonymization as a baseline, and a method named original', async () => {
    const d = temp();
    mkdirSync(join(d, 'orig'));
    await writePng(join(d, 'orig', 'a.png'), solid(255, 0, 0));
    const base = { original: join(d, 'orig'), outDir: join(d, 'run') };
    await expect(runAttributesEval({ ...base, baselines: ['mask'], predictor: { ...fakePredictor(), kind: 'multiclass' } })).rejects.toThrow(/needs a multi-label classifier/);
    await expect(runAttributesEval({ ...base, baselines: ['ganonymization'], predictor: fakePredictor() })).rejects.toThrow(/cannot be computed on the fly/);
    await expect(runAttributesEval({ ...base, methods: [{ name: 'original', dir: join(d, 'orig') }], predictor: fakePredictor() })).rejects.toThrow(/'original' is reserved/);
  });
});

// ------------------------------------------------------------------------------------------
// Predictions files
// ------------------------------------------------------------------------------------------

function csv(rows: (string | number)[][]): string {
  return `${['image,method,attribute,p', ...rows.map((r) => r.join(','))].join('\n')}\n`;
}

describe('predictions file', () => {
  it('through the CLI: writes all files and prints the rates and counts as JSON', async () => {
    const d = temp();
    // originals: i1 A 0.9 B 0.2; i2 A 0.8 B 0.7; i3 A 0.3 B 0.5 (tie: not predicted)
    // gan: i1 A 0.2 (removed); i2 A 0.5 (removed, tie) B 0.6 (kept); i3 -; i4 (no original: extra)
    // blur:9: i1 A 0.95 (kept); i2 A 0.9 (kept) B 0.1 (removed); i3 A 0.1 B 0.1
    writeFileSync(join(d, 'pred.csv'), csv([
      ['i1', 'original', 'A', 0.9], ['i1', 'original', 'B', 0.2],
      ['i2', 'original', 'A', 0.8], ['i2', 'original', 'B', 0.7],
      ['i3', 'original', 'A', 0.3], ['i3', 'original', 'B', 0.5],
      ['i2', 'gan', 'B', 0.6], ['i1', 'gan', 'A', 0.2], ['i1', 'gan', 'B', 0.1], ['i2', 'gan', 'A', 0.5],
      ['i4', 'gan', 'A', 0.9], ['i4', 'gan', 'B', 0.9],
      ['i1', 'blur:9', 'A', 0.95], ['i1', 'blur:9', 'B', 0.3], ['i2', 'blur:9', 'A', 0.9], ['i2', 'blur:9', 'B', 0.1],
      ['i3', 'blur:9', 'A', 0.1], ['i3', 'blur:9', 'B', 0.1],
    ]));
    // labels: i1 A=1 B=0, i2 A=1 B=1, i3 A=0 B=1 (-1/1 as CelebA writes them, columns in another order)
    writeFileSync(join(d, 'labels.csv'), 'image,B,A\ni1,-1,1\ni2,1,1\ni3,1,-1\n');
    const out = join(d, 'run');
    const r = await ganon(['eval', 'attributes', '--predictions', join(d, 'pred.csv'), '--labels', join(d, 'labels.csv'), '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      classifier: string; attributes: string[]; methods: Record<string, Record<string, { kept: number; removed: number; rate: number | null }>>;
      counts: Record<string, { ok: number; missing: number; extra: number; error: number }>; table5: Record<string, Scores>;
    };
    expect(j.classifier).toBe('predictions file');
    expect(j.attributes).toEqual(['A', 'B']);
    expect(j.methods).toEqual({
      gan: { A: { kept: 0, removed: 2, rate: 1 }, B: { kept: 1, removed: 0, rate: 0 } },
      'blur:9': { A: { kept: 2, removed: 0, rate: 0 }, B: { kept: 0, removed: 1, rate: 1 } },
    });
    expect(j.counts.gan).toMatchObject({ ok: 2, missing: 1, extra: 1, error: 0, missingFiles: ['i3'], extraFiles: ['i4'] });
    expect(j.counts['blur:9']).toMatchObject({ ok: 3, missing: 0, extra: 0, error: 0 });
    // Table 5: predicted (p > 0.5) i1 [1,0], i2 [1,1], i3 [0,0]; true i1 [1,0], i2 [1,1], i3 [0,1]
    // A: tp 2, pred 2, true 2 -> 1, 1, 1. B: tp 1, pred 1, true 2 -> P 1, R 0.5, F1 2/3
    expect(j.table5.A).toEqual({ precision: 1, recall: 1, 'f1-score': 1, support: 2 });
    expect(j.table5.B!.recall).toBe(0.5);
    expect(j.table5.B!['f1-score']).toBeCloseTo(2 / 3, 15);
    // micro: tp 3, pred 3, true 4 -> P 1, R 0.75, F1 6/7
    expect(j.table5['micro avg']!.recall).toBe(0.75);
    expect(j.table5['micro avg']!['f1-score']).toBeCloseTo(6 / 7, 15);
    for (const f of ['attributes.arrow', 'table5.md', 'table6.md', 'run.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(run).toMatchObject({
      kind: 'attributes', classifier: 'predictions file', attributes: ['A', 'B'], methods: ['gan', 'blur:9'], labels: { images: 3, unlabelled: 0, split: null },
      originals: { total: 3, ok: 3, error: 0 }, counts: { gan: { ok: 2, missing: 1, extra: 1, error: 0 } },
    });
    expect(run.table6).toEqual([
      { attribute: 'A', method: 'gan', kept: 0, removed: 2, rate: 1 },
      { attribute: 'A', method: 'blur:9', kept: 2, removed: 0, rate: 0 },
      { attribute: 'B', method: 'gan', kept: 1, removed: 0, rate: 0 },
      { attribute: 'B', method: 'blur:9', kept: 0, removed: 1, rate: 1 },
    ]);
    expect(readFileSync(join(out, 'table5.md'), 'utf8')).toContain('| B | 1.00 | 0.50 | 0.67 | 2 |');
    const t = tableFromIPC(readFileSync(join(out, 'attributes.arrow')));
    expect(t.schema.fields.map((f) => f.name).slice(0, 5)).toEqual(['image', 'method', 'attribute', 'p_orig', 'p_anon']);
    const rows = t.toArray().map((x) => x.toJSON() as Record<string, unknown>);
    expect(rows.find((x) => x.image === 'i2' && x.method === 'gan' && x.attribute === 'B')).toMatchObject({ p_orig: 0.7, p_anon: 0.6, status: 'ok' });

    // a predictions file takes its methods from the file
    const bad = await ganon(['eval', 'attributes', '--predictions', join(d, 'pred.csv'), '--method', `x=${d}`, '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/with a predictions file the methods are the file's/);
  });

  it('bad rows: a row number for a bad p, an error row for an image missing attributes, both lists for other names', async () => {
    const d = temp();
    const f = join(d, 'p.csv');
    writeFileSync(f, csv([['i1', 'original', 'A', 0.9], ['i1', 'gan', 'A', 1.5]]));
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r') })).rejects.toThrow(/row 2: p '1.5' is not a number in \[0, 1\]/);
    writeFileSync(f, csv([['i1', 'original', 'A', 0.9], ['i1', 'gan', 'A', 'x']]));
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r') })).rejects.toThrow(/row 2: p 'x'/);
    writeFileSync(f, csv([['i1', 'original', 'A', 0.9], ['i1', 'original', 'A', 0.2], ['i1', 'gan', 'A', 0.1]]));
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r') })).rejects.toThrow(/row 2: image 'i1', method 'original', attribute 'A' appears twice/);
    writeFileSync(f, csv([['i1', 'gan', 'A', 0.9]]));
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r') })).rejects.toThrow(/no rows with method 'original'/);
    writeFileSync(f, csv([['i1', 'original', 'A', 0.9], ['i1', 'gan', 'Smile', 0.9]]));
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r') })).rejects.toThrow(/attribute names differ between method 'gan' and method 'original'/);
    writeFileSync(f, 'image,method,p\ni1,original,0.5\n');
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r') })).rejects.toThrow(/no 'attribute' column/);

    // i2 has only A for gan: an error row; i3's original lacks B: original_error rows
    writeFileSync(f, csv([
      ['i1', 'original', 'A', 0.9], ['i1', 'original', 'B', 0.9], ['i2', 'original', 'A', 0.9], ['i2', 'original', 'B', 0.9],
      ['i3', 'original', 'A', 0.9],
      ['i1', 'gan', 'A', 0.1], ['i1', 'gan', 'B', 0.9], ['i2', 'gan', 'A', 0.1], ['i3', 'gan', 'A', 0.1], ['i3', 'gan', 'B', 0.1],
    ]));
    const run = await runAttributesEval({ predictions: f, outDir: join(d, 'r') });
    expect(run.counts.originals).toMatchObject({ total: 3, ok: 2, error: 1, errors: [{ image: 'i3', message: 'predictions for 1 of 2 attributes (missing: B)' }] });
    expect(run.counts.methods.gan).toMatchObject({ ok: 1, error: 1, originalError: 1, errors: [{ image: 'i2', message: 'predictions for 1 of 2 attributes (missing: B)' }] });
    expect(run.removal.methods[0]!.cells).toEqual({ A: { kept: 0, removed: 1, rate: 1 }, B: { kept: 1, removed: 0, rate: 0 } });

    // file values are read as float64: 0.5000000001 is above 0.5 (float32 would round it to 0.5)
    writeFileSync(f, csv([['i1', 'original', 'A', '0.5000000001'], ['i1', 'gan', 'A', '0.5000000001'], ['i2', 'original', 'A', '0.5000000001'], ['i2', 'gan', 'A', 0.5]]));
    const near = await runAttributesEval({ predictions: f, outDir: join(d, 'r') });
    expect(near.removal.methods[0]!.cells.A).toEqual({ kept: 1, removed: 1, rate: 0.5 });
  });

  it('labels from a preprocessed manifest: faces/<id>.png finds row <id>; --split keeps one split', async () => {
    const d = temp();
    const lm = (id: string, split: 'train' | 'val', attrs: Record<string, number> | null, status: 'ok' | 'no_face' = 'ok'): ManifestRow => ({
      id, source: `img/${id}.jpg`, split, labels: attrs ? JSON.stringify({ attributes: attrs }) : '', faceIndex: 0, box: null,
      angle: 0, score: 1, status, message: '', landmarks: null,
    });
    await writeManifest(join(d, 'manifest.arrow'), [
      lm('m1', 'val', { A: 1, B: 0 }), lm('m2', 'train', { A: 0, B: 0 }), lm('m3', 'val', null, 'no_face'),
    ]);
    const f = join(d, 'p.csv');
    const rows: (string | number)[][] = [];
    for (const id of ['m1', 'm2', 'm3']) for (const m of ['original', 'gan']) rows.push([`faces/${id}.png`, m, 'A', 0.9], [`faces/${id}.png`, m, 'B', 0.1]);
    writeFileSync(f, csv(rows));
    const all = await runAttributesEval({ predictions: f, outDir: join(d, 'r1'), labels: join(d, 'manifest.arrow') });
    expect(all.runJson.labels).toMatchObject({ images: 2, unlabelled: 1, unlabelledImages: ['faces/m3.png'], split: null });
    // A predicted on m1 (true 1) and m2 (true 0): P 0.5, R 1; B never predicted, never true
    expect((all.runJson.table5 as Record<string, Scores>).A).toEqual({ precision: 0.5, recall: 1, 'f1-score': 2 / 3, support: 1 });
    const val = await runAttributesEval({ predictions: f, outDir: join(d, 'r2'), labels: join(d, 'manifest.arrow'), split: 'val' });
    expect(val.runJson.labels).toMatchObject({ images: 1, unlabelled: 2, split: 'val' });
    expect((val.runJson.table5 as Record<string, Scores>).A).toEqual({ precision: 1, recall: 1, 'f1-score': 1, support: 1 });
    // labels that fit no original
    writeFileSync(join(d, 'l.csv'), 'image,A,B\nnope.png,1,0\n');
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r3'), labels: join(d, 'l.csv') })).rejects.toThrow(/no original image has a row in the labels/);
    writeFileSync(join(d, 'l.csv'), 'image,A,B\nfaces/m1.png,1,2\n');
    await expect(runAttributesEval({ predictions: f, outDir: join(d, 'r3'), labels: join(d, 'l.csv') })).rejects.toThrow(/row 1 \(image 'faces\/m1\.png'\), column 'B': '2' is not 0, 1 or -1/);
  });
});

// ------------------------------------------------------------------------------------------
// Table 5 against scikit-learn
// ------------------------------------------------------------------------------------------

describe('Table 5', () => {
  interface MlCase { name: string; y_true: number[][]; y_pred: number[][]; args: { targetNames?: string[] }; dict: Record<string, Scores>; warnings: string[] }
  const fx = JSON.parse(readFileSync(`${fixtureDir}sklearn/reports.json`, 'utf8')) as { multilabel: MlCase[] };
  const c = fx.multilabel.find((x) => x.name === 'celeba40_zd_warn')!;

  it('is scikit-learn\'s multi-label report of the originals\' predictions (p > 0.5) vs the labels (celeba40_zd_warn)', async () => {
    const d = temp();
    const names = c.args.targetNames!;
    expect(names).toHaveLength(40);
    // probabilities whose thresholding at p > 0.5 gives the fixture's y_pred; a 0 is sometimes exactly 0.5
    const rows: (string | number)[][] = [];
    c.y_pred.forEach((pred, i) => pred.forEach((y, j) => {
      const p = y === 1 ? 0.5 + 0.01 * (1 + ((i + j) % 40)) : (i + j) % 3 === 0 ? 0.5 : 0.01 * ((i * 7 + j) % 50);
      rows.push([`${String(i).padStart(6, '0')}.jpg`, 'original', names[j]!, p]);
      rows.push([`${String(i).padStart(6, '0')}.jpg`, 'gan', names[j]!, 1 - p]);
    }));
    writeFileSync(join(d, 'pred.csv'), csv(rows));
    // labels as -1/1, the columns in reverse order
    const rev = [...names].reverse();
    const labelLines = [`image,${rev.join(',')}`, ...c.y_true.map((t, i) => `${String(i).padStart(6, '0')}.jpg,${rev.map((n) => (t[names.indexOf(n)] === 1 ? '1' : '-1')).join(',')}`)];
    writeFileSync(join(d, 'labels.csv'), `${labelLines.join('\n')}\n`);
    const run = await runAttributesEval({ predictions: join(d, 'pred.csv'), labels: join(d, 'labels.csv'), outDir: join(d, 'run') });
    const got = run.runJson.table5 as Record<string, Scores>;
    expect(Object.keys(got).sort()).toEqual(Object.keys(c.dict).sort());
    for (const [k, w] of Object.entries(c.dict)) {
      for (const m of ['precision', 'recall', 'f1-score', 'support'] as const) expect(Math.abs(got[k]![m] - w[m]), `${k} ${m}`).toBeLessThanOrEqual(1e-12);
    }
    expect(run.runJson.table5Warnings).toEqual(c.warnings);
    const md = readFileSync(join(d, 'run', 'table5.md'), 'utf8');
    for (const k of ['Bangs', 'micro avg', 'samples avg']) {
      const w = c.dict[k]!;
      expect(md).toContain(`| ${k} | ${formatFixed(w.precision, 2)} | ${formatFixed(w.recall, 2)} | ${formatFixed(w['f1-score'], 2)} | ${w.support} |`);
    }
    expect(md).toContain('200 original images with labels');
  });
});

// ------------------------------------------------------------------------------------------
// --classifier: a classifier run directory through the CLI
// ------------------------------------------------------------------------------------------

describe('--classifier RUN', () => {
  it('loads the run with loadClassifier and scores the originals with it (micro ConvNeXt, formula weights)', async () => {
    const d = temp();
    // a run directory as `ganon classifier train --task attributes` leaves it: best/state.json + best/classifier.safetensors
    const classes = ['Reddish', 'Bright'];
    const cfg = resolveClassifierConfig({ task: 'attributes', arch: 'convnext_micro', input: { resize: 36, crop: 32, flip: false } });
    const run = join(d, 'cls');
    mkdirSync(join(run, 'best'), { recursive: true });
    const weights = encodeSafetensors(formulaWeights(convnextSpecs(convnextConfig('convnext_micro', 2)), 0.05));
    writeFileSync(join(run, 'best', 'classifier.safetensors'), weights);
    writeFileSync(join(run, 'best', 'state.json'), JSON.stringify({ format: 'ganon-classifier-v1', task: 'attributes', arch: 'convnext_micro', classes, numClasses: 2, config: cfg }));
    const orig = join(d, 'orig');
    const gan = join(d, 'gan');
    mkdirSync(orig);
    mkdirSync(gan);
    const colours: [number, number, number][] = [[255, 0, 0], [30, 200, 90], [250, 250, 250]];
    for (const [i, c] of colours.entries()) {
      await writePng(join(orig, `${i}.png`), solid(...c, 40));
      await writePng(join(gan, `0_${i}.png`), solid(c[2], c[1], c[0], 40));
    }
    writeFileSync(join(orig, 'bad.png'), 'nope');
    const out = join(d, 'run');
    const r = await ganon(['eval', 'attributes', '--classifier', run, '--original', orig, '--method', `gan=${gan}`, '--baselines', 'mask,blur:3', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { classifier: { name: string; proxy: boolean; weightsSha256: string }; attributes: string[] } & AttributesCounts;
    expect(j.classifier).toEqual({ name: `convnext_micro (${run})`, proxy: false, weightsSha256: createHash('sha256').update(weights).digest('hex') });
    expect(j.attributes).toEqual(classes);
    expect(j.originals).toMatchObject({ total: 4, ok: 3, error: 1 });
    expect(j.counts.gan).toMatchObject({ ok: 3, originalError: 1 });
    expect(j.counts['blur:3']).toMatchObject({ ok: 3, originalError: 1 });

    // p_orig and p_anon are the classifier's own outputs on the original and on the method file
    const model = await loadClassifier(run);
    try {
      const imgs = await Promise.all(colours.map((_, i) => decodeImage(join(orig, `${i}.png`))));
      const anon = await Promise.all(colours.map((_, i) => decodeImage(join(gan, `0_${i}.png`))));
      const [po, pa] = [await model.predict(imgs), await model.predict(anon)];
      const rows = tableFromIPC(readFileSync(join(out, 'attributes.arrow'))).toArray().map((x) => x.toJSON() as Record<string, number | string>);
      for (const [i] of colours.entries()) {
        classes.forEach((a, k) => {
          const row = rows.find((x) => x.image === `${i}.png` && x.method === 'gan' && x.attribute === a)!;
          expect(row.p_orig as number).toBeCloseTo(po[i]![k]!, 5);
          expect(row.p_anon as number).toBeCloseTo(pa[i]![k]!, 5);
        });
      }
    } finally {
      model.dispose();
    }
  }, 300_000);
});

type AttributesCounts = { originals: { total: number; ok: number; error: number }; counts: Record<string, { ok: number; originalError: number }> };
