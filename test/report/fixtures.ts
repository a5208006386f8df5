/**
 * Synthetic run directories following the contracts the report reads (docs/report.md):
 * identity (run.json + identity.arrow, numbers from the real computeIdentity), emotion (run.json +
 * emotion.arrow), emotion-training (reports from the real classificationReport, confusion.arrow
 * from confusionMatrix, zero cells left out), attributes (table6, table5 from multilabelReport,
 * attributes.arrow), GAN training (steps.arrow through the real writer, samples/*.png) and
 * classifier training (epochs.arrow); plus an empty directory and one with an unknown kind.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import sharp from 'sharp';
import { classificationReport, confusionMatrix, multilabelReport, reportDict } from '../../src/eval/classification-report.js';
import { computeIdentity } from '../../src/eval/identity.js';
import { writeStepLog, type StepRow } from '../../src/train/steplog.js';
import { Rng } from '../../src/util/rng.js';

export const EMOTION = {
  dataset: 'CK+', split: 'val',
  classifier: { name: 'proxy-emotion-fer2013', proxy: true, weightsSha256: 'a'.repeat(64) },
  reference: 'GANonymization',
  methods: ['GANonymization', 'DeepPrivacy2', 'CIAGAN'],
  classes: ['neutral', 'anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise'],
  n: 68,
};
/** Table 2 value of (method index, class index); CIAGAN/fear is missing (null). */
export function emotionMean(mi: number, ci: number): number | null {
  if (mi === 2 && ci === 3) return null;
  return +(0.05 + 0.01 * ci + 0.1 * mi).toFixed(4);
}
export function emotionP(mi: number, ci: number): number {
  return [0.0004, 0.004, 0.03, 0.2, 0.00001, 0.45, 0.049][ci]! * mi;
}

export const TRAINING = {
  dataset: 'FACES', split: 'val',
  classes: ['happy', 'neutral', 'sad'],
  methods: ['Original', 'GANonymization'],
};
export function trainingLabels(mi: number): { yTrue: string[]; yPred: string[] } {
  const yTrue: string[] = [];
  const yPred: string[] = [];
  const c = TRAINING.classes;
  for (let i = 0; i < 30; i++) {
    const t = c[i % 3]!;
    yTrue.push(t);
    // Original: right but for every 10th; GANonymization: every 3rd wrong, 'sad' never predicted as 'happy'
    yPred.push(mi === 0 ? (i % 10 === 0 ? c[(i + 1) % 3]! : t) : i % 3 === 0 ? c[(i % 3) + 1]! : t);
  }
  return { yTrue, yPred };
}

export const ATTRS = {
  dataset: 'CelebA', split: 'val',
  attributes: ['Bald', 'Eyeglasses', 'Smiling', 'Young', 'Wearing Hat'],
  methods: ['GANonymization', 'DeepPrivacy2'],
  classifier: { name: 'celeba-attributes', proxy: false, weightsSha256: 'b'.repeat(64) },
};
/** kept/removed of (method, attribute); DeepPrivacy2/Wearing Hat: no image has the attribute. */
export function attrCounts(mi: number, ai: number): { kept: number; removed: number } {
  if (mi === 1 && ai === 4) return { kept: 0, removed: 0 };
  const total = 10 + ai;
  const removed = mi === 0 ? [10, 7, 1, 0, 9][ai]! : [2, 3, 1, 0, 4][ai]!;
  return { kept: total - removed, removed };
}

export const IDENTITY_METHODS = ['GANonymization', 'pixel8', 'blur9'];
export const GAN_STEPS = 12;
export const EPOCHS = 5;

export interface SyntheticRuns {
  root: string;
  identity: string;
  emotion: string;
  emotionTraining: string;
  attributes: string;
  gan: string;
  classifier: string;
  empty: string;
  unknown: string;
  images: { originals: string; landmarks: string; method: string };
}

const ipc = (cols: Record<string, unknown>) => tableToIPC(tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]), 'file');
const json = (path: string, v: unknown) => writeFileSync(path, `${JSON.stringify(v, null, 2)}\n`);

async function png(path: string, rgb: [number, number, number], size = 48): Promise<void> {
  await sharp({ create: { width: size, height: size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(path);
}

export async function writeSyntheticRuns(root: string): Promise<SyntheticRuns> {
  const d = (name: string) => {
    const p = join(root, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const prov = { toolkitVersion: '0.1.0', gitCommit: 'abc1234' };

  // ---- identity: 8 originals, real metrics on random embeddings
  const identity = d('identity');
  const rng = new Rng(7);
  const dim = 16;
  const emb = () => Float32Array.from({ length: dim }, () => rng.uniform() * 2 - 1);
  const originals = Array.from({ length: 8 }, (_, i) => ({ key: `img${i}.png`, embedding: emb() }));
  const noise = [0.9, 0.4, 0.05];
  const methods = IDENTITY_METHODS.map((name, mi) => ({
    name,
    // blur9 misses img7
    faces: originals.filter((o) => !(mi === 2 && o.key === 'img7.png')).map((o) => ({ key: o.key, embedding: Float32Array.from(o.embedding, (v) => v + noise[mi]! * (rng.uniform() * 2 - 1)) })),
  }));
  const result = computeIdentity({ embedder: { name: 'proxy-faceres', proxy: true }, threshold: 0.3, originals, methods, resamples: 200 });
  const rows: { original: string; method: string; file: string; match: string; status: string; distance: number; rank: number; message: string }[] = [];
  for (const ms of result.methods) {
    for (const o of originals) {
      const p = ms.pairs.find((x) => x.key === o.key);
      rows.push(p ? { original: o.key, method: ms.name, file: `0_${o.key}`, match: 'crop', status: 'ok', distance: p.distance, rank: p.rank, message: '' }
        : { original: o.key, method: ms.name, file: '', match: '', status: 'missing', distance: NaN, rank: 0, message: 'missing' });
    }
  }
  rows.push({ original: '', method: 'pixel8', file: 'stray.png', match: '', status: 'extra', distance: NaN, rank: 0, message: 'extra' });
  writeFileSync(join(identity, 'identity.arrow'), ipc({
    original: rows.map((r) => r.original), method: rows.map((r) => r.method), file: rows.map((r) => r.file), match: rows.map((r) => r.match),
    status: rows.map((r) => r.status), distance: Float64Array.from(rows.map((r) => r.distance)), rank: Int32Array.from(rows.map((r) => r.rank)),
    message: rows.map((r) => r.message), embedder: rows.map(() => 'proxy-faceres'), proxy: rows.map(() => 'proxy'),
  }));
  json(join(identity, 'run.json'), {
    embedder: { name: 'proxy-faceres', proxy: true, dim, label: 'proxy-faceres (proxy; not Facenet512)' },
    threshold: 0.3, imageSize: 512, reference: result.reference, seed: result.seed, resamples: result.resamples,
    original: '/data/originals', methods: IDENTITY_METHODS.map((name) => ({ name, dir: `/data/${name}` })),
    counts: { originals: 8, faces: 8, noFace: 0, errors: 0, methods: {} }, embeddingsPerSecond: 100,
    summary: result.methods.map(({ pairs: _p, ...s }) => s), comparisons: result.comparisons, ...prov, createdAt: '2026-01-01T00:00:00Z',
  });

  // ---- emotion
  const emotion = d('emotion-ckplus');
  const mean: Record<string, Record<string, number | null>> = {};
  EMOTION.methods.forEach((m, mi) => {
    mean[m] = Object.fromEntries(EMOTION.classes.map((c, ci) => [c, emotionMean(mi, ci)]));
  });
  const table3 = EMOTION.classes.flatMap((c, ci) => EMOTION.methods.slice(1).map((m, k) => {
    const mi = k + 1;
    const p = emotionP(mi, ci);
    const pB = Math.min(1, p * 14);
    const z = -1 - ci - 0.5 * mi;
    const stars = (x: number) => (x < 0.001 ? '***' : x < 0.01 ? '**' : x < 0.05 ? '*' : '');
    return { class: c, method: m, reference: EMOTION.reference, n: EMOTION.n, zeros: ci, statistic: 100 + ci, z, r: z / Math.sqrt(EMOTION.n), p, pBonferroni: pB, stars: stars(p), starsBonferroni: stars(pB), shapiro: { w: 0.9 - 0.01 * ci, p: 0.001 * (ci + 1) } };
  }));
  json(join(emotion, 'run.json'), {
    kind: 'emotion', ...prov, dataset: EMOTION.dataset, split: EMOTION.split, classifier: EMOTION.classifier, reference: EMOTION.reference,
    methods: EMOTION.methods, classes: EMOTION.classes, unavailable: ['contempt'],
    counts: Object.fromEntries(EMOTION.methods.map((m) => [m, { ok: EMOTION.n, missing: 0, extra: 0, error: 0 }])),
    table2: { classes: EMOTION.classes, methods: EMOTION.methods, mean, n: Object.fromEntries(EMOTION.methods.map((m) => [m, EMOTION.n])) },
    table3,
  });
  const er = EMOTION.methods.flatMap((m) => EMOTION.classes.slice(0, 2).map((c, i) => ({ image: `img${i}.png`, method: m, class: c, p_orig: 0.5, p_anon: 0.4 })));
  writeFileSync(join(emotion, 'emotion.arrow'), ipc({ image: er.map((r) => r.image), method: er.map((r) => r.method), class: er.map((r) => r.class), p_orig: Float64Array.from(er.map((r) => r.p_orig)), p_anon: Float64Array.from(er.map((r) => r.p_anon)) }));

  // ---- emotion-training
  const emotionTraining = d('emotion-training-faces');
  const reports: Record<string, unknown> = {};
  const cm: { method: string; true: string; pred: string; count: number; rate: number }[] = [];
  TRAINING.methods.forEach((m, mi) => {
    const { yTrue, yPred } = trainingLabels(mi);
    reports[m] = reportDict(classificationReport(yTrue, yPred, { labels: TRAINING.classes }));
    const counts = confusionMatrix(yTrue, yPred, { labels: TRAINING.classes }).matrix;
    const rates = confusionMatrix(yTrue, yPred, { labels: TRAINING.classes, normalize: 'true' }).matrix;
    TRAINING.classes.forEach((t, i) => TRAINING.classes.forEach((p, j) => {
      if (counts[i]![j]! > 0) cm.push({ method: m, true: t, pred: p, count: counts[i]![j]!, rate: rates[i]![j]! });
    }));
  });
  json(join(emotionTraining, 'run.json'), { kind: 'emotion-training', ...prov, dataset: TRAINING.dataset, split: TRAINING.split, classifier: { name: 'convnext_tiny', proxy: false }, classes: TRAINING.classes, methods: TRAINING.methods, reports });
  writeFileSync(join(emotionTraining, 'confusion.arrow'), ipc({ method: cm.map((r) => r.method), true: cm.map((r) => r.true), pred: cm.map((r) => r.pred), count: Int32Array.from(cm.map((r) => r.count)), rate: Float64Array.from(cm.map((r) => r.rate)) }));

  // ---- attributes
  const attributes = d('attributes-celeba');
  const table6 = ATTRS.methods.flatMap((m, mi) => ATTRS.attributes.map((a, ai) => {
    const { kept, removed } = attrCounts(mi, ai);
    return { attribute: a, method: m, kept, removed, rate: kept + removed === 0 ? null : removed / (kept + removed) };
  }));
  const yT = Array.from({ length: 12 }, (_, i) => ATTRS.attributes.map((_a, j) => ((i + j) % 3 === 0 ? 1 : 0)));
  const yP = yT.map((r, i) => r.map((v, j) => (i === j ? 1 - v : v)));
  const t5 = reportDict(multilabelReport(yT, yP, { targetNames: ATTRS.attributes }));
  json(join(attributes, 'run.json'), {
    kind: 'attributes', ...prov, dataset: ATTRS.dataset, split: ATTRS.split, classifier: ATTRS.classifier, methods: ATTRS.methods, attributes: ATTRS.attributes,
    counts: Object.fromEntries(ATTRS.methods.map((m) => [m, { ok: 20, missing: 0, extra: 0, error: 0 }])), table6, table5: t5,
  });
  const ar = ATTRS.methods.flatMap((m) => ATTRS.attributes.map((a) => ({ image: 'img0.png', method: m, attribute: a, p_orig: 0.8, p_anon: 0.2 })));
  writeFileSync(join(attributes, 'attributes.arrow'), ipc({ image: ar.map((r) => r.image), method: ar.map((r) => r.method), attribute: ar.map((r) => r.attribute), p_orig: Float64Array.from(ar.map((r) => r.p_orig)), p_anon: Float64Array.from(ar.map((r) => r.p_anon)) }));

  // ---- GAN training
  const gan = d('gan-run');
  const steps: StepRow[] = Array.from({ length: GAN_STEPS }, (_, i) => ({ step: i + 1, epoch: Math.floor(i / 6), G: 50 - i, G_adv: 1 + 0.01 * i, G_L1: 0.49 - 0.01 * i, D: 0.5 - 0.01 * i, imgPerSec: 2 + 0.1 * i, time: 1.7e9 + i }));
  writeStepLog(join(gan, 'steps.arrow'), steps);
  json(join(gan, 'run.json'), { ...prov, backend: 'wasm', dataset: { root: '/data/celeba-pre', layout: 'manifest', train: 40, val: 4 } });
  mkdirSync(join(gan, 'samples'));
  await png(join(gan, 'samples', 'step-00000006.png'), [200, 0, 0]);
  await png(join(gan, 'samples', 'step-00000012.png'), [0, 0, 200]);

  // ---- classifier training
  const classifier = d('classifier-run');
  writeFileSync(join(classifier, 'epochs.arrow'), ipc({
    epoch: Int32Array.from({ length: EPOCHS }, (_, i) => i + 1),
    train_loss: Float64Array.from({ length: EPOCHS }, (_, i) => 2 - 0.3 * i),
    val_loss: Float64Array.from({ length: EPOCHS }, (_, i) => 2.1 - 0.25 * i),
    val_accuracy: Float64Array.from({ length: EPOCHS }, (_, i) => 0.3 + 0.1 * i),
    lr: Float64Array.from({ length: EPOCHS }, (_, i) => (i < 3 ? 1e-4 : 1e-5)),
    seconds: Float64Array.from({ length: EPOCHS }, () => 12.5),
  }));

  const empty = d('empty');
  const unknown = d('unknown');
  json(join(unknown, 'run.json'), { kind: 'fancy-new-eval' });

  // ---- images for the sample sheet: originals a.png, b.png, c.png; landmarks same names; method crops 0_a.png, 0_b.png (c missing)
  const originalsDir = d('images/original');
  const landmarksDir = d('images/landmarks');
  const methodDir = d('images/GANonymization');
  for (const [i, n] of ['a', 'b', 'c'].entries()) {
    await png(join(originalsDir, `${n}.png`), [60 * i + 40, 120, 80]);
    await png(join(landmarksDir, `${n}.png`), [0, 0, 0]);
    if (n !== 'c') await png(join(methodDir, `0_${n}.png`), [200, 180, 60 * i]);
  }
  return { root, identity, emotion, emotionTraining, attributes, gan, classifier, empty, unknown, images: { originals: originalsDir, landmarks: landmarksDir, method: methodDir } };
}
