/**
 * `npm run bench [-- --json] [-- --backend wasm|tensorflow|cpu]`: medians after
 * warm-up, on the active backend, of one pix2pix train step (G+D, Adam) and of
 * one generator forward (eval), plus peak RSS. 64 and 128 px use the U-Net
 * with depth log2(size) (the depth-8 paper network needs multiples of 256);
 * everything else is the paper network (ngf = ndf = 64). The train step is what
 * `ganon train` runs: on wasm and cpu the D step goes to a second thread
 * (src/train/d-thread.ts; `--no-d-thread` to time it on one), and the forward
 * runs on two threads (src/pipeline/split-generator.ts; `--generator-threads 1`
 * for one), as `ganon anonymize` does in one process. Peak RSS is this
 * process's (the D thread's memory is in it). Prints numbers only: nothing here
 * asserts a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { backendLine, initBackend, runsOneThread } from '../src/backend/index.js';
import { Params, referenceInit } from '../src/models/params.js';
import { patchganSpecs } from '../src/models/patchgan.js';
import { unetForward, unetSpecs, type UNetConfig } from '../src/models/unet.js';
import { attachRemoteD, disposeSetup, makeSetup, trainStep } from '../src/train/step.js';
import { canSplitUNet, startSplitGenerator } from '../src/pipeline/split-generator.js';

const args = await yargs(hideBin(process.argv))
  .option('json', { type: 'boolean', default: false })
  .option('backend', { type: 'string', choices: ['auto', 'tensorflow', 'wasm', 'cpu'] })
  .option('runs', { type: 'number', default: 3, describe: 'timed runs per case (after 1 warm-up)' })
  .option('only', { type: 'string', array: true, describe: 'cases to run, e.g. train:256x1 forward:512' })
  .option('d-thread', { type: 'boolean', describe: 'train step: D step on a second thread (default: as ganon train, on for wasm/cpu)' })
  .option('generator-threads', { type: 'number', choices: [1, 2], describe: 'forward: on 1 or 2 threads (default: as ganon anonymize in one process, 2 on wasm/cpu)' })
  .strict().help().parseAsync();

const info = await initBackend(args.backend);
const dThread = args.dThread ?? runsOneThread(info.name);
const splitForward = (args.generatorThreads ?? (runsOneThread(info.name) ? 2 : 1)) === 2;
if (!args.json) console.error(backendLine(info));

let peakRss = process.memoryUsage().rss;
const sampleRss = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const timer = setInterval(sampleRss, 50);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function gCfg(size: number): UNetConfig {
  return { inChannels: 3, outChannels: 3, ngf: 64, depth: Math.min(8, Math.log2(size)), dropout: 0.5 };
}

async function trainCase(size: number, batch: number): Promise<number> {
  const g = gCfg(size);
  const d = { inChannels: 3, ndf: 64 };
  const s = makeSetup(new Params(unetSpecs(g), referenceInit(1)), new Params(patchganSpecs(d), referenceInit(2)), g, d,
    { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 }, 100, 'reuse');
  if (dThread) await attachRemoteD(s, info.name);
  const cond = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  const real = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  const times: number[] = [];
  for (let i = 0; i <= args.runs; i++) {
    const t0 = performance.now();
    await trainStep(s, { cond, real }, i);
    sampleRss();
    if (i > 0) times.push(performance.now() - t0);
  }
  tf.dispose([cond, real]);
  disposeSetup(s);
  return median(times);
}

async function forwardCase(size: number): Promise<number> {
  const g = gCfg(size);
  const p = new Params(unetSpecs(g), referenceInit(1));
  const x = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const split = splitForward && canSplitUNet(g) ? await startSplitGenerator(p, g, info.name) : null;
  const times: number[] = [];
  for (let i = 0; i <= args.runs; i++) {
    const t0 = performance.now();
    const y = split ? await split.forward(x) : unetForward(p, g, x, { training: false });
    await y.data();
    y.dispose();
    sampleRss();
    if (i > 0) times.push(performance.now() - t0);
  }
  x.dispose();
  await split?.close();
  p.dispose();
  return median(times);
}

const want = (name: string) => !args.only || args.only.includes(name);
const trainStepMs: Record<string, number> = {};
const generatorForwardMs: Record<string, number> = {};
for (const [size, batch] of [[64, 1], [128, 4], [256, 1]] as const) {
  const key = `${size}x${batch}`;
  if (!want(`train:${key}`)) continue;
  try {
    trainStepMs[key] = Math.round(await trainCase(size, batch));
  } catch (e) {
    trainStepMs[key] = NaN;
    console.error(`train ${key}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!args.json) console.error(`train step ${key}: ${trainStepMs[key]} ms`);
}
for (const size of [256, 512]) {
  if (!want(`forward:${size}`)) continue;
  generatorForwardMs[String(size)] = Math.round(await forwardCase(size));
  if (!args.json) console.error(`generator forward ${size}: ${generatorForwardMs[String(size)]} ms`);
}
clearInterval(timer);
const result = { backend: info.name, dThread, generatorThreads: splitForward ? 2 : 1, trainStepMs, generatorForwardMs, peakRssMB: Math.round(peakRss / 2 ** 20), runs: args.runs, node: process.version };
console.log(JSON.stringify(result, null, args.json ? 2 : 0));
