/**
 * `ganon eval emotion`: the inference scenario harness (Tables 2 and 3).
 *
 * Originals are the aligned face crops (e.g. `ganon preprocess` faces/, or the
 * reference's crop+segmentation images); each method is a folder of its outputs
 * matched by name (src/eval/match.ts), or a baseline computed here on the
 * original crop (`pixelate:16`, `blur:17`, `mask`). A classifier (an
 * ImagePredictor: the embedded proxy or a trained ConvNeXt run) gives class
 * probabilities for every original and every method image; or the user gives
 * them in a predictions file (columns image, method, class, p; the originals'
 * rows have method `original`).
 *
 * Every original and method file gets a status (ok, missing, error, extra);
 * pairs are kept complete for the statistics. Writes outDir/emotion.arrow
 * (image, method, class, p_orig, p_anon), table2.md, table3.md, run.json.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../io/fs.js';
import { decodeImage, type RgbImage } from '../io/images.js';
import { blur, mask, pixelate } from '../pipeline/baselines.js';
import { methodLabel, parseMethod } from '../pipeline/anonymize.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import { formatTable2, formatTable3, table2, table3, type EmotionRow, type Table2, type Table3Row } from './emotion.js';
import { mapClasses } from './emotion-proxy.js';
import { listImages, matchMethod } from './match.js';
import { readPairedTable } from './paired.js';
import type { ImagePredictor } from './predictor.js';

export interface EmotionRunOptions {
  /** Folder of original face crops (recursive). Not needed with `predictions`. */
  original?: string;
  methods: { name: string; dir: string }[];
  /** Baselines computed on the original crops: 'pixelate:16', 'blur:17', 'mask', ... */
  baselines?: string[];
  predictor?: ImagePredictor;
  predictions?: string;
  /** Reference method of Table 3 (default: the first method). */
  reference?: string;
  /** The dataset's class names: the classifier's classes are mapped onto them by name; the ones it lacks are reported. */
  classes?: string[];
  dataset?: string;
  split?: string;
  outDir: string;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface MethodCounts { ok: number; missing: number; extra: number; error: number; missingFiles: string[]; extraFiles: string[]; errorFiles: string[] }

export interface EmotionRun {
  classes: string[];
  unavailable: string[];
  methods: string[];
  reference: string;
  originals: { ok: number; error: number; errorFiles: string[] };
  counts: Record<string, MethodCounts>;
  table2: Table2;
  table3: Table3Row[];
  rows: EmotionRow[];
}

const BATCH = 32;

type Probs = Map<string, Float64Array>; // image -> probabilities in `classes` order

export async function runEmotionEval(opts: EmotionRunOptions): Promise<EmotionRun> {
  const baselineNames = (opts.baselines ?? []).map((b) => methodLabel(parseMethod(b)));
  const methodNames = [...opts.methods.map((m) => m.name), ...baselineNames];
  if (methodNames.length === 0 && opts.predictions === undefined) throw new InputError('name at least one --method NAME=DIR or --baselines');
  const dup = methodNames.find((m, i) => methodNames.indexOf(m) !== i);
  if (dup !== undefined) throw new InputError(`method '${dup}' is given twice`);
  if (methodNames.includes('original')) throw new InputError("'original' is reserved for the original images; name the method otherwise");

  const r = opts.predictions !== undefined ? await fromPredictionsFile(opts) : await fromPredictor(opts, baselineNames);
  const reference = opts.reference ?? r.methods[0];
  if (reference === undefined) throw new InputError('no methods to compare');
  if (!r.methods.includes(reference)) throw new InputError(`--reference '${reference}' is not one of the methods (${r.methods.join(', ')})`);

  const rows: EmotionRow[] = [];
  for (const m of r.methods) {
    const anon = r.anon.get(m)!;
    for (const [image, pa] of [...anon].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const po = r.orig.get(image);
      if (po === undefined) continue;
      r.classes.forEach((c, k) => rows.push({ image, method: m, class: c, p_orig: po[k]!, p_anon: pa[k]! }));
    }
  }
  const t2 = table2(rows, r.classes, r.methods);
  const t3 = r.methods.length > 1 ? table3(rows, r.classes, r.methods, reference) : [];
  const run: EmotionRun = { classes: r.classes, unavailable: r.unavailable, methods: r.methods, reference, originals: r.originals, counts: r.counts, table2: t2, table3: t3, rows };
  await writeOutputs(run, opts, r.classifier);
  return run;
}

interface Collected {
  classes: string[];
  unavailable: string[];
  methods: string[];
  orig: Probs;
  anon: Map<string, Probs>;
  originals: EmotionRun['originals'];
  counts: Record<string, MethodCounts>;
  classifier: { name: string; proxy: boolean; weightsSha256?: string } | 'predictions file';
}

const emptyCounts = (): MethodCounts => ({ ok: 0, missing: 0, extra: 0, error: 0, missingFiles: [], extraFiles: [], errorFiles: [] });

async function fromPredictor(opts: EmotionRunOptions, baselines: string[]): Promise<Collected> {
  const predictor = opts.predictor;
  if (predictor === undefined) throw new InputError('a classifier (--classifier) or a predictions file (--predictions) is needed');
  if (predictor.kind !== 'multiclass') throw new InputError(`classifier '${predictor.name}' is multi-label; emotion needs a multi-class classifier`);
  if (opts.original === undefined) throw new InputError('--original DIR is needed with a classifier');
  const { classes, unavailable, pick } = classMap(predictor.classes, opts.classes);
  if (!predictor.proxy && unavailable.length > 0) {
    throw new InputError(`classifier '${predictor.name}' has classes [${predictor.classes.join(', ')}], which do not cover the dataset's [${(opts.classes ?? []).join(', ')}] (missing: ${unavailable.join(', ')}); a classifier trained on this dataset has its classes`);
  }

  const originals = listImages(opts.original);
  if (originals.length === 0) throw new InputError(`'${opts.original}' has no images`);
  const orig: Probs = new Map();
  const origImages = new Map<string, RgbImage>();
  const originalStatus = { ok: 0, error: 0, errorFiles: [] as string[] };
  const keepForBaselines = baselines.length > 0;
  await predictFiles(predictor, originals.map((rel) => ({ key: rel, path: join(opts.original!, rel) })), pick, (key, p, img) => {
    orig.set(key, p);
    originalStatus.ok += 1;
    if (keepForBaselines) origImages.set(key, img);
  }, (key) => {
    originalStatus.error += 1;
    originalStatus.errorFiles.push(key);
  }, (d, t) => opts.onProgress?.('original', d, t));

  const anon = new Map<string, Probs>();
  const counts: Record<string, MethodCounts> = {};
  for (const m of opts.methods) {
    const c = emptyCounts();
    const probs: Probs = new Map();
    const match = matchMethod(originals, listImages(m.dir));
    c.missingFiles = match.missing;
    c.missing = match.missing.length;
    c.extraFiles = match.extra;
    c.extra = match.extra.length;
    await predictFiles(predictor, [...match.matched].map(([rel, file]) => ({ key: rel, path: join(m.dir, file) })), pick, (key, p) => {
      probs.set(key, p);
      c.ok += 1;
    }, (key) => {
      c.error += 1;
      c.errorFiles.push(key);
    }, (d, t) => opts.onProgress?.(m.name, d, t));
    anon.set(m.name, probs);
    counts[m.name] = c;
  }
  for (const b of baselines) {
    const method = parseMethod(b);
    const c = emptyCounts();
    const probs: Probs = new Map();
    const keys = [...origImages.keys()];
    for (let i = 0; i < keys.length; i += BATCH) {
      const chunk = keys.slice(i, i + BATCH);
      const imgs = chunk.map((k) => {
        const img = origImages.get(k)!;
        return method.kind === 'pixelate' ? pixelate(img, method.n) : method.kind === 'blur' ? blur(img, method.k, method.filter) : mask(img);
      });
      const p = await predictor.predict(imgs);
      chunk.forEach((k, j) => probs.set(k, pick(p[j]!)));
      c.ok += chunk.length;
      opts.onProgress?.(b, Math.min(i + BATCH, keys.length), keys.length);
    }
    anon.set(b, probs);
    counts[b] = c;
  }
  return {
    classes, unavailable, methods: [...opts.methods.map((m) => m.name), ...baselines], orig, anon, originals: originalStatus, counts,
    classifier: { name: predictor.name, proxy: predictor.proxy, ...(predictor.weightsSha256 ? { weightsSha256: predictor.weightsSha256 } : {}) },
  };
}

/** The classifier's classes, or the dataset's classes mapped onto them by name. */
function classMap(modelClasses: readonly string[], dataset: string[] | undefined) {
  if (dataset === undefined || dataset.length === 0) return { classes: [...modelClasses], unavailable: [] as string[], pick: (p: Float32Array) => Float64Array.from(p) };
  const { mapping, unavailable } = mapClasses(modelClasses, dataset);
  const kept = dataset.map((c, i) => [c, mapping[i]] as const).filter((e): e is readonly [string, number] => e[1] !== null);
  if (kept.length === 0) throw new InputError(`none of the classes [${dataset.join(', ')}] is predicted by the classifier (its classes: ${modelClasses.join(', ')})`);
  return { classes: kept.map(([c]) => c), unavailable, pick: (p: Float32Array) => Float64Array.from(kept, ([, j]) => p[j]!) };
}

async function predictFiles(
  predictor: ImagePredictor, files: { key: string; path: string }[], pick: (p: Float32Array) => Float64Array,
  ok: (key: string, p: Float64Array, img: RgbImage) => void, bad: (key: string, message: string) => void,
  progress: (done: number, total: number) => void,
): Promise<void> {
  for (let i = 0; i < files.length; i += BATCH) {
    const chunk = files.slice(i, i + BATCH);
    const decoded = await Promise.allSettled(chunk.map((f) => decodeImage(f.path)));
    const good: { key: string; img: RgbImage }[] = [];
    decoded.forEach((d, j) => {
      if (d.status === 'fulfilled') good.push({ key: chunk[j]!.key, img: d.value });
      else bad(chunk[j]!.key, (d.reason as Error).message);
    });
    if (good.length > 0) {
      const p = await predictor.predict(good.map((g) => g.img));
      good.forEach((g, j) => ok(g.key, pick(p[j]!), g.img));
    }
    progress(Math.min(i + BATCH, files.length), files.length);
  }
}

async function fromPredictionsFile(opts: EmotionRunOptions): Promise<Collected> {
  const table = await readPairedTable(opts.predictions!);
  for (const col of ['image', 'method', 'class', 'p']) {
    if (!table.columns.includes(col)) throw new InputError(`${opts.predictions}: no column '${col}' (columns: ${table.columns.join(', ')}); expected image, method, class, p`);
  }
  const classes: string[] = [];
  const methods: string[] = [];
  const values = new Map<string, Map<string, Map<string, number>>>(); // method -> image -> class -> p
  table.rows.forEach((row, i) => {
    const method = String(row.method);
    const cls = String(row.class);
    const p = Number(row.p);
    if (!Number.isFinite(p) || p < 0 || p > 1) throw new InputError(`${opts.predictions}: row ${i + 2}: p = ${String(row.p)} is not a probability in [0, 1]`);
    if (!classes.includes(cls)) classes.push(cls);
    if (method !== 'original' && !methods.includes(method)) methods.push(method);
    if (!values.has(method)) values.set(method, new Map());
    const byImage = values.get(method)!;
    if (!byImage.has(String(row.image))) byImage.set(String(row.image), new Map());
    byImage.get(String(row.image))!.set(cls, p);
  });
  const orig = values.get('original');
  if (orig === undefined) throw new InputError(`${opts.predictions}: no rows with method 'original' (the original images' probabilities)`);
  const wanted = opts.classes && opts.classes.length > 0 ? opts.classes : classes;
  const missingClass = wanted.filter((c) => !classes.includes(c));
  if (missingClass.length > 0 && opts.classes) throw new InputError(`${opts.predictions}: classes [${missingClass.join(', ')}] have no predictions (the file has: ${classes.join(', ')})`);
  const toVec = (m: Map<string, number>, image: string, method: string) => Float64Array.from(wanted, (c) => {
    const v = m.get(c);
    if (v === undefined) throw new InputError(`${opts.predictions}: image '${image}' (method ${method}) has no row for class '${c}'`);
    return v;
  });
  const origProbs: Probs = new Map([...orig].map(([img, m]) => [img, toVec(m, img, 'original')]));
  const anon = new Map<string, Probs>();
  const counts: Record<string, MethodCounts> = {};
  const selected = [...opts.methods.map((m) => m.name)].filter((m) => m.length > 0);
  const useMethods = selected.length > 0 ? selected : methods;
  for (const m of useMethods) {
    const byImage = values.get(m);
    if (byImage === undefined) throw new InputError(`${opts.predictions}: no rows for method '${m}' (methods in the file: ${methods.join(', ')})`);
    const c = emptyCounts();
    const probs: Probs = new Map();
    for (const [img, vals] of byImage) {
      if (!origProbs.has(img)) {
        c.extra += 1;
        c.extraFiles.push(img);
        continue;
      }
      probs.set(img, toVec(vals, img, m));
      c.ok += 1;
    }
    for (const img of origProbs.keys()) {
      if (!byImage.has(img)) {
        c.missing += 1;
        c.missingFiles.push(img);
      }
    }
    anon.set(m, probs);
    counts[m] = c;
  }
  return { classes: [...wanted], unavailable: [], methods: useMethods, orig: origProbs, anon, originals: { ok: origProbs.size, error: 0, errorFiles: [] }, counts, classifier: 'predictions file' };
}

async function writeOutputs(run: EmotionRun, opts: EmotionRunOptions, classifier: Collected['classifier']): Promise<void> {
  await mkdir(opts.outDir, { recursive: true });
  const cols = {
    image: run.rows.map((r) => r.image), method: run.rows.map((r) => r.method), class: run.rows.map((r) => r.class),
    p_orig: Float64Array.from(run.rows, (r) => r.p_orig), p_anon: Float64Array.from(run.rows, (r) => r.p_anon),
  };
  await writeFileAtomic(join(opts.outDir, 'emotion.arrow'), tableToIPC(tableFromArrays(cols), 'file'));
  const who = classifier === 'predictions file' ? `predictions file ${opts.predictions}` : `${classifier.name}${classifier.proxy ? ' (PROXY: not the paper\'s ConvNeXt)' : ''}`;
  const where = `${opts.dataset ?? 'dataset not named'}${opts.split ? `, ${opts.split} split` : ''}`;
  await writeFileAtomic(join(opts.outDir, 'table2.md'), formatTable2(run.table2, `Table 2: mean |p_anon - p_orig| per emotion (lower is better). ${where}; classifier: ${who}.${run.unavailable.length ? ` Not predicted by the classifier: ${run.unavailable.join(', ')}.` : ''}`));
  await writeFileAtomic(join(opts.outDir, 'table3.md'), formatTable3(run.table3, `Table 3: ${run.reference} vs each method, per emotion. ${where}; classifier: ${who}.`));
  const json = {
    kind: 'emotion', toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), createdAt: new Date().toISOString(),
    dataset: opts.dataset ?? null, split: opts.split ?? null, classifier, reference: run.reference, methods: run.methods,
    classes: run.classes, unavailable: run.unavailable, originals: run.originals, counts: run.counts,
    table2: run.table2, table3: run.table3,
  };
  await writeFileAtomic(join(opts.outDir, 'run.json'), `${JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}
