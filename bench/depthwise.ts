/**
 * `node --import tsx bench/depthwise.ts [--runs 7] [--batch 2]`: the wasm forward
 * depthwise conv, wasm's own kernel against the decomposition into pieces of
 * at most 3x3 taps (src/backend/wasm-depthwise.ts), on ConvNeXt stage
 * shapes and other filter sizes. Kernels are called directly, interleaved, and the
 * median of `runs` calls is printed with the load average. Nothing here asserts a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseSplit, originalWasmDepthwiseForward } from '../src/backend/wasm-depthwise.js';

const args = await yargs(hideBin(process.argv)).option('runs', { type: 'number', default: 7 })
  .option('batch', { type: 'number', default: 2 }).option('k', { type: 'number', array: true, default: [7] })
  .option('stride', { type: 'number', default: 1 }).strict().parseAsync();
await initBackend('wasm');
const own = originalWasmDepthwiseForward()!;
const backend = tf.backend() as unknown as { typedArrayFromHeap(t: TensorInfo): Float32Array; disposeData(id: object): void };
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const shapes: [number, number][] = [[56, 96], [28, 192], [14, 384], [7, 768]];
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const k of args.k) {
  for (const [hw, c] of shapes) {
    const x = tf.randomUniform([args.batch, hw, hw, c], -1, 1);
    const f = tf.randomUniform([k, k, c, 1], -1, 1);
    const s = args.stride;
    const info = backend_util.computeConv2DInfo(x.shape as never, f.shape as never, s, 1, 'same', undefined, true);
    const attrs = { strides: [s, s], pad: 'same', dilations: [1, 1], dimRoundingMode: undefined, dataFormat: 'NHWC' };
    const variants: Record<string, () => TensorInfo> = {
      own: () => own({ inputs: { x, filter: f }, backend: backend as never, attrs: attrs as never }) as TensorInfo,
      pieces: () => {
        const wv = backend.typedArrayFromHeap(f).slice();
        return depthwiseSplit(backend as never, x, wv, (i, j) => (i * k + j) * c, k, k, s, s, 1, 1, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth);
      },
    };
    const times: Record<string, number[]> = {};
    const ref = variants.own!();
    const refV = backend.typedArrayFromHeap(ref).slice();
    backend.disposeData(ref.dataId);
    const err: Record<string, number> = {};
    for (let r = 0; r <= args.runs; r++) {
      for (const [name, fn] of Object.entries(variants)) {
        const t0 = performance.now();
        const out = fn();
        const dt = performance.now() - t0;
        if (r === 0) {
          const v = backend.typedArrayFromHeap(out);
          let e = 0;
          for (let i = 0; i < v.length; i++) e = Math.max(e, Math.abs(v[i]! - refV[i]!));
          err[name] = e;
        } else (times[name] ??= []).push(dt);
        backend.disposeData(out.dataId);
      }
    }
    const macs = args.batch * info.outHeight * info.outWidth * c * k * k;
    console.log(`k${k} s${s} [${args.batch},${hw},${hw},${c}] ` + Object.entries(times).map(([n, t]) =>
      `${n} ${median(t).toFixed(1)} ms (${(macs / median(t) / 1e6).toFixed(2)} GMAC/s, max|d| ${err[n]!.toExponential(1)})`).join(' | '));
    tf.dispose([x, f]);
  }
}
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
