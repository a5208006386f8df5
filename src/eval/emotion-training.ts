/**
 * `ganon eval emotion-training`: the training scenario (paper Table 4). One
 * classifier is trained per method on that method's anonymized TRAINING split
 * (and one on the originals), and each is evaluated on the ORIGINAL validation
 * split: scikit-learn's classification report (precision, recall, F1, support,
 * accuracy, macro and weighted averages) and confusion matrices (counts and
 * row-normalised).
 *
 * RUN/<method>/ holds each classifier run (so a rerun resumes them), and
 * RUN/run.json = { kind: 'emotion-training', classes, methods, reports: {method: reportDict} },
 * RUN/confusion.arrow (method, true, pred, count, rate), RUN/table4.md.
 * With `predictions` (columns image, method, class, p, label) no training is done.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { ClassifierConfig } from '../config/classifier.js';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../io/fs.js';
import { decodeImage } from '../io/images.js';
import { openClassifierData, splitItems } from '../train/classifier-data.js';
import { trainClassifier } from '../train/classifier.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import { classificationReport, confusionMatrix, formatReportMarkdown, reportDict, type ClassificationReport } from './classification-report.js';
import { loadClassifier } from './classifier-model.js';
import { readPairedTable } from './paired.js';

export interface EmotionTrainingOptions {
  data?: string;
  methods: { name: string; dir: string }[];
  config?: ClassifierConfig;
  pretrained?: string;
  predictions?: string;
  outDir: string;
  backend: string;
  out?: NodeJS.WriteStream | null;
}

export interface EmotionTrainingResult {
  classes: string[];
  methods: string[];
  reports: Record<string, ClassificationReport>;
  /** Images of the original val split each classifier could not be scored on (decode errors). */
  errors: Record<string, string[]>;
}

export async function runEmotionTraining(opts: EmotionTrainingOptions): Promise<EmotionTrainingResult> {
  const r = opts.predictions !== undefined ? await fromPredictions(opts) : await trainAndPredict(opts);
  const reports: Record<string, ClassificationReport> = {};
  const confusion = { method: [] as string[], true: [] as string[], pred: [] as string[], count: [] as number[], rate: [] as number[] };
  for (const m of r.methods) {
    const { yTrue, yPred } = r.labels[m]!;
    if (yTrue.length === 0) throw new InputError(`method '${m}': no validation predictions`);
    reports[m] = classificationReport(yTrue, yPred, { labels: r.classes });
    const counts = confusionMatrix(yTrue, yPred, { labels: r.classes });
    const rates = confusionMatrix(yTrue, yPred, { labels: r.classes, normalize: 'true' });
    r.classes.forEach((t, i) => r.classes.forEach((p, j) => {
      confusion.method.push(m); confusion.true.push(t); confusion.pred.push(p);
      confusion.count.push(counts.matrix[i]![j]!); confusion.rate.push(rates.matrix[i]![j]!);
    }));
  }
  await mkdir(opts.outDir, { recursive: true });
  await writeFileAtomic(join(opts.outDir, 'confusion.arrow'), tableToIPC(tableFromArrays({
    method: confusion.method, true: confusion.true, pred: confusion.pred, count: Int32Array.from(confusion.count), rate: Float64Array.from(confusion.rate),
  }), 'file'));
  const md = r.methods.map((m) => `### Trained on ${m}\n\n${formatReportMarkdown(reports[m]!, 2)}`).join('\n');
  await writeFileAtomic(join(opts.outDir, 'table4.md'), `Table 4: classifiers trained on each method's anonymized training split, evaluated on the ORIGINAL validation split (scikit-learn classification_report).\n\n${md}`);
  const json = {
    kind: 'emotion-training', toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), createdAt: new Date().toISOString(),
    source: opts.predictions !== undefined ? `predictions file ${opts.predictions}` : 'trained here', classes: r.classes, methods: r.methods,
    reports: Object.fromEntries(r.methods.map((m) => [m, reportDict(reports[m]!)])),
    warnings: Object.fromEntries(r.methods.map((m) => [m, reports[m]!.warnings])), errors: r.errors,
  };
  await writeFileAtomic(join(opts.outDir, 'run.json'), `${JSON.stringify(json, null, 2)}\n`);
  return { classes: r.classes, methods: r.methods, reports, errors: r.errors };
}

interface Labels { classes: string[]; methods: string[]; labels: Record<string, { yTrue: string[]; yPred: string[] }>; errors: Record<string, string[]> }

async function trainAndPredict(opts: EmotionTrainingOptions): Promise<Labels> {
  if (opts.data === undefined) throw new InputError('--data DIR (the original dataset with labels) is needed unless --predictions is given');
  if (opts.config === undefined) throw new InputError('a classifier config is needed');
  const config = { ...opts.config, task: 'emotion' as const };
  const original = openClassifierData(opts.data, { task: 'emotion', labelKey: config.data.labelKey });
  const classes = original.classes;
  const val = splitItems(original, 'val');
  if (val.length === 0) throw new InputError(`'${opts.data}': the original val split is empty`);
  const runs = [{ name: 'original', dir: undefined as string | undefined }, ...opts.methods.map((m) => ({ name: m.name, dir: m.dir as string | undefined }))];
  const labels: Labels['labels'] = {};
  const errors: Labels['errors'] = {};
  for (const run of runs) {
    const runDir = join(opts.outDir, run.name);
    opts.out?.write(`training on ${run.name}${run.dir ? ` (${run.dir})` : ''} -> ${runDir}\n`);
    await trainClassifier({ config, dataDir: opts.data, imagesDir: run.dir, classes, outDir: runDir, pretrained: opts.pretrained, resume: true, backend: opts.backend, out: opts.out });
    const model = await loadClassifier(runDir);
    const yTrue: string[] = [];
    const yPred: string[] = [];
    errors[run.name] = [];
    try {
      for (let i = 0; i < val.length; i += 32) {
        const chunk = val.slice(i, i + 32);
        const decoded = await Promise.allSettled(chunk.map((it) => decodeImage(it.path)));
        const ok = decoded.flatMap((d, j) => (d.status === 'fulfilled' ? [{ img: d.value, item: chunk[j]! }] : (errors[run.name]!.push(chunk[j]!.id), [])));
        if (ok.length === 0) continue;
        const probs = await model.predict(ok.map((o) => o.img));
        ok.forEach((o, j) => {
          yTrue.push(classes[o.item.label as number]!);
          yPred.push(classes[argmax(probs[j]!)]!);
        });
      }
    } finally {
      model.dispose();
    }
    labels[run.name] = { yTrue, yPred };
  }
  return { classes, methods: runs.map((r) => r.name), labels, errors };
}

function argmax(p: ArrayLike<number>): number {
  let a = 0;
  for (let j = 1; j < p.length; j++) if (p[j]! > p[a]!) a = j;
  return a;
}

async function fromPredictions(opts: EmotionTrainingOptions): Promise<Labels> {
  const t = await readPairedTable(opts.predictions!);
  for (const col of ['image', 'method', 'class', 'p', 'label']) {
    if (!t.columns.includes(col)) throw new InputError(`${opts.predictions}: no column '${col}' (columns: ${t.columns.join(', ')}); expected image, method, class, p, label`);
  }
  const classes: string[] = [];
  const methods: string[] = [];
  const per = new Map<string, Map<string, { label: string; best: string; p: number }>>();
  t.rows.forEach((row, i) => {
    const m = String(row.method);
    const c = String(row.class);
    const p = Number(row.p);
    if (!Number.isFinite(p)) throw new InputError(`${opts.predictions}: row ${i + 2}: p = ${String(row.p)} is not a number`);
    if (!classes.includes(c)) classes.push(c);
    if (!methods.includes(m)) methods.push(m);
    if (!per.has(m)) per.set(m, new Map());
    const img = String(row.image);
    const cur = per.get(m)!.get(img);
    const label = String(row.label);
    if (cur !== undefined && cur.label !== label) throw new InputError(`${opts.predictions}: image '${img}' (method ${m}) has two labels: ${cur.label} and ${label}`);
    if (cur === undefined || p > cur.p) per.get(m)!.set(img, { label, best: c, p });
  });
  const selected = opts.methods.map((m) => m.name);
  const use = selected.length > 0 ? (methods.includes('original') && !selected.includes('original') ? ['original', ...selected] : selected) : methods;
  const labels: Labels['labels'] = {};
  for (const m of use) {
    const rows = per.get(m);
    if (rows === undefined) throw new InputError(`${opts.predictions}: no rows for method '${m}' (methods in the file: ${methods.join(', ')})`);
    const sorted = [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    labels[m] = { yTrue: sorted.map(([, v]) => v.label), yPred: sorted.map(([, v]) => v.best) };
  }
  const known = new Set(classes);
  for (const m of use) for (const l of labels[m]!.yTrue) if (!known.has(l)) throw new InputError(`${opts.predictions}: label '${l}' is not one of the classes (${classes.join(', ')})`);
  return { classes, methods: use, labels, errors: Object.fromEntries(use.map((m) => [m, []])) };
}
