/**
 * The native test set (issue 9), run by .ci/native.sh with GANON_NATIVE_TESTS=1
 * after it builds the backend: every registered network matches wasm at 256 px
 * within 1e-4, training steps give finite and decreasing losses, and resume
 * continues the same run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeBackend } from '../../src/backend/native.js';
import { resolveTrainConfig } from '../../src/config/train.js';
import { fromTorchMap, Params, referenceInit } from '../../src/models/params.js';
import { networks } from '../../src/models/registry.js';
import { writeSyntheticDataset } from '../../src/pipeline/synthetic.js';
import { train } from '../../src/train/loop.js';
import { readStepLog } from '../../src/train/steplog.js';
import { disposeSetup, makeSetup, trainStep } from '../../src/train/step.js';
import { patchganSpecs } from '../../src/models/patchgan.js';
import { unetSpecs } from '../../src/models/unet.js';
import { fixtureDir, formulaInput, formulaWeights } from '../helpers/fixtures.js';
import { maxAbsDiff, seededValues } from '../helpers/tensors.js';

const probe = await loadNativeBackend();
if (!probe.info) throw new Error(`GANON_NATIVE_TESTS=1 but no native backend: ${probe.tried.map((t) => `${t.package}: ${t.error}`).join('; ')}`);
const meta = JSON.parse(readFileSync(`${fixtureDir}pix2pix/meta.json`, 'utf8')) as { cases: Record<string, { A: number }> };
const convnextA = (JSON.parse(readFileSync(`${fixtureDir}convnext/base_formula.json`, 'utf8')) as { A: number }).A;
const amplitude: Record<string, number> = { unet: meta.cases.unet256_formula!.A, patchgan: meta.cases.patchgan256_formula!.A };
for (const name of Object.keys(networks)) if (name.startsWith('convnext')) amplitude[name] = convnextA;

async function forwardOn(backend: string, name: keyof typeof networks): Promise<Float32Array> {
  await tf.setBackend(backend);
  const def = networks[name] as unknown as (typeof networks)['unet'];
  const cfg = def.paperConfig;
  const specs = def.specs(cfg);
  const w = formulaWeights(specs, amplitude[name]!);
  await new Promise<void>((resolve) => setImmediate(resolve)); // let vitest's RPC answers in (test/helpers/setup.ts)
  const p = new Params(specs, fromTorchMap(w, 'formula'));
  const c = def.inputChannels(cfg);
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(formulaInput(c * 256 * 256), [1, c, 256, 256]), [0, 2, 3, 1]) as tf.Tensor4D);
  const y = def.forward(p, cfg, x);
  const v = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  p.dispose();
  return v;
}

describe(`native backend: ${probe.info.package} (libtensorflow ${probe.info.libtensorflowVersion})`, () => {
  beforeAll(async () => {
    await tf.setBackend('tensorflow');
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const name of Object.keys(networks) as (keyof typeof networks)[]) {
    it(`${name} at 256 px matches wasm within 1e-4`, async () => {
      expect(amplitude[name], `no formula amplitude for ${name}`).toBeDefined();
      const wasm = await forwardOn('wasm', name);
      const nat = await forwardOn('tensorflow', name);
      expect(maxAbsDiff(nat, wasm)).toBeLessThanOrEqual(1e-4);
    });
  }

  it('training steps give finite, decreasing losses', async () => {
    await tf.setBackend('tensorflow');
    const g = { inChannels: 3, outChannels: 3, ngf: 32, depth: 5, dropout: 0 };
    const d = { inChannels: 3, ndf: 8 };
    const s = makeSetup(new Params(unetSpecs(g), referenceInit(5)), new Params(patchganSpecs(d), referenceInit(6)), g, d,
      { lr: 2e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8 }, 100, 'reuse');
    const cond = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(seededValues(8 * 8 * 8 * 3, 21), [8, 8, 8, 3]), [32, 32])) as tf.Tensor4D;
    const real = tf.tidy(() => tf.mul(tf.mul(cond, tf.reverse(cond, 3)), 0.9)) as tf.Tensor4D;
    const l1: number[] = [];
    const tensors: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < 20; i++) {
      const l = await trainStep(s, { cond, real }, i);
      for (const v of Object.values(l)) expect(Number.isFinite(v)).toBe(true);
      l1.push(l.G_L1);
      if (i > 0) tensors.push(tf.memory().numTensors);
      rss.push(process.memoryUsage().rss / 2 ** 20);
    }
    expect(Math.min(...l1.slice(-3))).toBeLessThan(l1[0]! / 2);
    expect(new Set(tensors).size).toBe(1); // no tensor leak on native either
    console.log(`native RSS over 20 steps (MB): step 2 ${rss[1]!.toFixed(0)}, step 10 ${rss[9]!.toFixed(0)}, step 20 ${rss[19]!.toFixed(0)}`);
    tf.dispose([cond, real]);
    disposeSetup(s);
  });

  it('face detection and the mesh run on the native backend (tfjs-node file:// loader, no double handler)', async () => {
    await tf.setBackend('tensorflow');
    const { decodeImage } = await import('../../src/io/images.js');
    const { detectFaces } = await import('../../src/pipeline/human.js');
    const faces = await detectFaces(await decodeImage('test/.cache/astronaut.png'));
    expect(faces).toHaveLength(1);
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('2 steps + resume + 2 steps == 4 straight steps', async () => {
    await tf.setBackend('tensorflow');
    const data = mkdtempSync(join(tmpdir(), 'ganon-native-'));
    await writeSyntheticDataset(data, { count: 12, size: 32, seed: 2 });
    const cfg = (maxSteps: number) => resolveTrainConfig({ seed: 1, imageSize: 32, model: { ngf: 8, ndf: 8, depth: 5 }, train: { batchSize: 2, maxSteps } });
    const a = mkdtempSync(join(tmpdir(), 'ganon-native-'));
    const b = mkdtempSync(join(tmpdir(), 'ganon-native-'));
    await train({ config: cfg(4), dataDir: data, outDir: a, resume: false, backend: 'tensorflow', out: null });
    await train({ config: cfg(2), dataDir: data, outDir: b, resume: false, backend: 'tensorflow', out: null });
    await train({ config: cfg(4), dataDir: data, outDir: b, resume: true, backend: 'tensorflow', out: null });
    const ra = readStepLog(join(a, 'steps.arrow'));
    const rb = readStepLog(join(b, 'steps.arrow'));
    expect(rb).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(ra[i]!.G - rb[i]!.G) / ra[i]!.G).toBeLessThan(1e-5);
  });
});
