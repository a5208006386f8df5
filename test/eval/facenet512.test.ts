/**
 * Facenet512 (DeepFace InceptionResNetV1) parity with Keras on a scaled-down network
 * with DeepFace's layer names and random weights (test/fixtures/facenet512/make_fixture.py),
 * DeepFace's exact parameter count, DeepFace's resize + even padding, and clear errors
 * for wrong weight files.
 */
import * as tf from '@tensorflow/tfjs-core';
import h5wasm from 'h5wasm/node';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import type { Embedder } from '../../src/eval/embed.js';
import {
  deepfaceResizePad, facenetLayerSpecs, facenetParamCount, FACENET512_CONFIG, inferFacenetConfig, loadFacenet512Embedder, loadFacenetNet, preprocessFacenet, uniformBranchName,
  type FacenetConfig, type FacenetNet,
} from '../../src/eval/facenet512.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { ARCH_NAMES, getNetwork } from '../../src/models/registry.js';
import { runNetwork } from '../../src/models/run.js';
import { ganon, repoRoot } from '../helpers/cli.js';
import { expectNoLeak, maxAbsDiff } from '../helpers/tensors.js';

const DIR = `${repoRoot}test/fixtures/facenet512/`;
const H5 = `${DIR}tiny.h5`;
interface Fixture {
  config: FacenetConfig;
  fullParams: number;
  inputs: string[];
  embeddings: number[][];
  preprocess: { width: number; height: number; rgb: string; bgr: string };
}
const fx = JSON.parse(readFileSync(`${DIR}fixture.json`, 'utf8')) as Fixture;
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

let net: FacenetNet;
let embedder: Embedder;
beforeAll(async () => {
  net = await loadFacenetNet(H5, fx.config);
  embedder = await loadFacenet512Embedder(H5, fx.config);
});
afterAll(() => {
  net?.dispose();
  embedder?.dispose();
});

describe('Facenet512 architecture', () => {
  it("has DeepFace's parameter count (Keras count_params of InceptionResNetV1(512))", async () => {
    expect(fx.fullParams).toBe(23_497_424);
    expect(facenetParamCount(FACENET512_CONFIG)).toBe(fx.fullParams);
    const names = facenetLayerSpecs().map((l) => l.name);
    expect(names[0]).toBe('Conv2d_1a_3x3');
    expect(names).toContain('Block35_5_Conv2d_1x1');
    // DeepFace's naming quirk (deepface@d04ab28 Facenet.py): Block17_i / Block8_1..5 name their second branch Branch_{i}
    expect(names).toContain('Block17_1_Branch_1_Conv2d_0a_1x1');
    expect(names).toContain('Block17_10_Branch_10_Conv2d_0c_7x1_BatchNorm');
    expect(names).toContain('Block8_5_Branch_5_Conv2d_0b_1x3');
    expect(names).toContain('Block8_6_Branch_1_Conv2d_0c_3x1');
    expect(names).toContain('Block35_5_Branch_2_Conv2d_0c_3x3');
    expect(names).not.toContain('Block17_2_Branch_1_Conv2d_0a_1x1');
    expect(names).toHaveLength(245);
    expect(uniformBranchName('Block17_7_Branch_7_Conv2d_0b_1x7_BatchNorm')).toBe('Block17_7_Branch_1_Conv2d_0b_1x7_BatchNorm');
    expect(uniformBranchName('Block8_3_Branch_3_Conv2d_0a_1x1')).toBe('Block8_3_Branch_1_Conv2d_0a_1x1');
    expect(uniformBranchName('Block17_7_Branch_0_Conv2d_1x1')).toBe('Block17_7_Branch_0_Conv2d_1x1');
    expect(uniformBranchName('Block35_2_Branch_2_Conv2d_0a_1x1')).toBe('Block35_2_Branch_2_Conv2d_0a_1x1');
    expect(names).toContain('Block8_6_Conv2d_1x1');
    expect(names.slice(-2)).toEqual(['Bottleneck', 'Bottleneck_BatchNorm']);
  });
});

describe('Facenet512 parity with Keras (scaled-down fixture)', () => {
  it('embeds the 3 preprocessed inputs within 1e-4 of Keras', async () => {
    expect(fx.inputs).toHaveLength(3);
    const S = 160;
    const buf = new Float32Array(3 * S * S * 3);
    fx.inputs.forEach((b, i) => bytes(b).forEach((v, j) => { buf[i * S * S * 3 + j] = v / 255; }));
    const out = await expectNoLeak(async () => {
      const x = tf.tensor4d(buf, [3, S, S, 3]);
      const y = net.predict(x);
      const d = await y.data();
      tf.dispose([x, y]);
      return d;
    });
    for (let i = 0; i < 3; i++) {
      const want = fx.embeddings[i]!;
      expect(want).toHaveLength(512);
      expect(maxAbsDiff(out.subarray(i * 512, (i + 1) * 512), want)).toBeLessThan(1e-4);
    }
  });

  it('the embedder (RGB image -> DeepFace preprocessing -> network) matches Keras on the letterboxed image', async () => {
    const p = fx.preprocess;
    const [e] = await expectNoLeak(() => embedder.embed([{ width: p.width, height: p.height, data: bytes(p.rgb) }]));
    expect(embedder.name).toBe('facenet512');
    expect(embedder.proxy).toBe(false);
    expect(embedder.dim).toBe(512);
    expect(maxAbsDiff(e!, fx.embeddings[2]!)).toBeLessThan(1e-4);
  });
});

describe('DeepFace preprocessing', () => {
  it('resizes a 61x97 image aspect-preserving (cv2 INTER_LINEAR) and pads evenly, in BGR', async () => {
    const p = fx.preprocess;
    const got = deepfaceResizePad({ width: p.width, height: p.height, data: bytes(p.rgb) });
    const want = bytes(p.bgr);
    expect(got.length).toBe(want.length);
    // 61x97 -> 100x160 (int(61 * 160/97)), padded 30 left, 30 right
    const col = (x: number): number => { let s = 0; for (let y = 0; y < 160; y++) for (let c = 0; c < 3; c++) s += got[(y * 160 + x) * 3 + c]!; return s; };
    expect(col(29)).toBe(0);
    expect(col(30)).toBeGreaterThan(0);
    expect(col(129)).toBeGreaterThan(0);
    expect(col(130)).toBe(0);
    expect(maxAbsDiff(got, want)).toBe(0);
  });
});

describe("deepface 0.0.79's /255", () => {
  it('divides by 255 even when every level is 0 or 1 (0.0.79 does it unconditionally)', async () => {
    // a 160 x 160 image (no resize, no padding) with levels 0 and 1
    const data = new Uint8Array(160 * 160 * 3);
    for (let i = 0; i < data.length; i++) data[i] = i % 7 === 0 ? 1 : 0;
    const x = preprocessFacenet({ width: 160, height: 160, data });
    // BGR order: pixel 0's channels are (R, G, B) = (1, 0, 0) -> (B, G, R) = (0, 0, 1/255)
    expect(Array.from(x.subarray(0, 3))).toEqual([0, 0, Math.fround(1 / 255)]);
    let max = 0;
    for (const v of x) max = Math.max(max, v);
    expect(max).toBe(Math.fround(1 / 255));
  });
});

describe('a file with uniform branch names (another port)', () => {
  it('loads: Block17_i_Branch_1_* is accepted for DeepFace\'s Block17_i_Branch_i_*', async () => {
    await h5wasm.ready;
    const src = new h5wasm.File(H5, 'r');
    const path = join(mkdtempSync(join(tmpdir(), 'facenet-')), 'uniform.h5');
    const dst = new h5wasm.File(path, 'w');
    let renamed = 0;
    for (const l of facenetLayerSpecs(fx.config)) {
      const name = uniformBranchName(l.name);
      if (name !== l.name) renamed++;
      const g = dst.create_group(name).create_group(name);
      for (const w of l.weights) {
        const d = src.get(`${l.name}/${l.name}/${w.name}:0`) as InstanceType<typeof h5wasm.Dataset>;
        g.create_dataset({ name: `${w.name}:0`, data: d.value as Float32Array, shape: d.shape! });
      }
    }
    src.close();
    dst.close();
    expect(renamed).toBeGreaterThan(0);
    const n = await loadFacenetNet(path, fx.config);
    try {
      const S = 160;
      const x = tf.tensor4d(Float32Array.from(bytes(fx.inputs[0]!), (v) => v / 255), [1, S, S, 3]);
      const y = n.predict(x);
      expect(maxAbsDiff(await y.data(), fx.embeddings[0]!)).toBeLessThan(1e-4);
      tf.dispose([x, y]);
    } finally {
      n.dispose();
    }
  });
});

describe('wrong weight files', () => {
  it('names the first mismatching layer for another architecture', async () => {
    await expect(loadFacenetNet(H5, FACENET512_CONFIG)).rejects.toThrow(ModelLoadError);
    await expect(loadFacenetNet(H5, FACENET512_CONFIG)).rejects.toThrow(/layer 'Conv2d_1a_3x3' weight 'kernel' has shape \[3,3,3,4\], expected \[3,3,3,32\]/);
  });

  it('names the first missing layer', async () => {
    await h5wasm.ready;
    const dir = mkdtempSync(join(tmpdir(), 'facenet-'));
    const path = join(dir, 'partial.h5');
    const f = new h5wasm.File(path, 'w');
    const g = f.create_group('Conv2d_1a_3x3');
    g.create_group('Conv2d_1a_3x3').create_dataset({ name: 'kernel:0', data: new Float32Array(3 * 3 * 3 * 4), shape: [3, 3, 3, 4] });
    f.close();
    await expect(loadFacenetNet(path, fx.config)).rejects.toThrow(/layer 'Conv2d_1a_3x3_BatchNorm' is missing/);
  });

  it('says when the file is not HDF5', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'facenet-')), 'bad.h5');
    writeFileSync(path, 'not an hdf5 file');
    await expect(loadFacenetNet(path, fx.config)).rejects.toThrow(/cannot open the Facenet512 weights/);
  });
});

describe('ganon model run --arch facenet512', () => {
  const nchw = (): Float32Array => {
    // the fixture's preprocessed inputs (HWC BGR levels) -> NCHW in [0, 1]
    const S = 160;
    const out = new Float32Array(3 * 3 * S * S);
    fx.inputs.forEach((b, i) => bytes(b).forEach((v, j) => {
      const c = j % 3;
      const p = (j - c) / 3;
      out[((i * 3 + c) * S * S) + p] = v / 255;
    }));
    return out;
  };

  it('reads the architecture back from the weights file', async () => {
    expect(await inferFacenetConfig(H5)).toEqual(fx.config);
  });

  it('runNetwork: NCHW [3,3,160,160] -> [3,512] within 1e-4 of Keras, says the file is scaled down', async () => {
    const logs: string[] = [];
    const out = await expectNoLeak(() => runNetwork('facenet512', H5, new Map([['input', { shape: [3, 3, 160, 160], data: nchw() }]]), 'in', { log: (l) => logs.push(l) }));
    const y = out.get('output')!;
    expect(y.shape).toEqual([3, 512]);
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(y.data.subarray(i * 512, (i + 1) * 512), fx.embeddings[i]!)).toBeLessThan(1e-4);
    expect(logs.join('\n')).toMatch(/scaled InceptionResNetV1 \(width 0\.125, blocks 2\/2\/2\+1, 512-d\), not DeepFace's Facenet512/);
    await expect(runNetwork('facenet512', H5, new Map([['input', { shape: [1, 3, 96, 96], data: new Float32Array(3 * 96 * 96) }]]), 'in')).rejects.toThrow(/facenet512 takes 160x160/);
    await expect(runNetwork('facenet512', H5, new Map([['input', { shape: [1, 1, 160, 160], data: new Float32Array(160 * 160) }]]), 'in')).rejects.toThrow(/expects 3/);
    await expect(runNetwork('facenet512', H5, new Map(), 'in', { numClasses: 3 })).rejects.toThrow(/--num-classes/);
    expect(() => getNetwork('facenet512')).toThrow(/Keras/);
    expect(ARCH_NAMES).toContain('facenet512');
  });

  it('the CLI writes the embeddings as safetensors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facenet-run-'));
    const input = join(dir, 'in.safetensors');
    writeFileSync(input, encodeSafetensors(new Map([['input', { shape: [3, 3, 160, 160], data: nchw() }]])));
    const out = join(dir, 'out.safetensors');
    const r = await ganon(['model', 'run', '--arch', 'facenet512', '--weights', H5, '--input', input, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const y = decodeSafetensors(readFileSync(out)).tensors.get('output')!;
    expect(y.shape).toEqual([3, 512]);
    expect(maxAbsDiff(y.data.subarray(0, 512), fx.embeddings[0]!)).toBeLessThan(1e-4);
    const bad = await ganon(['model', 'run', '--arch', 'facenet512', '--weights', join(dir, 'none.h5'), '--input', input, '--out', out]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/does not exist/);
  });
});
