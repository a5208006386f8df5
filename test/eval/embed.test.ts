/**
 * The proxy embedder (Human's faceres, 1024-d) on astronaut.png, and the
 * identity harness end to end on tiny generated inputs: crop-named outputs,
 * full frames cropped with the original's transform, a missing file, an extra
 * file and an original without a face.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineDistance, loadProxyEmbedder, type Embedder } from '../../src/eval/embed.js';
import { resampleCrop, runIdentity } from '../../src/eval/identity-run.js';
import { decodeImage, writePng, type RgbImage } from '../../src/io/images.js';
import { blur, pixelate } from '../../src/pipeline/baselines.js';
import { extractFaces, type FaceRecord } from '../../src/pipeline/faces.js';
import { syntheticFace } from '../../src/pipeline/synthetic.js';
import { repoRoot } from '../helpers/cli.js';
import { expectNoLeak } from '../helpers/tensors.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const S = 128;
const DETECT = { minScore: 0.5, maxFaces: 5 };
let img: RgbImage;
let face: FaceRecord;
let embedder: Embedder;

function mirror(im: RgbImage): RgbImage {
  const data = new Uint8Array(im.data.length);
  for (let y = 0; y < im.height; y++) for (let x = 0; x < im.width; x++) data.set(im.data.subarray((y * im.width + im.width - 1 - x) * 3, (y * im.width + im.width - x) * 3), (y * im.width + x) * 3);
  return { width: im.width, height: im.height, data };
}

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  img = await decodeImage(ASTRONAUT);
  const faces = await extractFaces(img, { size: S, margin: 0, detect: DETECT });
  face = faces[0]!;
  embedder = await loadProxyEmbedder();
});
afterAll(() => embedder?.dispose());

describe('proxy embedder (Human faceres)', () => {
  it('is labelled proxy, 1024-d, finite', async () => {
    expect(embedder.name).toBe('proxy-faceres');
    expect(embedder.proxy).toBe(true);
    const [e] = await embedder.embed([face.image]);
    expect(e!.length).toBe(1024);
    expect(e!.every(Number.isFinite)).toBe(true);
  });

  it('the mirrored face is closer than a synthetic cartoon face and than 8x8 pixelation', async () => {
    const cartoon: RgbImage = {
      width: S, height: S,
      data: syntheticFace({ cx: 0.5, cy: 0.5, a: 0.3, b: 0.38, tilt: 0, eye: 0.025, mouth: 0.02, smile: 0.02, brow: 0, skin: [236, 188, 150], iris: [70, 50, 30], lip: [180, 75, 85] }, S),
    };
    const [a, m, c, p] = await embedder.embed([face.image, mirror(face.image), cartoon, pixelate(face.image, 8)]);
    const dMirror = cosineDistance(a!, m!);
    const dCartoon = cosineDistance(a!, c!);
    const dPix = cosineDistance(a!, p!);
    expect(dMirror).toBeLessThan(0.15); // MODELS.md: similarity 0.956 with its own mirror
    expect(dMirror).toBeLessThan(dCartoon);
    expect(dMirror).toBeLessThan(dPix);
  });

  it('no tensor leak over 3 calls; same input, same embedding', async () => {
    const first = await embedder.embed([face.image]);
    for (let i = 0; i < 3; i++) {
      const again = await expectNoLeak(() => embedder.embed([face.image]));
      expect(Array.from(again[0]!)).toEqual(Array.from(first[0]!));
    }
  });

  it('resampling the original frame through toOriginal reproduces the aligned crop (no offset)', () => {
    const err = (dx: number, dy: number) => {
      const t = face.toOriginal;
      const re = resampleCrop(img, { ...t, tx: t.tx + dx, ty: t.ty + dy }, S);
      let sum = 0;
      for (let i = 0; i < re.data.length; i++) sum += Math.abs(re.data[i]! - face.image.data[i]!);
      return sum / re.data.length;
    };
    const e0 = err(0, 0);
    // the aligned crop itself used a nearest-neighbour rotation and a Lanczos letterbox, so not 0
    expect(e0).toBeLessThan(9);
    for (const [dx, dy] of [[0.5, 0], [-0.5, 0], [0, 0.5], [0, -0.5]] as const) expect(e0).toBeLessThan(err(dx, dy));
  });
});

describe('identity harness', () => {
  it('crop outputs, full frames, a missing file, an extra file and a no-face original', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-identity-'));
    const orig = join(root, 'orig');
    const a = join(root, 'A');
    const b = join(root, 'B');
    for (const d of [join(orig, 'sub'), join(a, 'sub'), join(b, 'sub')]) mkdirSync(d, { recursive: true });
    const mirrored = mirror(img);
    await writePng(join(orig, 'a.png'), img);
    await writePng(join(orig, 'sub', 'b.png'), mirrored);
    await writePng(join(orig, 'blank.png'), { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) });
    // method A: crop outputs with the anonymize naming; sub/0_b.png missing; one extra file
    await writePng(join(a, '0_a.png'), pixelate(face.image, 8));
    await writePng(join(a, 'stray.png'), face.image);
    // method B: full frames (blurred copies of the originals) at the same relative paths
    await writePng(join(b, 'a.png'), blur(img, 9));
    await writePng(join(b, 'sub', 'b.png'), blur(mirrored, 9));
    const out = join(root, 'run');
    const before = tf.memory().numTensors;
    const run = await runIdentity({ original: orig, methods: [{ name: 'pix8', dir: a }, { name: 'blur9-frame', dir: b }], embedder, size: S, outDir: out, threshold: 0.3 });
    expect(tf.memory().numTensors).toBe(before);

    const key = (r: { method: string; original: string; file: string }) => `${r.method}:${r.original || r.file}`;
    const rows = new Map(run.rows.map((r) => [key(r), r]));
    expect(run.rows).toHaveLength(7);
    expect(rows.get('pix8:a.png')).toMatchObject({ status: 'ok', match: 'crop', file: '0_a.png', rank: expect.any(Number) });
    expect(rows.get('pix8:sub/b.png')).toMatchObject({ status: 'missing', file: '' });
    expect(rows.get('pix8:blank.png')).toMatchObject({ status: 'no_face' });
    expect(rows.get('pix8:stray.png')).toMatchObject({ status: 'extra', original: '' });
    expect(rows.get('blur9-frame:a.png')).toMatchObject({ status: 'ok', match: 'frame', file: 'a.png' });
    expect(rows.get('blur9-frame:sub/b.png')).toMatchObject({ status: 'ok', match: 'frame', file: 'sub/b.png' });
    expect(rows.get('blur9-frame:blank.png')).toMatchObject({ status: 'no_face' });
    for (const r of run.rows) expect(Number.isFinite(r.distance)).toBe(r.status === 'ok');
    // a light blur keeps the identity: closer than 8x8 pixelation, and re-identified at rank 1
    expect(rows.get('blur9-frame:a.png')!.distance).toBeLessThan(rows.get('pix8:a.png')!.distance);
    expect(rows.get('blur9-frame:a.png')!.rank).toBe(1);
    expect(rows.get('blur9-frame:sub/b.png')!.rank).toBe(1);

    expect(run.counts).toMatchObject({ originals: 3, faces: 2, noFace: 1, errors: 0 });
    expect(run.counts.methods.pix8).toMatchObject({ ok: 1, missing: 1, noFace: 1, extra: 1, extraFiles: ['stray.png'], missingFiles: ['sub/b.png'] });
    expect(run.counts.methods['blur9-frame']).toMatchObject({ ok: 2, missing: 0, noFace: 1, extra: 0 });
    expect(run.result.methods.map((m) => [m.name, m.n])).toEqual([['pix8', 1], ['blur9-frame', 2]]);
    expect(run.result.comparisons[0]).toMatchObject({ reference: 'pix8', method: 'blur9-frame', n: 1 });

    const table = readFileSync(join(out, 'table1.md'), 'utf8');
    expect(table).toBe(run.table);
    expect(table).toContain('proxy-faceres (proxy; not Facenet512)');
    expect(table).toMatch(/\| pix8 \| [0-9.]+ \| [0-9.]+ \| \[[0-9., ]+\] \| [0-9.]+% \| [0-9.]+% \| 100\.0% \| 1 \|/);
    expect(table).toMatch(/\| blur9-frame \| [0-9.]+ \| [0-9.]+ \| \[[0-9., ]+\] \| 0\.0% \| 100\.0% \| 100\.0% \| 2 \|/);
    expect(table).toContain('| pix8 | 1 | 1 | 1 | 0 | 1 |');
    expect(table).toContain('Missing for pix8: sub/b.png');
    expect(table).toContain('Extra files in pix8: stray.png');

    const t = tableFromIPC(readFileSync(join(out, 'identity.arrow')));
    expect(t.numRows).toBe(7);
    expect(t.schema.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['original', 'method', 'file', 'status', 'distance']));
    expect(t.getChild('embedder')!.get(0)).toBe('proxy-faceres');
    const json = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, any>;
    expect(json.embedder).toMatchObject({ name: 'proxy-faceres', proxy: true, dim: 1024 });
    expect(json.threshold).toBe(0.3);
    expect(json.counts.methods.pix8.missing).toBe(1);
    expect(typeof json.toolkitVersion).toBe('string');
  });
});

describe('embedder provenance', () => {
  it("the proxy embedder carries the sha256 of Human's faceres model files", async () => {
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { loadProxyEmbedder, faceresModelPath } = await import('../../src/eval/embed.js');
    const e = await loadProxyEmbedder();
    const p = faceresModelPath();
    const want = createHash('sha256').update(readFileSync(p)).update(readFileSync(p.replace(/\.json$/, '.bin'))).digest('hex');
    expect(e.weightsSha256).toBe(want);
    e.dispose();
  });
});
