/**
 * `node --import tsx bench/conv-route.ts`: the wasm forward Conv2D with a new filter
 * per call (as in training), XNNPACK's own kernel against the GEMM route of
 * src/backend/wasm-kernels.ts, on the pix2pix shapes, interleaved, medians; prints the
 * load average. Nothing here asserts a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { initBackend } from '../src/backend/index.js';
import { setGemmConvMaxRatio } from '../src/backend/wasm-kernels.js';

await initBackend('wasm');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const shapes: [[number, number, number, number], [number, number, number, number]][] = [
  [[1, 2, 2, 512], [4, 4, 512, 512]], [[1, 8, 8, 512], [4, 4, 512, 1024]], [[1, 16, 16, 512], [4, 4, 512, 1024]],
  [[1, 32, 32, 256], [4, 4, 256, 1024]], [[1, 32, 32, 256], [4, 4, 256, 512]], [[1, 64, 64, 128], [4, 4, 128, 512]],
  [[1, 64, 64, 128], [4, 4, 128, 256]], [[1, 128, 128, 64], [4, 4, 64, 256]], [[1, 128, 128, 64], [4, 4, 64, 128]],
];
for (const [xs, ws] of shapes) {
  const x = tf.randomUniform(xs) as tf.Tensor4D;
  const wv = tf.randomUniform(ws).dataSync() as Float32Array;
  const t: Record<string, number[]> = { xnnpack: [], gemm: [] };
  for (let r = 0; r < 6; r++) {
    for (const route of ['xnnpack', 'gemm'] as const) {
      setGemmConvMaxRatio(route === 'gemm' ? 1e9 : 0);
      const w = tf.tensor4d(wv, ws); // a new filter, as every training step
      const t0 = performance.now();
      const y = tf.conv2d(x, w, 2, 'same');
      const dt = performance.now() - t0;
      tf.dispose([w, y]);
      if (r > 0) t[route]!.push(dt);
    }
  }
  const P = (xs[1]! / 2) * (xs[2]! / 2);
  const macs = P * ws.reduce((a, b) => a * b, 1);
  console.log(`${JSON.stringify(xs)} x ${JSON.stringify(ws)} (P/co ${(P / ws[3]!).toFixed(2)}): ` +
    Object.entries(t).map(([k, v]) => `${k} ${median(v).toFixed(1)} ms (${(macs / median(v) / 1e6).toFixed(1)} GMAC/s)`).join(' | '));
  x.dispose();
}
setGemmConvMaxRatio(0.25);
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
