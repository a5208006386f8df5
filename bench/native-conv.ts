/**
 * `node --import tsx bench/native-conv.ts [--size 256]`: on the native backend, the two
 * conv-gradient kernels on every strided conv of the pix2pix networks at one image
 * size, libtensorflow's own kernel against the GEMM route of src/backend/native-conv.ts
 * (Conv2DBackpropInput is also the forward of the generator's transposed convs),
 * interleaved, medians of 5 after a warm-up; prints the filter/activation size ratio
 * the route's rule looks at, and the load average. Nothing here asserts a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { gemmRoute } from '../src/backend/native-conv.js';

const args = await yargs(hideBin(process.argv)).option('size', { type: 'number', default: 256 }).strict().parseAsync();
const info = await initBackend('tensorflow');
if (info.name !== 'tensorflow') throw new Error('needs the native backend (npm run setup:native)');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`load average ${load()}`);

// [side of the full-resolution activation, its channels, the half-resolution channels]
const S = args.size;
const layers: [number, number, number][] = [];
const enc = [3, 64, 128, 256, 512, 512, 512, 512, 512];
for (let i = 0; i < 8; i++) layers.push([S >> i, enc[i]!, enc[i + 1]!]); // generator encoder (and D's first three)
const dec: [number, number][] = [[512, 512], [1024, 512], [1024, 512], [1024, 512], [1024, 256], [512, 128], [256, 64]];
dec.forEach(([cin, cout], j) => layers.push([S >> (7 - j), cout, cin])); // decoder: transposed convs, [full side, out, in]

const totals = { tf: 0, gemm: 0, chosen: 0 };
const defaults = { ...gemmRoute };
for (const [h, ci, co] of layers) {
  const x = tf.randomUniform([1, h, h, ci]) as tf.Tensor4D;
  const dy = tf.randomUniform([1, h / 2, h / 2, co]) as tf.Tensor4D;
  const w = tf.randomUniform([4, 4, ci, co]) as tf.Tensor4D;
  const ratio = (16 * ci * co) / (h * h * ci);
  const kernels = {
    dX: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', inputShape: [1, h, h, ci] }) as tf.Tensor,
    dW: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, ci, co] }) as tf.Tensor,
  };
  const parts: string[] = [];
  for (const [name, run] of Object.entries(kernels)) {
    const t: Record<'tf' | 'gemm', number[]> = { tf: [], gemm: [] };
    for (let r = 0; r < 6; r++) {
      for (const route of ['tf', 'gemm'] as const) {
        gemmRoute.minRatioInput = gemmRoute.minRatioFilter = route === 'gemm' ? 0 : Infinity;
        const t0 = performance.now();
        const y = run();
        const dt = performance.now() - t0;
        y.dispose();
        if (r > 0) t[route].push(dt);
      }
    }
    const [a, b] = [median(t.tf), median(t.gemm)];
    totals.tf += a;
    totals.gemm += b;
    totals.chosen += ratio >= (name === 'dX' ? defaults.minRatioInput : defaults.minRatioFilter) ? b : a;
    parts.push(`${name} tf ${a.toFixed(1)} / gemm ${b.toFixed(1)} ms`);
  }
  console.log(`x ${h}x${h}x${ci}, dy ${h / 2}x${h / 2}x${co}, filter/activation ${ratio.toFixed(2)}: ${parts.join(' | ')}`);
  tf.dispose([x, dy, w]);
}
Object.assign(gemmRoute, defaults);
console.log(`sum: tf ${totals.tf.toFixed(0)} ms, gemm ${totals.gemm.toFixed(0)} ms, with the rule (dX ratio >= ${defaults.minRatioInput}, dW >= ${defaults.minRatioFilter}) ${totals.chosen.toFixed(0)} ms; load average ${load()}`);
