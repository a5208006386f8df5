/**
 * `ganon classifier train`: the paper's ConvNeXt classifier recipe (see
 * src/config/classifier.ts) on a labelled dataset (src/train/classifier-data.ts).
 *
 * Each epoch: shuffled train batches (order and flips seeded by (seed, epoch)),
 * AdamW steps on the weighted loss; then the validation loss (same weighted
 * criterion, eval mode) and accuracy; ReduceLROnPlateau and early stopping on
 * the validation loss. Files in RUN/:
 *   best/      the lowest-val-loss weights (classifier.safetensors, torchvision
 *              names) + state.json (classes, task, arch, config, epoch, val loss)
 *   last/      the end of the newest epoch: weights, optimizer.safetensors and
 *              state.json with the scheduler/stopping state, so --resume continues
 *              exactly from the last completed epoch
 *   epochs.arrow  per epoch: epoch, train_loss, val_loss, val_accuracy, lr, seconds
 *   train.log
 * Checkpoint directories are written under a temp name and renamed into place.
 * Images that fail to decode are skipped, counted and logged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassifierConfig } from '../config/classifier.js';
import { ConfigError, DatasetError, ModelLoadError } from '../errors.js';
import { readNumericLog, writeNumericLog } from '../io/numeric-log.js';
import { decodeImage, type RgbImage } from '../io/images.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '../io/safetensors.js';
import { readWeights } from '../io/weights.js';
import {
  convnextConfig, convnextForward, convnextInit, convnextSpecs, convnextValues, timmToTorchvision, type ConvNextConfig,
} from '../models/convnext.js';
import { Params } from '../models/params.js';
import { classifierBatch } from '../pipeline/classifier-input.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import { Progress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { Adam } from './adam.js';
import { balancedWeights, multilabelWeights, weightedBceWithLogits, weightedCrossEntropy } from './classifier-loss.js';
import { openClassifierData, splitItems, type ClassifierData, type LabelledImage } from './classifier-data.js';
import { epochOrder, prefetch } from './data.js';
import { EarlyStopping, ReduceLrOnPlateau, TORCH_PLATEAU, type EarlyStoppingState, type PlateauState } from './schedule.js';

export interface ClassifierTrainOptions {
  config: ClassifierConfig;
  dataDir: string;
  /** Take the pixels from this anonymizer output folder (Table 4's training scenario). */
  imagesDir?: string;
  /** Class names in order (default: sorted names found in the data). */
  classes?: string[];
  outDir: string;
  /** torchvision / timm ConvNeXt weights (.pth, .safetensors); the head is replaced when its size differs. */
  pretrained?: string;
  resume: boolean;
  backend: string;
  signal?: AbortSignal;
  out?: NodeJS.WriteStream | null;
}

export interface EpochRow {
  epoch: number;
  train_loss: number;
  val_loss: number;
  val_accuracy: number;
  lr: number;
  seconds: number;
}

export interface ClassifierTrainResult {
  status: 'done' | 'early-stopped' | 'interrupted';
  runDir: string;
  epochs: EpochRow[];
  bestEpoch: number;
  bestValLoss: number;
  classes: string[];
  skipped: number;
}

/** What best/state.json and last/state.json hold. */
export interface ClassifierState {
  format: 'ganon-classifier-v1';
  task: ClassifierConfig['task'];
  arch: string;
  classes: string[];
  numClasses: number;
  config: ClassifierConfig;
  epoch: number;
  valLoss: number;
  bestValLoss: number;
  bestEpoch: number;
  lr: number;
  adamStep: number;
  plateau: PlateauState;
  early: EarlyStoppingState;
  pretrained: string | null;
  toolkitVersion: string;
  gitCommit: string;
  backend: string;
  createdAt: string;
}

export async function trainClassifier(opts: ClassifierTrainOptions): Promise<ClassifierTrainResult> {
  const cfg = opts.config;
  const out = opts.out === undefined ? process.stderr : opts.out;
  const runDir = opts.outDir;
  mkdirSync(runDir, { recursive: true });
  const logLine = (line: string) => appendFileSync(join(runDir, 'train.log'), `${new Date().toISOString()} ${line}\n`);
  const say = (line: string) => {
    out?.write(`${line}\n`);
    logLine(line);
  };

  const data = openClassifierData(opts.dataDir, { task: cfg.task, labelKey: cfg.data.labelKey, classes: opts.classes, imagesDir: opts.imagesDir });
  const trainItems = splitItems(data, 'train');
  const valItems = splitItems(data, 'val');
  if (trainItems.length === 0) throw new DatasetError(`'${opts.dataDir}': the train split is empty`);
  if (valItems.length === 0) throw new DatasetError(`'${opts.dataDir}': the val split is empty (validation drives the LR schedule, early stopping and the best checkpoint)`);
  if (data.task === 'emotion' && data.classes.length < 2) throw new DatasetError(`'${opts.dataDir}': only one class (${data.classes[0]}) found`);
  say(`classifier ${cfg.arch} task=${cfg.task} classes=${data.classes.length} [${data.classes.join(', ')}] train=${trainItems.length} val=${valItems.length} skipped=${data.skipped.length}`);

  const net = convnextConfig(cfg.arch, data.classes.length);
  const weights = lossWeights(data, trainItems, cfg);
  const lastDir = join(runDir, 'last');
  const resumeState = opts.resume && existsSync(join(lastDir, 'state.json')) ? readState(lastDir) : null;
  if (resumeState !== null) checkCompatible(resumeState, data, cfg);

  const { params, pretrainedNote } = initParams(net, cfg, opts.pretrained, resumeState ? lastDir : null);
  if (pretrainedNote) say(pretrainedNote);
  const opt = new Adam(params, { lr: cfg.train.lr, beta1: cfg.train.beta1, beta2: cfg.train.beta2, eps: cfg.train.eps, weightDecay: cfg.train.weightDecay });
  const plateau = new ReduceLrOnPlateau({ ...TORCH_PLATEAU, patience: cfg.train.plateauPatience, factor: cfg.train.plateauFactor });
  const early = new EarlyStopping(cfg.train.earlyStopping);
  const epochs = readEpochLog(join(runDir, 'epochs.arrow'));
  let startEpoch = 0;
  let best = { epoch: -1, loss: Infinity };
  if (resumeState !== null) {
    const optTensors = decodeSafetensors(readFileSync(join(lastDir, 'optimizer.safetensors')), lastDir).tensors;
    opt.loadState(optTensors, '', resumeState.adamStep, lastDir);
    opt.lr = resumeState.lr;
    plateau.state = { ...resumeState.plateau };
    early.state = { ...resumeState.early };
    startEpoch = resumeState.epoch + 1;
    best = { epoch: resumeState.bestEpoch, loss: resumeState.bestValLoss };
    epochs.splice(startEpoch);
    say(`resumed after epoch ${resumeState.epoch} (best val loss ${best.loss.toFixed(4)} at epoch ${best.epoch}, lr ${opt.lr})`);
  } else {
    epochs.length = 0;
  }

  let skipped = 0;
  const weightT = tf.tensor1d(weights);
  let status: ClassifierTrainResult['status'] = 'done';
  try {
    for (let epoch = startEpoch; epoch < cfg.train.maxEpochs; epoch++) {
      if (early.state.stopped) {
        status = 'early-stopped';
        break;
      }
      const t0 = performance.now();
      const order = epochOrder(trainItems.length, cfg.seed, epoch);
      const flips = new Rng((cfg.seed * 7_368_787 + epoch * 104_729 + 3) >>> 0);
      const nBatches = Math.ceil(order.length / cfg.train.batchSize);
      const bar = out ? new Progress(nBatches, `epoch ${epoch + 1}/${cfg.train.maxEpochs}`, out) : null;
      let lossSum = 0;
      let lossN = 0;
      let b = 0;
      const gen = loadBatches(order.map((i) => trainItems[i]!), cfg.train.batchSize, () => cfg.input.flip && flips.uniform() < 0.5);
      for await (const batch of prefetch(gen, cfg.data.prefetch)) {
        skipped += batch.skipped.length;
        for (const s of batch.skipped) logLine(`skipped ${s.id}: ${s.message}`);
        if (batch.images.length > 0) {
          const x = classifierBatch(batch.images, { resize: cfg.input.resize, crop: cfg.input.crop, flip: batch.flips });
          const y = targetTensor(batch.items, data);
          const seed = (cfg.seed * 100_003 + epoch * 10_007 + b) % 2 ** 31;
          const { value, grads } = tf.variableGrads(() => loss(convnextForward(params, net, x, { training: true, seed }), y, weightT, data.task), params.list());
          opt.apply(grads);
          const v = (await value.data())[0]!;
          tf.dispose([x, y, value, ...Object.values(grads)]);
          if (!Number.isFinite(v)) throw new ConfigError(`training diverged: loss ${v} at epoch ${epoch + 1}, batch ${b + 1} (lower train.lr?)`);
          lossSum += v * batch.images.length;
          lossN += batch.images.length;
        }
        b += 1;
        bar?.update(b, `loss ${(lossSum / Math.max(lossN, 1)).toFixed(4)}`);
        if (opts.signal?.aborted) break;
      }
      bar?.done();
      if (opts.signal?.aborted) {
        status = 'interrupted';
        say(`interrupted in epoch ${epoch + 1}; --resume restarts it from the end of epoch ${epoch}`);
        break;
      }
      const val = await evaluate(params, net, valItems, data, cfg, weightT);
      skipped += val.skipped;
      const lrUsed = opt.lr;
      opt.lr = plateau.step(val.loss, opt.lr);
      const row: EpochRow = { epoch: epoch + 1, train_loss: lossSum / Math.max(lossN, 1), val_loss: val.loss, val_accuracy: val.accuracy, lr: lrUsed, seconds: (performance.now() - t0) / 1000 };
      epochs.push(row);
      const improved = val.loss < best.loss;
      if (improved) best = { epoch: epoch + 1, loss: val.loss };
      early.step(val.loss);
      const state = makeState(cfg, data, net, epoch, val.loss, best, opt, plateau, early, opts);
      const tensors = await params.toTorch();
      if (improved) writeDirAtomic(join(runDir, 'best'), { 'classifier.safetensors': encodeSafetensors(tensors, { format: 'ganon-classifier-v1', arch: cfg.arch }), 'state.json': json(state) });
      writeDirAtomic(lastDir, {
        'classifier.safetensors': encodeSafetensors(tensors, { format: 'ganon-classifier-v1', arch: cfg.arch }),
        'optimizer.safetensors': encodeSafetensors(await opt.stateTensors(''), { format: 'ganon-classifier-v1' }),
        'state.json': json(state),
      });
      writeEpochLog(join(runDir, 'epochs.arrow'), epochs);
      say(`epoch ${epoch + 1}: train loss ${row.train_loss.toFixed(4)}, val loss ${val.loss.toFixed(4)}, val acc ${val.accuracy.toFixed(4)}, lr ${lrUsed}${improved ? ' (best)' : ''}, ${row.seconds.toFixed(1)} s`);
      if (early.state.stopped) {
        status = 'early-stopped';
        say(`early stopping: no val-loss improvement for ${cfg.train.earlyStopping} epochs`);
        break;
      }
    }
  } finally {
    weightT.dispose();
    opt.dispose();
    params.dispose();
  }
  return { status, runDir, epochs, bestEpoch: best.epoch, bestValLoss: best.loss, classes: data.classes, skipped };
}

function lossWeights(data: ClassifierData, train: LabelledImage[], cfg: ClassifierConfig): Float32Array {
  const k = data.classes.length;
  if (cfg.train.classWeights === 'none') return new Float32Array(k).fill(1);
  if (data.task === 'emotion') return Float32Array.from(balancedWeights(train.map((i) => i.label as number), k));
  return Float32Array.from(multilabelWeights(train.map((i) => i.label as Uint8Array), k));
}

function loss(logits: tf.Tensor2D, y: tf.Tensor, w: tf.Tensor1D, task: ClassifierConfig['task']): tf.Scalar {
  return task === 'emotion' ? weightedCrossEntropy(logits, y as tf.Tensor1D, w) : weightedBceWithLogits(logits, y as tf.Tensor2D, w);
}

function targetTensor(items: LabelledImage[], data: ClassifierData): tf.Tensor {
  if (data.task === 'emotion') return tf.tensor1d(items.map((i) => i.label as number), 'int32');
  const k = data.classes.length;
  const flat = new Float32Array(items.length * k);
  items.forEach((it, r) => flat.set(it.label as Uint8Array, r * k));
  return tf.tensor2d(flat, [items.length, k]);
}

interface LoadedBatch { items: LabelledImage[]; images: RgbImage[]; flips: boolean[]; skipped: { id: string; message: string }[] }

async function* loadBatches(items: LabelledImage[], batchSize: number, flip: () => boolean): AsyncGenerator<LoadedBatch> {
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const flips = chunk.map(() => flip()); // drawn for every item, decoded or not, so the stream is fixed
    const loaded = await Promise.allSettled(chunk.map((it) => decodeImage(it.path)));
    const batch: LoadedBatch = { items: [], images: [], flips: [], skipped: [] };
    loaded.forEach((r, k) => {
      if (r.status === 'fulfilled') {
        batch.items.push(chunk[k]!);
        batch.images.push(r.value);
        batch.flips.push(flips[k]!);
      } else {
        batch.skipped.push({ id: chunk[k]!.id, message: (r.reason as Error).message });
      }
    });
    yield batch;
  }
}

/** Validation loss (the training criterion, eval mode) and accuracy (attributes: mean per-label accuracy at 0.5). */
async function evaluate(params: Params, net: ConvNextConfig, items: LabelledImage[], data: ClassifierData, cfg: ClassifierConfig, w: tf.Tensor1D) {
  let lossSum = 0;
  let n = 0;
  let correct = 0;
  let total = 0;
  let skipped = 0;
  for await (const batch of prefetch(loadBatches(items, cfg.train.batchSize, () => false), cfg.data.prefetch)) {
    skipped += batch.skipped.length;
    if (batch.images.length === 0) continue;
    const x = classifierBatch(batch.images, { resize: cfg.input.resize, crop: cfg.input.crop });
    const y = targetTensor(batch.items, data);
    const logits = convnextForward(params, net, x);
    const l = loss(logits, y, w, data.task);
    // The weighted-mean loss is averaged over batches by their sample counts (Lightning's epoch mean).
    lossSum += (await l.data())[0]! * batch.images.length;
    n += batch.images.length;
    const pred = await logits.data();
    const k = data.classes.length;
    batch.items.forEach((it, r) => {
      const row = pred.subarray(r * k, (r + 1) * k);
      if (data.task === 'emotion') {
        let arg = 0;
        for (let j = 1; j < k; j++) if (row[j]! > row[arg]!) arg = j;
        correct += arg === it.label ? 1 : 0;
        total += 1;
      } else {
        const t = it.label as Uint8Array;
        for (let j = 0; j < k; j++) correct += (row[j]! > 0 ? 1 : 0) === t[j] ? 1 : 0;
        total += k;
      }
    });
    tf.dispose([x, y, logits, l]);
  }
  if (n === 0) throw new DatasetError('no validation image could be decoded');
  return { loss: lossSum / n, accuracy: correct / total, skipped };
}

function initParams(net: ConvNextConfig, cfg: ClassifierConfig, pretrained: string | undefined, resumeDir: string | null) {
  const specs = convnextSpecs(net);
  if (resumeDir !== null) {
    const file = join(resumeDir, 'classifier.safetensors');
    const w = decodeSafetensors(readFileSync(file), file).tensors;
    return { params: new Params(specs, convnextValues(w, net, file, convnextInit(cfg.seed)).values, 'classifier'), pretrainedNote: '' };
  }
  if (pretrained !== undefined) {
    const { tensors, source } = readWeights(pretrained, 'classifier.safetensors', 'features.0.0.weight', timmToTorchvision);
    const { values, headReplaced } = convnextValues(tensors, net, source, convnextInit(cfg.seed));
    const params = new Params(specs, values, 'classifier');
    const head = tensors.get('classifier.2.weight')?.shape[0];
    return { params, pretrainedNote: `pretrained weights: ${source}${headReplaced ? ` (head replaced: ${head ?? 'none'} -> ${net.numClasses} classes)` : ''}` };
  }
  return { params: new Params(specs, convnextInit(cfg.seed), 'classifier'), pretrainedNote: 'no --pretrained weights: training from scratch (torchvision init)' };
}

function makeState(
  cfg: ClassifierConfig, data: ClassifierData, net: ConvNextConfig, epoch: number, valLoss: number, best: { epoch: number; loss: number },
  opt: Adam, plateau: ReduceLrOnPlateau, early: EarlyStopping, opts: ClassifierTrainOptions,
): ClassifierState {
  return {
    format: 'ganon-classifier-v1', task: cfg.task, arch: cfg.arch, classes: data.classes, numClasses: net.numClasses, config: cfg,
    epoch, valLoss, bestValLoss: best.loss, bestEpoch: best.epoch, lr: opt.lr, adamStep: opt.step,
    plateau: { ...plateau.state }, early: { ...early.state }, pretrained: opts.pretrained ?? null,
    toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), backend: opts.backend, createdAt: new Date().toISOString(),
  };
}

export function readState(dir: string): ClassifierState {
  const p = join(dir, 'state.json');
  let s: ClassifierState;
  try {
    s = JSON.parse(readFileSync(p, 'utf8')) as ClassifierState;
  } catch (e) {
    throw new ModelLoadError(`cannot read '${p}': ${(e as Error).message}`);
  }
  if (s.format !== 'ganon-classifier-v1') throw new ModelLoadError(`'${p}' is not a ganon classifier state (format ${JSON.stringify(s.format)})`);
  return s;
}

function checkCompatible(s: ClassifierState, data: ClassifierData, cfg: ClassifierConfig) {
  if (s.arch !== cfg.arch || s.task !== cfg.task) throw new ConfigError(`cannot resume: the run is ${s.arch}/${s.task}, the config says ${cfg.arch}/${cfg.task}`);
  if (s.classes.join('\n') !== data.classes.join('\n')) {
    throw new ConfigError(`cannot resume: the run's classes [${s.classes.join(', ')}] differ from the data's [${data.classes.join(', ')}]`);
  }
}

const json = (v: unknown) => `${JSON.stringify(v, (_k, x) => (x === Infinity ? 'Infinity' : x), 2)}\n`;

/** Writes files into `dir` all at once: a temp directory renamed into place. */
export function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(tmp, name), body);
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

const EPOCH_COLS = ['epoch', 'train_loss', 'val_loss', 'val_accuracy', 'lr', 'seconds'] as const;

export function writeEpochLog(path: string, rows: readonly EpochRow[]): void {
  writeNumericLog(path, rows, EPOCH_COLS, ['epoch']);
}

export function readEpochLog(path: string): EpochRow[] {
  return readNumericLog(path, EPOCH_COLS) as unknown as EpochRow[];
}

/** Weights of a run's best (default) or last checkpoint, with its state. */
export function readClassifierRun(runDir: string, which: 'best' | 'last' = 'best'): { state: ClassifierState; weights: TensorMap; file: string } {
  const dir = existsSync(join(runDir, 'state.json')) && existsSync(join(runDir, 'classifier.safetensors')) ? runDir : join(runDir, which);
  if (!existsSync(join(dir, 'state.json'))) throw new ModelLoadError(`'${runDir}' is not a classifier run (no ${which}/state.json; train one with ganon classifier train)`);
  const state = readState(dir);
  const file = join(dir, 'classifier.safetensors');
  if (!existsSync(file)) throw new ModelLoadError(`classifier run '${dir}' is incomplete: no classifier.safetensors`);
  return { state, weights: decodeSafetensors(readFileSync(file), file).tensors, file };
}
