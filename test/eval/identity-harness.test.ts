/**
 * The identity harness (src/eval/identity-run.ts) on real detections of astronaut.png
 * with a small deterministic test embedder (4 x 4 block means of the face, centred),
 * so every expected distance is computed here independently from the same crop:
 * on-the-fly baselines.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { cosineDistance, type Embedder } from '../../src/eval/embed.js';
import { parseBaselineList, runIdentity } from '../../src/eval/identity-run.js';
import { decodeImage, writePng, type RgbImage } from '../../src/io/images.js';
import { blur, mask, pixelate } from '../../src/pipeline/baselines.js';
import { extractFaces, type FaceRecord } from '../../src/pipeline/faces.js';
import { DEFAULT_DETECT } from '../../src/pipeline/human.js';
import { repoRoot } from '../helpers/cli.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const S = 128;
let img: RgbImage;
let face: FaceRecord;

/** 4 x 4 block means per channel minus 127.5 (48-d): any image size. */
function thumb(f: RgbImage): Float32Array {
  const out = new Float32Array(48);
  for (let by = 0; by < 4; by++) {
    for (let bx = 0; bx < 4; bx++) {
      const y0 = Math.floor((by * f.height) / 4);
      const y1 = Math.floor(((by + 1) * f.height) / 4);
      const x0 = Math.floor((bx * f.width) / 4);
      const x1 = Math.floor(((bx + 1) * f.width) / 4);
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += f.data[(y * f.width + x) * 3 + c]!;
        out[(by * 4 + bx) * 3 + c] = s / ((y1 - y0) * (x1 - x0)) - 127.5;
      }
    }
  }
  return out;
}

const thumbEmbedder: Embedder = {
  name: 'thumb-test', proxy: true, dim: 48,
  embed: async (faces) => faces.map(thumb),
  dispose() {},
};

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  img = await decodeImage(ASTRONAUT);
  face = (await extractFaces(img, { size: S, margin: 0, detect: DEFAULT_DETECT }))[0]!;
});

function tmp(...dirs: string[]): string[] {
  const root = mkdtempSync(join(tmpdir(), 'ganon-idh-'));
  return dirs.map((d) => {
    const p = join(root, d);
    mkdirSync(p, { recursive: true });
    return p;
  });
}

describe('--baselines', () => {
  it('parses comma lists and repeats; refuses ganonymization and malformed names', () => {
    expect(parseBaselineList(['pixelate:8,blur:17', 'mask', 'blur:9:box']).map((m) => m.kind)).toEqual(['pixelate', 'blur', 'mask', 'blur']);
    expect(parseBaselineList(undefined)).toEqual([]);
    expect(() => parseBaselineList(['ganonymization'])).toThrow(InputError);
    expect(() => parseBaselineList(['pixelate:x'])).toThrow(InputError);
    expect(() => parseBaselineList(['blur:8'])).toThrow(InputError);
  });

  it("are computed on each original's aligned crop and scored like a method directory of the same outputs", async () => {
    const [orig, pixdir, out] = tmp('orig', 'pixdir', 'run');
    await writePng(join(orig!, 'a.png'), img);
    await writePng(join(orig!, 'blank.png'), { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) });
    // the same 8x8 pixelation written as crop outputs (PNG is lossless)
    await writePng(join(pixdir!, '0_a.png'), pixelate(face.image, 8));
    const run = await runIdentity({
      original: orig!, methods: [{ name: 'pixdir', dir: pixdir! }], baselines: ['pixelate:8,blur:9', 'mask'],
      embedder: thumbEmbedder, size: S, outDir: out!, threshold: 0.3,
    });
    const row = (method: string, original: string) => run.rows.find((r) => r.method === method && r.original === original)!;
    const e0 = thumb(face.image);
    expect(row('pixelate:8', 'a.png')).toMatchObject({ status: 'ok', match: 'baseline', file: '', rank: 1 });
    expect(row('pixelate:8', 'a.png').distance).toBeCloseTo(cosineDistance(e0, thumb(pixelate(face.image, 8))), 6);
    expect(row('pixelate:8', 'a.png').distance).toBe(row('pixdir', 'a.png').distance);
    expect(row('blur:9', 'a.png').distance).toBeCloseTo(cosineDistance(e0, thumb(blur(face.image, 9))), 6);
    expect(row('mask', 'a.png').distance).toBeCloseTo(cosineDistance(e0, thumb(mask(face.image))), 6);
    for (const b of ['pixelate:8', 'blur:9', 'mask']) expect(row(b, 'blank.png')).toMatchObject({ status: 'no_face', match: '' });
    expect(run.rows).toHaveLength(8); // 4 methods x 2 originals
    expect(run.counts.methods['blur:9']).toMatchObject({ ok: 1, noFace: 1, missing: 0, extra: 0, error: 0 });
    expect(run.result.methods.map((m) => m.name)).toEqual(['pixdir', 'pixelate:8', 'blur:9', 'mask']);
    expect(run.result.comparisons.map((c) => c.method)).toEqual(['pixelate:8', 'blur:9', 'mask']);
    expect(run.result.comparisons[0]).toMatchObject({ reference: 'pixdir', n: 1, nZero: 1 });
    expect(run.table).toContain('| blur:9 | 1 | 0 | 1 | 0 | 0 |');
    const json = JSON.parse(readFileSync(join(out!, 'run.json'), 'utf8')) as { methods: unknown[] };
    expect(json.methods).toEqual([{ name: 'pixdir', dir: pixdir }, { name: 'pixelate:8', baseline: 'pixelate:8' }, { name: 'blur:9', baseline: 'blur:9' }, { name: 'mask', baseline: 'mask' }]);
  });

  it('run without any --method; the first baseline is the reference; names must be unique', async () => {
    const [orig, out] = tmp('orig', 'run');
    await writePng(join(orig!, 'a.png'), img);
    const run = await runIdentity({ original: orig!, methods: [], baselines: ['blur:17', 'pixelate:16'], embedder: thumbEmbedder, size: S, outDir: out! });
    expect(run.result.reference).toBe('blur:17');
    expect(run.result.methods.map((m) => [m.name, m.n])).toEqual([['blur:17', 1], ['pixelate:16', 1]]);
    await expect(runIdentity({ original: orig!, methods: [], embedder: thumbEmbedder, size: S, outDir: out! })).rejects.toThrow(/--method NAME=DIR or --baselines/);
    await expect(runIdentity({ original: orig!, methods: [{ name: 'mask', dir: orig! }], baselines: ['mask'], embedder: thumbEmbedder, size: S, outDir: out! })).rejects.toThrow(/unique/);
  });
});
