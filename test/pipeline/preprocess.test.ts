/**
 * `ganon preprocess` on a folder: manifest + faces, the bad-input corpus (each
 * file gets a row, the run goes on), resume, shards + merge == one run, and
 * training reads the result.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/config/train.js';
import { readManifest } from '../../src/io/manifest.js';
import { getDataset } from '../../src/pipeline/datasets/index.js';
import { mergeShards, preprocessItems, type PreprocessOptions } from '../../src/pipeline/preprocess.js';
import { train } from '../../src/train/loop.js';
import { repoRoot } from '../helpers/cli.js';
import { renderLandmarks } from '../../src/pipeline/render.js';
import { makeCorpus } from '../helpers/corpus.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const tmp = () => mkdtempSync(join(tmpdir(), 'ganon-pre-'));
const OPTS: PreprocessOptions = { face: { size: 64, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } }, flushEvery: 2, maxPixels: 5_000_000 };
let corpus: string;

beforeAll(async () => {
  corpus = await makeCorpus(tmp());
}, 120_000);

describe('preprocess', () => {
  it('every file gets a row: faces for the good ones, a clear error or no_face for the bad ones', async () => {
    const out = tmp();
    const items = getDataset('folder').list(corpus, { seed: 1, valFraction: 0.2 });
    const s = await preprocessItems(items, out, OPTS);
    const rows = readManifest(join(out, 'manifest.arrow'));
    const by = (f: string) => rows.filter((r) => r.source.endsWith(f));
    for (const f of ['astronaut.png', 'astronaut.jpg', 'grey.png', 'alpha.png', 'sixteen-bit.png', 'cmyk.jpg', 'exif-rotated.jpg']) {
      expect(by(f).map((r) => r.status), f).toEqual(['ok']);
      expect(by(f)[0]!.landmarks!.length).toBe(478 * 3);
    }
    // EXIF orientation is applied before detection: the face is upright, eyes level
    expect(Math.abs((by('exif-rotated.jpg')[0]!.angle * 180) / Math.PI)).toBeLessThan(10);
    for (const f of ['truncated.jpg', 'bad-header.png', 'zero-byte.png', 'not-an-image.jpg']) {
      expect(by(f)[0]).toMatchObject({ status: 'error' });
      expect(by(f)[0]!.message, f).toMatch(/cannot decode image/);
    }
    expect(by('huge.png')[0]).toMatchObject({ status: 'error', message: expect.stringMatching(/3000x2000, above the 5000000-pixel limit/) });
    expect(by('one-pixel.png')[0]).toMatchObject({ status: 'no_face' });
    expect(by('unreadable.png')[0]).toMatchObject({ status: 'error', message: expect.stringMatching(/unreadable\.png/) });
    expect(s).toMatchObject({ files: 14, faces: 7, errors: 6, noFace: 1 });
    expect(readdirSync(join(out, 'faces')).sort()).toEqual(rows.filter((r) => r.status === 'ok').map((r) => `${r.id}.png`).sort());
  });

  it('a rerun resumes (nothing redone, no duplicate rows); shards + merge equal one run', async () => {
    const items = getDataset('folder').list(join(corpus, 'good'), { seed: 1, valFraction: 0.2 });
    const one = tmp();
    await preprocessItems(items, one, OPTS);
    const again = await preprocessItems(items, one, OPTS);
    expect(again).toMatchObject({ done: 0, skipped: items.length });
    const single = readManifest(join(one, 'manifest.arrow'));
    expect(single).toHaveLength(items.length);
    const a = tmp();
    const b = tmp();
    await preprocessItems(items, a, { ...OPTS, shard: { index: 0, count: 2 } });
    await preprocessItems(items, b, { ...OPTS, shard: { index: 1, count: 2 } });
    const merged = tmp();
    await mergeShards([a, b], merged);
    const m = readManifest(join(merged, 'manifest.arrow'));
    const key = (r: (typeof m)[number]) => `${r.id}|${r.status}|${Array.from(r.landmarks ?? []).join(',')}`;
    expect(m.map(key).sort()).toEqual(single.map(key).sort());
    for (const r of m) expect(readFileSync(join(merged, 'faces', `${r.id}.png`)).equals(readFileSync(join(one, 'faces', `${r.id}.png`)))).toBe(true);
  });

  it('a killed run (manifest flushed mid-way) resumes without duplicates', async () => {
    const items = getDataset('folder').list(join(corpus, 'good'), { seed: 1, valFraction: 0.2 });
    const out = tmp();
    await preprocessItems(items.slice(0, 3), out, OPTS); // as if killed after 3 files
    const s = await preprocessItems(items, out, OPTS);
    expect(s.skipped).toBe(3);
    const rows = readManifest(join(out, 'manifest.arrow'));
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it('--segment zeroes the background of the written faces', async () => {
    const items = getDataset('folder').list(join(corpus, 'good'), { seed: 1, valFraction: 0.2 }).slice(0, 1);
    const plain = tmp();
    const seg = tmp();
    await preprocessItems(items, plain, OPTS);
    await preprocessItems(items, seg, { ...OPTS, segment: true });
    const id = readManifest(join(seg, 'manifest.arrow'))[0]!.id;
    const a = await sharp(join(plain, 'faces', `${id}.png`)).raw().toBuffer();
    const b = await sharp(join(seg, 'faces', `${id}.png`)).raw().toBuffer();
    let zeroed = 0;
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0 && a[i] !== 0) zeroed++;
      else expect(b[i]).toBe(a[i]); // kept pixels are unchanged
    }
    expect(zeroed / b.length).toBeGreaterThan(0.05);
  });

  it('--write-landmark-images writes the rendered landmark image of each face, also through shards + merge', async () => {
    const items = getDataset('folder').list(join(corpus, 'good'), { seed: 1, valFraction: 0.2 }).slice(0, 2);
    const out = tmp();
    await preprocessItems(items, out, { ...OPTS, writeLandmarkImages: true });
    const rows = readManifest(join(out, 'manifest.arrow')).filter((r) => r.status === 'ok');
    expect(rows.length).toBe(2);
    for (const r of rows) {
      const png = await sharp(join(out, 'landmarks', `${r.id}.png`)).raw().toBuffer({ resolveWithObject: true });
      expect([png.info.width, png.info.height]).toEqual([64, 64]);
      expect(Buffer.from(png.data).equals(Buffer.from(renderLandmarks(r.landmarks!, 64).data))).toBe(true);
      expect(png.data.some((v) => v === 224)).toBe(true);
    }
    const plain = tmp();
    await preprocessItems(items, plain, OPTS);
    expect(existsSync(join(plain, 'landmarks'))).toBe(false);
    const [s0, s1, merged] = [tmp(), tmp(), tmp()];
    await preprocessItems(items, s0, { ...OPTS, writeLandmarkImages: true, shard: { index: 0, count: 2 } });
    await preprocessItems(items, s1, { ...OPTS, writeLandmarkImages: true, shard: { index: 1, count: 2 } });
    await mergeShards([s0, s1], merged);
    expect(readdirSync(join(merged, 'landmarks')).sort()).toEqual(readdirSync(join(out, 'landmarks')).sort());
  });

  it('ganon train reads the output', async () => {
    const items = getDataset('folder').list(join(corpus, 'good'), { seed: 1, valFraction: 0.2 });
    const out = tmp();
    await preprocessItems(items, out, { ...OPTS, face: { ...OPTS.face, size: 32 } });
    const cfg = resolveTrainConfig({ imageSize: 32, model: { ngf: 4, ndf: 4, depth: 5 }, train: { batchSize: 2, maxSteps: 2 } });
    const r = await train({ config: cfg, dataDir: out, outDir: tmp(), resume: false, backend: 'wasm', out: null });
    expect(r.step).toBe(2);
  });
});
