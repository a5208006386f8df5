/**
 * The training loop: epochs of G-then-D steps over the train split, with
 * atomic checkpoints (every N steps, each epoch end, the end, and on Ctrl-C),
 * exact resume, per-step Arrow logs, validation grids and a progress bar.
 * A NaN/Inf loss stops the run and keeps the last good checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runsOneThread } from '../backend/index.js';
import { patchganConfigOf, unetConfigOf, type TrainConfig } from '../config/train.js';
import { ConfigError, TrainingDivergedError } from '../errors.js';
import { listCheckpoints, pruneCheckpoints, readCheckpoint, writeCheckpoint, type CheckpointState } from '../io/checkpoint.js';
import { writeFileAtomicSync } from '../io/fs.js';
import { fromUnitRange, toUnitRange, writePng, type RgbImage } from '../io/images.js';
import { fromTorchMap, Params, referenceInit } from '../models/params.js';
import { patchganSpecs } from '../models/patchgan.js';
import { unetForward, unetSpecs } from '../models/unet.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import { Progress } from '../util/progress.js';
import { batches, checkDatasetSize, loadSamples, openPairedDataset, prefetch } from './data.js';
import { sampleGrid } from './grid.js';
import { attachRemoteD, disposeSetup, dOptimizer, LOSS_NAMES, makeSetup, trainStep, type GanSetup, type Losses } from './step.js';
import { readStepLog, writeStepLog, type StepRow } from './steplog.js';

export interface TrainOptions {
  config: TrainConfig;
  dataDir: string;
  outDir: string;
  resume: boolean;
  backend: string;
  /** Aborting it (Ctrl-C) makes the loop checkpoint after the current step and return. */
  signal?: AbortSignal;
  /** Progress bar / status lines go here (default stderr); null silences them. */
  out?: NodeJS.WriteStream | null;
  /**
   * The D step on a second thread (src/train/d-thread.ts), same numbers. Default: on for the
   * one-thread backends (wasm, cpu) with discriminatorFake 'reuse'.
   */
  dThread?: boolean;
}

export interface TrainResult {
  status: 'done' | 'interrupted';
  runDir: string;
  step: number;
  epoch: number;
  lastCheckpoint: string | null;
  samples: string[];
  skipped: number;
  losses: Losses | null;
}

/** Dropout seed of a step: a function of (seed, step) only, so resume is exact. */
export function stepSeed(seed: number, step: number): number {
  return (seed * 100_003 + step * 2) % 2 ** 40;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config;
  const S = cfg.imageSize;
  const out = opts.out === undefined ? process.stderr : opts.out;
  const runDir = opts.outDir;
  mkdirSync(runDir, { recursive: true });
  const logLine = (line: string) => appendFileSync(join(runDir, 'train.log'), `${new Date().toISOString()} ${line}\n`);
  const say = (line: string) => {
    logLine(line);
    out?.write(`${line}\n`);
  };

  const ds = openPairedDataset(opts.dataDir, cfg.data.layout, S, cfg.data.includeNoFace);
  await checkDatasetSize(ds, S);
  const gCfg = unetConfigOf(cfg);
  const dCfg = patchganConfigOf(cfg);
  const existing = listCheckpoints(runDir);
  if (!opts.resume && existing.length > 0) {
    throw new ConfigError(`'${runDir}' already has checkpoints (newest step ${existing.at(-1)!.step}): pass --resume to continue it, or choose a new --out`);
  }

  let setup: GanSetup;
  let step = 0;
  let epoch = 0;
  let pos = 0;
  let rows: StepRow[] = [];
  let lastCheckpoint: string | null = null;
  const adam = { lr: cfg.train.lr, beta1: cfg.train.beta1, beta2: cfg.train.beta2, eps: cfg.train.eps };
  const newest = opts.resume ? existing.at(-1) : undefined;
  const useDThread = (opts.dThread ?? runsOneThread(tf.getBackend())) && cfg.train.discriminatorFake === 'reuse';
  if (newest) {
    const ck = readCheckpoint(newest.dir);
    checkCompatible(ck.state.config as TrainConfig, cfg, newest.dir);
    const G = new Params(unetSpecs(gCfg), fromTorchMap(ck.tensors.generator, newest.dir), 'G');
    const D = new Params(patchganSpecs(dCfg), fromTorchMap(ck.tensors.discriminator, newest.dir), 'D');
    setup = makeSetup(G, D, gCfg, dCfg, adam, cfg.train.lambdaL1, cfg.train.discriminatorFake);
    if (useDThread) await attachRemoteD(setup, tf.getBackend());
    setup.optG.loadState(ck.tensors.optimizer, 'G.', ck.state.adamStepG, newest.dir);
    await dOptimizer(setup).loadState(ck.tensors.optimizer, 'D.', ck.state.adamStepD, newest.dir);
    ({ step, epoch, pos } = ck.state);
    rows = readStepLog(join(runDir, 'steps.arrow')).filter((r) => r.step <= step);
    lastCheckpoint = newest.dir;
    say(`resumed from ${newest.dir} (step ${step}, epoch ${epoch + 1})`);
  } else {
    if (opts.resume) say(`no checkpoint in ${runDir}: starting fresh`);
    const G = new Params(unetSpecs(gCfg), referenceInit(cfg.seed), 'G');
    const D = new Params(patchganSpecs(dCfg), referenceInit(cfg.seed + 1), 'D');
    setup = makeSetup(G, D, gCfg, dCfg, adam, cfg.train.lambdaL1, cfg.train.discriminatorFake);
    if (useDThread) await attachRemoteD(setup, tf.getBackend());
  }

  const stepsPerEpoch = Math.ceil(ds.train.length / cfg.train.batchSize);
  const byEpochs = cfg.train.epochs * stepsPerEpoch;
  const totalSteps = cfg.train.maxSteps > 0 ? Math.min(cfg.train.maxSteps, byEpochs) : byEpochs;
  const run = { toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), backend: opts.backend };
  writeFileAtomicSync(join(runDir, 'config.yaml'), stringify(cfg));
  writeFileAtomicSync(join(runDir, 'run.json'), `${JSON.stringify({ ...run, dataset: { root: ds.root, layout: ds.layout, train: ds.train.length, val: ds.val.length } }, null, 2)}\n`);
  say(`training ${ds.train.length} pairs (${ds.layout}), ${S}px, batch ${cfg.train.batchSize}, ${stepsPerEpoch} steps/epoch, steps ${step}->${totalSteps}, ${opts.backend}${setup.remoteD ? ', D step on a second thread' : ''}`);

  const samples = await loadSamples(ds, cfg.log.sampleCount);
  const sampleFiles: string[] = [];
  let skipped = 0;
  let last: Losses | null = null;
  const progress = out ? new Progress(totalSteps, 'train', out, 10, step) : null;

  const checkpoint = () => {
    const t0 = step;
    const state: CheckpointState = {
      step: t0, epoch, pos, adamStepG: setup.optG.step, adamStepD: dOptimizer(setup).step, config: cfg,
      ...run, createdAt: new Date().toISOString(), ...(last ? { losses: { ...last } } : {}),
    };
    return (async () => {
      const tensors = {
        generator: await setup.G.toTorch(),
        discriminator: await setup.D.toTorch(),
        optimizer: new Map([...(await setup.optG.stateTensors('G.')), ...(await dOptimizer(setup).stateTensors('D.'))]),
      };
      lastCheckpoint = writeCheckpoint(runDir, state, tensors);
      pruneCheckpoints(runDir, cfg.checkpoint.keep);
      writeStepLog(join(runDir, 'steps.arrow'), rows);
      logLine(`checkpoint ${lastCheckpoint}`);
    })();
  };
  const sample = async () => {
    if (samples.ids.length === 0) return;
    const file = join(runDir, 'samples', `step-${String(step).padStart(8, '0')}.png`);
    await writePng(file, await sampleGridFor(setup, samples, S));
    sampleFiles.push(file);
  };

  let status: TrainResult['status'] = 'done';
  try {
    const source = prefetch(batches(ds.train, cfg.train.batchSize, S, cfg.seed, epoch, pos), cfg.data.prefetch);
    while (step < totalSteps) {
      const { value: b, done } = await source.next();
      if (done) break;
      for (const s of b.skipped) {
        skipped++;
        say(`skipped ${s.id}: ${s.message}`);
      }
      if (b.n === 0) continue;
      const t0 = performance.now();
      const cond = tf.tensor4d(b.cond, [b.n, S, S, 3]);
      const real = tf.tensor4d(b.face, [b.n, S, S, 3]);
      let losses: Losses;
      try {
        losses = await trainStep(setup, { cond, real }, stepSeed(cfg.seed, step));
      } finally {
        tf.dispose([cond, real]);
      }
      const secs = (performance.now() - t0) / 1000;
      const bad = LOSS_NAMES.find((k) => !Number.isFinite(losses[k]));
      if (bad) {
        writeStepLog(join(runDir, 'steps.arrow'), rows);
        throw new TrainingDivergedError(`loss ${bad} became ${losses[bad]} at step ${step + 1}; training stopped. Last good checkpoint: ${lastCheckpoint ?? 'none'}`);
      }
      step += 1;
      epoch = b.epochEnd ? b.epoch + 1 : b.epoch;
      pos = b.epochEnd ? 0 : b.endPos;
      last = losses;
      rows.push({ step, epoch: b.epoch, ...losses, imgPerSec: b.n / secs, time: Date.now() / 1000 });
      progress?.update(step, `G ${losses.G.toFixed(3)} (adv ${losses.G_adv.toFixed(3)} L1 ${losses.G_L1.toFixed(4)}) D ${losses.D.toFixed(3)} ${(b.n / secs).toFixed(2)} img/s`);
      const final = step >= totalSteps;
      const stop = opts.signal?.aborted === true;
      if (step % cfg.log.sampleEvery === 0 || final) await sample();
      if (step % cfg.checkpoint.every === 0 || b.epochEnd || final || stop) await checkpoint();
      if (stop) {
        status = 'interrupted';
        break;
      }
    }
    if (lastCheckpoint === null || !lastCheckpoint.endsWith(String(step).padStart(8, '0'))) await checkpoint();
  } finally {
    progress?.done();
    disposeSetup(setup);
  }
  say(`${status === 'done' ? 'finished' : 'interrupted'} at step ${step}; checkpoint ${lastCheckpoint}; ${skipped} file(s) skipped`);
  return { status, runDir, step, epoch, lastCheckpoint, samples: sampleFiles, skipped, losses: last };
}

function checkCompatible(saved: TrainConfig, now: TrainConfig, dir: string): void {
  const keys: [string, unknown, unknown][] = [
    ['imageSize', saved.imageSize, now.imageSize],
    ['model.ngf', saved.model.ngf, now.model.ngf],
    ['model.ndf', saved.model.ndf, now.model.ndf],
    ['model.depth', saved.model.depth, now.model.depth],
    ['seed', saved.seed, now.seed],
    ['train.batchSize', saved.train.batchSize, now.train.batchSize],
  ];
  for (const [k, a, b] of keys) {
    if (a !== b) throw new ConfigError(`cannot resume ${dir}: ${k} was ${JSON.stringify(a)}, now ${JSON.stringify(b)}`);
  }
}

/** Face / landmarks / generated (eval mode) per sample. */
async function sampleGridFor(s: GanSetup, samples: { face: RgbImage[]; cond: RgbImage[] }, size: number): Promise<RgbImage> {
  const n = samples.cond.length;
  const px = size * size * 3;
  const cond = new Float32Array(n * px);
  samples.cond.forEach((c, i) => toUnitRange(c.data, cond, i * px));
  const x = tf.tensor4d(cond, [n, size, size, 3]);
  const y = unetForward(s.G, s.gCfg, x, { training: false });
  const gen = await y.data();
  tf.dispose([x, y]);
  const columns = samples.face.map((face, i) => [
    face,
    samples.cond[i]!,
    { width: size, height: size, data: fromUnitRange(gen.subarray(i * px, (i + 1) * px)) },
  ]);
  return sampleGrid(columns);
}
