import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  classificationReport, confusionMatrix, formatFixed, formatReport, formatReportMarkdown, multilabelReport, reportDict,
  type ClassificationReport, type Label, type Normalize, type Scores, type ZeroDivision,
} from '../../src/eval/classification-report.js';
import { ganon } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/fixtures.js';

// scikit-learn 1.9.1 on the same inputs: test/fixtures/sklearn/make_fixtures.py -> reports.json
interface ReportCase {
  name: string;
  description: string;
  y_true: Label[] | number[][];
  y_pred: Label[] | number[][];
  args: { labels?: Label[]; targetNames?: string[]; zeroDivision?: ZeroDivision };
  dict: Record<string, Scores | number>;
  text: { '2': string; '4': string };
  warnings: string[];
}
interface CmCase {
  name: string;
  y_true: Label[];
  y_pred: Label[];
  labels: Label[] | null;
  normalize: Normalize;
  labelsUsed: Label[];
  matrix: number[][];
  warnings: string[];
}
const fx = JSON.parse(readFileSync(`${fixtureDir}sklearn/reports.json`, 'utf8')) as {
  versions: Record<string, string>;
  multiclass: ReportCase[];
  multilabel: ReportCase[];
  confusion: CmCase[];
};

const TOL = 1e-12;

function expectDict(got: Record<string, Scores | number>, want: Record<string, Scores | number>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [key, w] of Object.entries(want)) {
    const g = got[key]!;
    if (typeof w === 'number') {
      expect(typeof g, key).toBe('number');
      expect(Math.abs((g as number) - w), key).toBeLessThanOrEqual(TOL);
    } else {
      for (const m of ['precision', 'recall', 'f1-score', 'support'] as const) {
        expect(Math.abs((g as Scores)[m] - w[m]), `${key} ${m}`).toBeLessThanOrEqual(TOL);
      }
    }
  }
}

function mcReport(c: ReportCase): ClassificationReport {
  return classificationReport(c.y_true as Label[], c.y_pred as Label[], c.args);
}
function mlReport(c: ReportCase): ClassificationReport {
  return multilabelReport(c.y_true as number[][], c.y_pred as number[][], c.args);
}
const byName = (cases: ReportCase[], name: string) => cases.find((c) => c.name === name)!;

describe('fixtures', () => {
  it('cover the cases the brief lists', async () => {
    expect(fx.versions.sklearn).toBe('1.9.1');
    expect(fx.multiclass.length + fx.multilabel.length).toBeGreaterThanOrEqual(8);
    const classes = fx.multiclass.map((c) => new Set([...(c.y_true as Label[]), ...(c.y_pred as Label[])]).size);
    expect(classes).toEqual(expect.arrayContaining([3, 7, 8]));
    expect(fx.multiclass.some((c) => c.y_true.length === 1)).toBe(true);
    expect(fx.multilabel.some((c) => (c.y_true[0] as number[]).length === 40)).toBe(true);
    expect(new Set(fx.confusion.map((c) => c.normalize))).toEqual(new Set([null, 'true', 'pred', 'all']));
  });
});

describe('classificationReport: scikit-learn parity', () => {
  for (const c of fx.multiclass) {
    it(`${c.name}: ${c.description}`, async () => {
      const r = mcReport(c);
      expectDict(reportDict(r), c.dict);
      expect(r.warnings).toEqual(c.warnings);
      expect(formatReport(r)).toBe(c.text['2']);
      expect(formatReport(r, 2)).toBe(c.text['2']);
      expect(formatReport(r, 4)).toBe(c.text['4']);
    });
  }

  it('labels: sorted union by default, given order otherwise; micro avg only for a non-covering subset', async () => {
    const r = mcReport(byName(fx.multiclass, 'balanced3_strings'));
    expect(r.labels).toEqual(['bird', 'cat', 'dog']);
    expect(r.accuracy).not.toBeNull();
    expect(r.averages.map((a) => a.name)).toEqual(['macro avg', 'weighted avg']);
    const sub = mcReport(byName(fx.multiclass, 'imbalanced7_labels_subset'));
    expect(sub.labels).toEqual([5, 1, 3]);
    expect(sub.accuracy).toBeNull();
    expect(sub.averages.map((a) => a.name)).toEqual(['micro avg', 'macro avg', 'weighted avg']);
    const sup = mcReport(byName(fx.multiclass, 'imbalanced7_labels_superset_names'));
    expect(sup.classes.map((x) => x.label)).toEqual([6, 0, 1, 2, 3, 4, 5, 7]);
    expect(sup.accuracy).not.toBeNull();
    // no sample right: sklearn prints supports as floats (see supportIsFloat)
    expect(mcReport(byName(fx.multiclass, 'none_right')).supportIsFloat).toBe(true);
    expect(mcReport(byName(fx.multiclass, 'none_right_in_subset')).supportIsFloat).toBe(false);
    // integer labels sort numerically, not as text
    expect(classificationReport([10, 2, 1], [1, 2, 10]).labels).toEqual([1, 2, 10]);
  });

  it('zero division: warn -> 0 with the warning, 0 -> 0 silently, 1 -> 1', async () => {
    const [w, z, o] = ['warn', '0', '1'].map((zd) => mcReport(byName(fx.multiclass, `emotions8_never_predicted_zd_${zd}`)));
    const contempt = (r: ClassificationReport) => r.classes.find((x) => x.name === 'contempt')!;
    expect(contempt(w!).precision).toBe(0);
    expect(w!.warnings).toHaveLength(1);
    expect(w!.warnings[0]).toMatch(/^Precision is ill-defined and being set to 0.0 in labels with no predicted samples/);
    expect(contempt(z!).precision).toBe(0);
    expect(z!.warnings).toEqual([]);
    expect(contempt(o!).precision).toBe(1);
    expect(contempt(o!)['f1-score']).toBe(0); // tp = 0 with true + pred > 0: F1 is defined, 0
  });

  it('text rounding is Python\'s (exact value, half to even), not toFixed\'s', async () => {
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect((0.125).toFixed(2)).toBe('0.13');
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(0.03125, 4)).toBe('0.0312');
    expect(formatFixed(0.96875, 4)).toBe('0.9688');
    expect(formatFixed(1.005, 2)).toBe('1.00'); // 1.005 is 1.00499999999999989...
    expect(formatFixed(0.5, 0)).toBe('0');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(0, 3)).toBe('0.000');
    expect(formatFixed(2 / 3, 4)).toBe('0.6667');
    expect(formatReport(mcReport(byName(fx.multiclass, 'rounding_ties')))).toContain('           b       0.62      0.62      0.62         8');
  });

  it('markdown: the same rounded numbers as a table', async () => {
    const r = mcReport(byName(fx.multiclass, 'rounding_ties'));
    expect(formatReportMarkdown(r)).toBe([
      '| | precision | recall | f1-score | support |',
      '|:---|---:|---:|---:|---:|',
      '| a | 0.14 | 0.12 | 0.13 | 8 |',
      '| b | 0.62 | 0.62 | 0.62 | 8 |',
      '| c | 0.76 | 0.81 | 0.79 | 16 |',
      '| accuracy | | | 0.59 | 32 |',
      '| macro avg | 0.51 | 0.52 | 0.52 | 32 |',
      '| weighted avg | 0.57 | 0.59 | 0.58 | 32 |',
      '',
    ].join('\n'));
    const ml = formatReportMarkdown(mlReport(byName(fx.multilabel, 'small3')), 4).split('\n');
    expect(ml.slice(-6, -1).map((l) => l.split(' | ')[0])).toEqual(['| 2', '| micro avg', '| macro avg', '| weighted avg', '| samples avg']);
    expect(formatReportMarkdown(classificationReport(['a|b', 'c'], ['a|b', 'c']))).toContain('| a\\|b | 1.00 |');
  });
});

describe('multilabelReport: scikit-learn parity', () => {
  for (const c of fx.multilabel) {
    it(`${c.name}: ${c.description}`, async () => {
      const r = mlReport(c);
      expectDict(reportDict(r), c.dict);
      expect(r.warnings).toEqual(c.warnings);
      expect(formatReport(r)).toBe(c.text['2']);
      expect(formatReport(r, 4)).toBe(c.text['4']);
      expect(r.accuracy).toBeNull();
      expect(r.averages.map((a) => a.name)).toEqual(['micro avg', 'macro avg', 'weighted avg', 'samples avg']);
    });
  }
});

describe('confusionMatrix: scikit-learn parity', () => {
  for (const c of fx.confusion) {
    it(`${c.name}, normalize=${c.normalize}`, async () => {
      const r = confusionMatrix(c.y_true, c.y_pred, { labels: c.labels ?? undefined, normalize: c.normalize });
      expect(r.labels).toEqual(c.labelsUsed);
      expect(r.normalize).toBe(c.normalize);
      expect(r.warnings).toEqual(c.warnings);
      expect(r.matrix.length).toBe(c.matrix.length);
      r.matrix.forEach((row, i) => {
        expect(row.length).toBe(c.matrix[i]!.length);
        row.forEach((v, j) => expect(Math.abs(v - c.matrix[i]![j]!), `[${i}][${j}]`).toBeLessThanOrEqual(TOL));
      });
      if (c.normalize === null) expect(r.matrix).toEqual(c.matrix);
    });
  }

  it('a label that is never true gives a zero row with normalize=true (0/0 -> 0, as sklearn)', async () => {
    const c = fx.confusion.find((x) => x.name === 'only_in_predictions_labels_plus_absent' && x.normalize === 'true')!;
    expect(c.matrix[4]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(confusionMatrix(c.y_true, c.y_pred, { labels: c.labels!, normalize: 'true' }).matrix[4]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('bad input: ConfigError with a clear message', () => {
  const bad = (f: () => unknown, re: RegExp) => {
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(re);
  };
  it('length mismatch', async () => {
    bad(() => classificationReport([1, 2, 3], [1, 2]), /yTrue has 3 labels and yPred has 2: they must have the same length/);
    bad(() => confusionMatrix(['a'], ['a', 'b']), /yTrue has 1 labels and yPred has 2/);
    bad(() => multilabelReport([[0, 1], [1, 0]], [[0, 1]]), /yTrue has 2 samples and yPred has 1/);
    bad(() => multilabelReport([[0, 1], [1, 0]], [[0, 1], [1, 0, 1]]), /yPred\[1\] has 3 labels, expected 2/);
    bad(() => multilabelReport([[0, 1, 1], [1, 0]], [[0, 1, 1], [1, 0, 0]]), /yTrue\[1\] has 2 labels, expected 3/);
  });
  it('empty input', async () => {
    bad(() => classificationReport([], []), /empty input: yTrue and yPred have no samples/);
    bad(() => confusionMatrix([], []), /empty input/);
    bad(() => multilabelReport([], []), /empty input/);
  });
  it('non-0/1 values in multilabel', async () => {
    bad(() => multilabelReport([[0, 1], [1, 2]], [[0, 1], [1, 1]]), /yTrue\[1\]\[1\] = 2: multilabel indicators must be 0 or 1/);
    bad(() => multilabelReport([[0, 1], [1, 1]], [[0, 0.5], [1, 1]]), /yPred\[0\]\[1\] = 0.5: multilabel indicators must be 0 or 1/);
    bad(() => multilabelReport([[0, 1]], [[0, -1]]), /yPred\[0\]\[1\] = -1/);
    bad(() => multilabelReport([[1], [0]], [[1], [0]]), /at least 2 labels/);
  });
  it('labels and options', async () => {
    bad(() => classificationReport([1, 'a'] as Label[], [1, 1]), /labels mix strings and numbers \(yTrue\[0\] = 1, yTrue\[1\] = 'a'\)/);
    bad(() => classificationReport([1.5, 2], [1, 2]), /yTrue\[0\] = 1.5 is not a class label/);
    bad(() => classificationReport([1, 2], [1, 2], { labels: [] }), /labels: give at least one label/);
    bad(() => classificationReport([1, 2], [1, 2], { labels: [1, 1] }), /labels: 1 is listed twice/);
    bad(() => classificationReport([1, 2], [1, 2], { labels: ['1'] }), /labels: '1' is not an integer label like those in yTrue and yPred/);
    bad(() => classificationReport([1, 2], [1, 2], { targetNames: ['one'] }), /targetNames has 1 names but there are 2 classes/);
    bad(() => classificationReport([1, 2], [1, 2], { zeroDivision: 2 as unknown as ZeroDivision }), /zeroDivision must be 'warn', 0 or 1/);
    bad(() => confusionMatrix([1, 2], [1, 2], { labels: [3, 4] }), /at least one of 3, 4 must occur in yTrue/);
    bad(() => formatReport(classificationReport([1], [1]), -1), /digits must be an integer/);
  });
});

describe('ganon stats report (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganon-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('multi-class CSV: --json gives sklearn\'s dict; the text table is sklearn\'s', async () => {
    const c = byName(fx.multiclass, 'imbalanced7_int');
    const csv = join(dir, 'emotions.csv');
    writeFileSync(csv, ['image,truth,predicted', ...(c.y_true as number[]).map((t, i) => `img${i}.png,${t},${(c.y_pred as number[])[i]}`)].join('\n'));
    const j = await ganon(['stats', 'report', '--input', csv, '--true', 'truth', '--pred', 'predicted', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout);
    expect([out.kind, out.samples, out.labels, out.zeroDivision, out.warnings]).toEqual(['multiclass', 400, [0, 1, 2, 3, 4, 5, 6], 'warn', []]);
    expectDict(out.report, c.dict);

    // string labels, --zero-division 1, --digits 4: the text sklearn prints
    const e = byName(fx.multiclass, 'emotions8_never_predicted_zd_1');
    const csv8 = join(dir, 'emotions8.csv');
    writeFileSync(csv8, ['truth,predicted', ...(e.y_true as string[]).map((t, i) => `${t},${(e.y_pred as string[])[i]}`)].join('\r\n'));
    const t = await ganon(['stats', 'report', '--input', csv8, '--true', 'truth', '--pred', 'predicted', '--digits', '4', '--zero-division', '1']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe(e.text['4']);
    expect(t.stderr).not.toContain('warning');
  });

  it('--multilabel long format: pivots to indicators (labels in first-seen order)', async () => {
    const c = byName(fx.multilabel, 'celeba40_zd_warn');
    const names = c.args.targetNames!;
    const lines = ['image,label,truth,pred'];
    (c.y_true as number[][]).forEach((row, i) => row.forEach((t, j) => lines.push(`face${i}.jpg,${names[j]},${t},${(c.y_pred as number[][])[i]![j]}`)));
    const csv = join(dir, 'celeba.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const j = await ganon(['stats', 'report', '--input', csv, '--true', 'truth', '--pred', 'pred', '--multilabel', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout);
    expect([out.kind, out.samples, out.labels]).toEqual(['multilabel', 200, names]);
    expect(out.warnings).toEqual(c.warnings);
    expectDict(out.report, c.dict);

    // an image without a row for some label is named in the error
    writeFileSync(csv, `${lines.filter((l) => !l.startsWith('face7.jpg,Smiling,')).join('\n')}\n`);
    const e = await ganon(['stats', 'report', '--input', csv, '--true', 'truth', '--pred', 'pred', '--multilabel']);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain("image 'face7.jpg' has no row for label 'Smiling'");
  });
});
