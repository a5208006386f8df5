/**
 * `node --import tsx bench/profile-step.ts [--size 256] [--batch 1] [--top 25]`: where a
 * pix2pix training step spends its time on the active backend (default wasm), from
 * tf.profile: kernel name, total ms and call count, for the G step's forward+backward,
 * G's Adam, the D step's forward+backward and D's Adam separately, plus the slowest
 * single kernel calls with their input shapes. One warm-up step first. Prints the load
 * average; nothing here asserts a time. On the native backend the conv-gradient GEMM
 * routes (src/backend/native-conv.ts) run their inner ops (BatchMatMul, Slice, PadV2,
 * Transpose, ...) through the engine, so those are listed too and counted inside their
 * conv kernel's time as well: the "kernels" totals then exceed the wall time.
 */
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { Params, referenceInit } from '../src/models/params.js';
import { patchganForward, patchganSpecs } from '../src/models/patchgan.js';
import { unetForward, unetSpecs, type UNetConfig } from '../src/models/unet.js';
import { l1, mseToConstant } from '../src/train/losses.js';
import { makeSetup, trainStep } from '../src/train/step.js';

const args = await yargs(hideBin(process.argv)).option('size', { type: 'number', default: 256 }).option('batch', { type: 'number', default: 1 })
  .option('top', { type: 'number', default: 25 }).option('backend', { type: 'string', default: 'wasm' }).strict().parseAsync();
await initBackend(args.backend);
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const size = args.size;
const g: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 64, depth: Math.min(8, Math.log2(size)), dropout: 0.5 };
const d = { inChannels: 3, ndf: 64 };
const s = makeSetup(new Params(unetSpecs(g), referenceInit(1)), new Params(patchganSpecs(d), referenceInit(2)), g, d,
  { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 }, 100, 'reuse');
const cond = tf.randomUniform([args.batch, size, size, 3], -1, 1) as tf.Tensor4D;
const real = tf.randomUniform([args.batch, size, size, 3], -1, 1) as tf.Tensor4D;
console.log(`load average ${load()}`);
await trainStep(s, { cond, real }, 0); // warm-up

type K = { name: string; kernelTimeMs: number | { error: string }; inputShapes: number[][] };
const all: { phase: string; k: K }[] = [];
async function phase<T>(name: string, fn: () => T): Promise<T> {
  let out!: T;
  const t0 = performance.now();
  const info = await tf.profile(() => { out = fn(); return [] as tf.Tensor[]; });
  const wall = performance.now() - t0;
  const ks = info.kernels as unknown as K[];
  for (const k of ks) all.push({ phase: name, k });
  const by = new Map<string, [number, number]>();
  let total = 0;
  for (const k of ks) {
    if (k.name === 'unnamed scope') continue; // customGrad/tidy wrappers: their time is their kernels'
    const e = by.get(k.name) ?? [0, 0];
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e[0] += ms; e[1]++; total += ms;
    by.set(k.name, e);
  }
  console.log(`\n== ${name}: kernels ${total.toFixed(0)} ms, wall ${wall.toFixed(0)} ms (load ${load()})`);
  for (const [n, [ms, c]] of [...by].sort((a, b) => b[1][0] - a[1][0])) if (ms >= 1) console.log(`  ${n.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms  x${c}`);
  return out;
}

const seed = 1;
let fake!: tf.Tensor4D;
const gGrads = await phase('G forward+backward', () => tf.variableGrads(() => {
  const f = unetForward(s.G, s.gCfg, cond, { training: true, seed });
  const adv = mseToConstant(patchganForward(s.D, s.dCfg, f, cond), 1);
  fake = tf.keep(f);
  return tf.add(adv, tf.mul(l1(f, real), s.lambdaL1)) as tf.Scalar;
}, s.G.list()));
await phase('G Adam', () => s.optG.apply(gGrads.grads));
tf.dispose([gGrads.value, ...Object.values(gGrads.grads)]);
const dGrads = await phase('D forward+backward', () => tf.variableGrads(() => {
  const r = mseToConstant(patchganForward(s.D, s.dCfg, real, cond), 1);
  const fk = mseToConstant(patchganForward(s.D, s.dCfg, fake, cond), 0);
  return tf.mul(tf.add(r, fk), 0.5) as tf.Scalar;
}, s.D.list()));
await phase('D Adam', () => s.optD.apply(dGrads.grads));
tf.dispose([dGrads.value, ...Object.values(dGrads.grads), fake]);

/**
 * Multiply-adds of a conv kernel call from its input shapes (tf.profile keeps no attributes):
 * the filter side is 4 except for stride-1 calls (the generator's folded 3x3 final layer).
 */
function macs(k: K): number | null {
  const [a, b] = k.inputShapes as [number[], number[]];
  const prod = (s: number[]) => s.reduce((x, y) => x * y, 1);
  if (k.name === 'Conv2D') return (a[0]! * Math.ceil(a[1]! / (b[0] === 3 ? 1 : 2)) * Math.ceil(a[2]! / (b[0] === 3 ? 1 : 2))) * prod(b);
  if (k.name === 'Conv2DBackpropInput') return prod(a.slice(0, 3)) * prod(b); // dy positions x filter
  if (k.name === 'Conv2DBackpropFilter') return prod(b) * (a[1] === b[1] ? 9 : 16) * a[3]!; // dy elements x taps x ci
  return null;
}

console.log(`\n== slowest ${args.top} kernel calls`);
for (const { phase: p, k } of all.filter((a) => a.k.name !== 'unnamed scope').sort((a, b) => (b.k.kernelTimeMs as number) - (a.k.kernelTimeMs as number)).slice(0, args.top)) {
  const m = macs(k);
  const rate = m === null ? '' : `  ${(m / (k.kernelTimeMs as number) / 1e6).toFixed(1)} GMAC/s`;
  console.log(`  ${(k.kernelTimeMs as number).toFixed(1).padStart(7)} ms  ${k.name.padEnd(24)} ${JSON.stringify(k.inputShapes)}${rate}  (${p})`);
}
let totalMacs = 0;
for (const { k } of all) totalMacs += macs(k) ?? 0;
console.log(`\nconv multiply-adds in the step: ${(totalMacs / 1e9).toFixed(1)} G`);
console.log(`\nload average ${load()}`);
