/**
 * The loop end to end on a small synthetic dataset: exact resume (4 + resume + 4
 * == 8 straight), checkpoint files and metadata, Arrow log, sample grid, bad
 * data handling, divergence stop.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveTrainConfig, type TrainConfig } from '../../src/config/train.js';
import { DatasetError } from '../../src/errors.js';
import { readManifest, writeManifest } from '../../src/io/manifest.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { writeSyntheticDataset } from '../../src/pipeline/synthetic.js';
import { train } from '../../src/train/loop.js';
import { readStepLog } from '../../src/train/steplog.js';

let data: string;
const tmp = () => mkdtempSync(join(tmpdir(), 'ganon-loop-'));

function cfg(extra: Record<string, unknown> = {}): TrainConfig {
  return resolveTrainConfig({
    seed: 3, imageSize: 32,
    model: { ngf: 4, ndf: 4, depth: 5 },
    train: { batchSize: 3, epochs: 10, maxSteps: 8 },
    checkpoint: { every: 4, keep: 3 },
    log: { sampleEvery: 4, sampleCount: 2 },
    ...extra,
  });
}

beforeAll(async () => {
  data = tmp();
  await writeSyntheticDataset(data, { count: 14, size: 32, seed: 9 });
});

describe('training loop', () => {
  it('4 steps + resume + 4 steps == 8 straight steps (losses within 1e-6)', async () => {
    const straight = tmp();
    const a = await train({ config: cfg(), dataDir: data, outDir: straight, resume: false, backend: 'wasm', out: null });
    expect(a.step).toBe(8);
    const split = tmp();
    await train({ config: cfg({ train: { batchSize: 3, epochs: 10, maxSteps: 4 } }), dataDir: data, outDir: split, resume: false, backend: 'wasm', out: null });
    const b = await train({ config: cfg(), dataDir: data, outDir: split, resume: true, backend: 'wasm', out: null });
    expect(b.step).toBe(8);
    const ra = readStepLog(join(straight, 'steps.arrow'));
    const rb = readStepLog(join(split, 'steps.arrow'));
    expect(rb.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let i = 0; i < 8; i++) {
      for (const k of ['G', 'G_adv', 'G_L1', 'D'] as const) expect(Math.abs(ra[i]![k] - rb[i]![k])).toBeLessThanOrEqual(1e-6);
    }
    // 8 steps of 3 over 11 train pairs cross an epoch boundary (4 steps/epoch), so data order state is exercised.
    expect(ra.map((r) => r.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const wa = decodeSafetensors(readFileSync(join(straight, 'checkpoints/step-00000008/generator.safetensors'))).tensors;
    const wb = decodeSafetensors(readFileSync(join(split, 'checkpoints/step-00000008/generator.safetensors'))).tensors;
    for (const [k, v] of wa) expect(Array.from(wb.get(k)!.data)).toEqual(Array.from(v.data));
  });

  it('the D step on a second thread gives bit-identical losses, weights and optimizer state, also across a resume', async () => {
    const one = tmp();
    const a = await train({ config: cfg(), dataDir: data, outDir: one, resume: false, backend: 'wasm', out: null, dThread: false });
    const two = tmp();
    await train({ config: cfg({ train: { batchSize: 3, epochs: 10, maxSteps: 4 } }), dataDir: data, outDir: two, resume: false, backend: 'wasm', out: null, dThread: true });
    const b = await train({ config: cfg(), dataDir: data, outDir: two, resume: true, backend: 'wasm', out: null, dThread: true });
    expect([a.step, b.step]).toEqual([8, 8]);
    const ra = readStepLog(join(one, 'steps.arrow'));
    const rb = readStepLog(join(two, 'steps.arrow'));
    for (let i = 0; i < 8; i++) for (const k of ['G', 'G_adv', 'G_L1', 'D'] as const) expect(rb[i]![k]).toBe(ra[i]![k]);
    for (const f of ['generator', 'discriminator', 'optimizer']) {
      const wa = decodeSafetensors(readFileSync(join(one, `checkpoints/step-00000008/${f}.safetensors`))).tensors;
      const wb = decodeSafetensors(readFileSync(join(two, `checkpoints/step-00000008/${f}.safetensors`))).tensors;
      expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
      for (const [k, v] of wa) expect(Buffer.from(wb.get(k)!.data.buffer).equals(Buffer.from(v.data.buffer)), `${f} ${k}`).toBe(true);
    }
    const state = (d: string) => JSON.parse(readFileSync(join(d, 'checkpoints/step-00000008/state.json'), 'utf8')) as { adamStepG: number; adamStepD: number };
    expect(state(two)).toMatchObject({ adamStepG: 8, adamStepD: 8 });
    expect(state(one)).toMatchObject({ adamStepG: 8, adamStepD: 8 });
  }, 180_000);

  it('writes checkpoints with provenance, keeps the last K, logs and samples', async () => {
    const out = tmp();
    const r = await train({ config: cfg({ checkpoint: { every: 2, keep: 2 } }), dataDir: data, outDir: out, resume: false, backend: 'wasm', out: null });
    const cks = readdirSync(join(out, 'checkpoints')).sort();
    expect(cks).toEqual(['step-00000006', 'step-00000008']);
    const state = JSON.parse(readFileSync(join(out, 'checkpoints/step-00000008/state.json'), 'utf8'));
    expect(state).toMatchObject({ step: 8, backend: 'wasm', adamStepG: 8, adamStepD: 8 });
    expect(state.config.imageSize).toBe(32);
    expect(typeof state.gitCommit).toBe('string');
    expect(typeof state.toolkitVersion).toBe('string');
    for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) {
      expect(existsSync(join(out, 'checkpoints/step-00000008', f))).toBe(true);
    }
    expect(r.samples.map((s) => s.split('/').at(-1))).toEqual(['step-00000004.png', 'step-00000008.png']);
    expect(readStepLog(join(out, 'steps.arrow'))).toHaveLength(8);
    expect(existsSync(join(out, 'config.yaml'))).toBe(true);
  });

  it('refuses to overwrite a run without --resume', async () => {
    const out = tmp();
    await train({ config: cfg({ train: { batchSize: 3, epochs: 1, maxSteps: 1 } }), dataDir: data, outDir: out, resume: false, backend: 'wasm', out: null });
    await expect(train({ config: cfg(), dataDir: data, outDir: out, resume: false, backend: 'wasm', out: null })).rejects.toThrow(/--resume/);
  });

  it('refuses to resume with a different network', async () => {
    const out = tmp();
    await train({ config: cfg({ train: { batchSize: 3, epochs: 1, maxSteps: 1 } }), dataDir: data, outDir: out, resume: false, backend: 'wasm', out: null });
    await expect(train({ config: cfg({ model: { ngf: 8, ndf: 4, depth: 5 } }), dataDir: data, outDir: out, resume: true, backend: 'wasm', out: null })).rejects.toThrow(/model.ngf was 4, now 8/);
  });

  it('skips, counts and logs a corrupt training image without stopping', async () => {
    const d = tmp();
    await writeSyntheticDataset(d, { count: 10, size: 32, seed: 4 });
    writeFileSync(join(d, 'faces/synthetic-00001.png'), Buffer.from('not a png at all'));
    const out = tmp();
    const r = await train({ config: cfg({ train: { batchSize: 4, epochs: 1, maxSteps: 0 } }), dataDir: d, outDir: out, resume: false, backend: 'wasm', out: null });
    expect(r.status).toBe('done');
    expect(r.skipped).toBe(1);
    expect(readFileSync(join(out, 'train.log'), 'utf8')).toMatch(/skipped synthetic-00001: cannot decode image .*synthetic-00001\.png.: Input file contains unsupported image format/);
  });

  it('a dataset preprocessed at another size is a one-line error before training', async () => {
    await expect(train({ config: cfg({ imageSize: 64, model: { ngf: 4, ndf: 4, depth: 5 } }), dataDir: data, outDir: tmp(), resume: false, backend: 'wasm', out: null }))
      .rejects.toThrow(/is 32x32, expected 64x64/);
  });

  it('missing and empty dataset directories are clear DatasetErrors', async () => {
    await expect(train({ config: cfg(), dataDir: '/nonexistent/ganon', outDir: tmp(), resume: false, backend: 'wasm', out: null })).rejects.toThrow(DatasetError);
    await expect(train({ config: cfg(), dataDir: tmp(), outDir: tmp(), resume: false, backend: 'wasm', out: null })).rejects.toThrow(/not a paired dataset/);
    const onlyTest = tmp();
    copyFileSync(join(data, 'manifest.arrow'), join(onlyTest, 'manifest.arrow'));
    const rows = readManifest(join(onlyTest, 'manifest.arrow')).map((r) => ({ ...r, split: 'test' as const }));
    await writeManifest(join(onlyTest, 'manifest.arrow'), rows);
    await expect(train({ config: cfg(), dataDir: onlyTest, outDir: tmp(), resume: false, backend: 'wasm', out: null })).rejects.toThrow(/no training examples/);
  });

  it('a diverging run stops with a clear message and keeps the last good checkpoint', async () => {
    const out = tmp();
    const r = train({ config: cfg({ train: { batchSize: 3, epochs: 10, maxSteps: 8, lr: 1e38 } }), dataDir: data, outDir: out, resume: false, backend: 'wasm', out: null });
    await expect(r).rejects.toThrow(/became (NaN|Infinity|-Infinity) at step \d+; training stopped/);
  });

  it('an abort signal checkpoints after the current step', async () => {
    const out = tmp();
    const ctl = new AbortController();
    ctl.abort();
    const r = await train({ config: cfg(), dataDir: data, outDir: out, resume: false, backend: 'wasm', out: null, signal: ctl.signal });
    expect(r.status).toBe('interrupted');
    expect(r.step).toBe(1);
    expect(existsSync(join(out, 'checkpoints/step-00000001/state.json'))).toBe(true);
  });
});
