/**
 * `npm run bench:classifier -- [--backend B] [--arch convnext_base] [--batch 8] [--steps 3]`:
 * ConvNeXt at 224 px with torchvision-init weights: eval-mode forward images/s, and one
 * training step (forward + backward + AdamW) in seconds, medians after a warm-up. Prints JSON.
 */
import * as tf from '@tensorflow/tfjs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { convnextConfig, convnextForward, convnextInit, convnextSpecs } from '../src/models/convnext.js';
import { Params } from '../src/models/params.js';
import { Adam } from '../src/train/adam.js';
import { weightedCrossEntropy } from '../src/train/classifier-loss.js';

const args = await yargs(hideBin(process.argv)).option('backend', { type: 'string' }).option('arch', { type: 'string', default: 'convnext_base' })
  .option('batch', { type: 'number', default: 8 }).option('steps', { type: 'number', default: 3 }).option('size', { type: 'number', default: 224 })
  .option('train', { type: 'boolean', default: true }).strict().parseAsync();
const info = await initBackend(args.backend);
const cfg = convnextConfig(args.arch, 7);
const p = new Params(convnextSpecs(cfg), convnextInit(0));
const x = tf.randomUniform([args.batch, args.size, args.size, 3], -2, 2, 'float32', 1) as tf.Tensor4D;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const fwd: number[] = [];
for (let i = 0; i <= args.steps; i++) {
  const t0 = performance.now();
  const y = convnextForward(p, cfg, x);
  await y.data();
  y.dispose();
  if (i > 0) fwd.push((performance.now() - t0) / 1000);
}
const out: Record<string, unknown> = { backend: info.name, arch: args.arch, batch: args.batch, size: args.size, forwardImgPerSec: +(args.batch / median(fwd)).toFixed(2) };
if (args.train) {
  const opt = new Adam(p, { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 });
  const y = tf.tensor1d(Array.from({ length: args.batch }, (_, i) => i % 7), 'int32');
  const w = tf.ones([7]) as tf.Tensor1D;
  const steps: number[] = [];
  for (let i = 0; i <= args.steps; i++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => weightedCrossEntropy(convnextForward(p, cfg, x, { training: true, seed: i }), y, w), p.list());
    opt.apply(grads);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    if (i > 0) steps.push((performance.now() - t0) / 1000);
  }
  out.trainStepSec = +median(steps).toFixed(3);
  out.trainImgPerSec = +(args.batch / median(steps)).toFixed(2);
}
out.peakRssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
console.log(JSON.stringify(out));
