/**
 * The identity harness (src/eval/identity-run.ts) on real detections of astronaut.png
 * with a small deterministic test embedder (4 x 4 block means of the face, centred),
 * so every expected distance is computed here independently from the same crop:
 * on-the-fly baselines, --name-map (auto, same, reference, csv), all faces per file,
 * re-identification by person (--identities).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { cosineDistance, type Embedder } from '../../src/eval/embed.js';
import { tableFromIPC } from 'apache-arrow';
import { parseIdentities } from '../../src/eval/identity-persons.js';
import { matchNames, parseNameMap, parseNameMapCsv, referenceKey } from '../../src/eval/identity-names.js';
import { parseBaselineList, resampleCrop, runIdentity } from '../../src/eval/identity-run.js';
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

function mirror(im: RgbImage): RgbImage {
  const data = new Uint8Array(im.data.length);
  for (let y = 0; y < im.height; y++) for (let x = 0; x < im.width; x++) data.set(im.data.subarray((y * im.width + im.width - 1 - x) * 3, (y * im.width + im.width - x) * 3), (y * im.width + x) * 3);
  return { width: im.width, height: im.height, data };
}

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

describe('--name-map: matching method files to originals', () => {
  it("reference: the authors' split('-')[-1] key, within the file's directory", () => {
    expect(referenceKey('ganonymization-000001.jpg')).toBe('000001.jpg');
    expect(referenceKey('sub/a-b-c.png')).toBe('sub/c.png');
    expect(referenceKey('x.png')).toBe('x.png');
    const m = matchNames({ kind: 'reference' }, ['000001.jpg', '000002.jpg', 'seg-000003.jpg'], ['ganon-000001.jpg', 'ganon-000003.jpg', 'ganon-000009.jpg', 'other-000001.jpg']);
    expect(m.byOriginal.get('000001.jpg')).toEqual([{ file: 'ganon-000001.jpg', face: null, how: 'either', via: "reference key '000001.jpg'" }]);
    expect(m.byOriginal.get('seg-000003.jpg')!.map((c) => c.file)).toEqual(['ganon-000003.jpg']);
    expect(m.byOriginal.get('000002.jpg')).toEqual([]);
    expect(m.extra.map((x) => x.file)).toEqual(['ganon-000009.jpg', 'other-000001.jpg']);
    expect(m.extra[1]!.message).toContain("also 'ganon-000001.jpg'");
    // one key shared by two originals: both are problems, the file is neither used nor extra
    const amb = matchNames({ kind: 'reference' }, ['a-1.png', 'b-1.png'], ['x-1.png']);
    expect([...amb.problems.keys()]).toEqual(['a-1.png', 'b-1.png']);
    expect(amb.extra).toEqual([]);
  });

  it('auto: {faceIndex}_{basename} crops (any face, .png appended for other formats), else the same path', () => {
    const m = matchNames({ kind: 'auto' }, ['a.png', 'sub/b.jpg', 'c.bmp', 'd.jpg'], ['0_a.png', '1_a.png', 'sub/0_b.jpg', '0_c.bmp.png', 'd.jpg', '7_zzz.png', 'stray.png']);
    expect(m.byOriginal.get('a.png')!.map((c) => [c.file, c.face, c.how])).toEqual([['0_a.png', 0, 'crop'], ['1_a.png', 1, 'crop']]);
    expect(m.byOriginal.get('sub/b.jpg')!.map((c) => c.file)).toEqual(['sub/0_b.jpg']);
    expect(m.byOriginal.get('c.bmp')!.map((c) => c.file)).toEqual(['0_c.bmp.png']);
    expect(m.byOriginal.get('d.jpg')).toEqual([{ file: 'd.jpg', face: null, how: 'frame', via: 'same path' }]);
    expect(m.extra.map((x) => x.file)).toEqual(['7_zzz.png', 'stray.png']);
    const same = matchNames({ kind: 'same' }, ['a.png', 'd.jpg'], ['0_a.png', 'd.jpg.png']);
    expect(same.byOriginal.get('a.png')).toEqual([]);
    expect(same.byOriginal.get('d.jpg')!.map((c) => c.file)).toEqual(['d.jpg.png']);
    expect(same.extra.map((x) => x.file)).toEqual(['0_a.png']);
  });

  it('csv: header original,file|method_file[,face]; duplicates, absent files and unknown originals are reported', () => {
    expect(parseNameMapCsv('original,method_file\na.png,"x, 1.png"\n', 'm.csv')).toEqual([{ original: 'a.png', file: 'x, 1.png', face: null, line: 2 }]);
    expect(parseNameMapCsv('file,original,face\n./x.png,sub\\\\b.png,1\ny.png,c.png,\n', 'm.csv')).toEqual([
      { original: 'sub/b.png', file: 'x.png', face: 1, line: 2 }, { original: 'c.png', file: 'y.png', face: null, line: 3 },
    ]);
    expect(() => parseNameMapCsv('a,b\n1,2\n', 'm.csv')).toThrow(/original and file/);
    expect(() => parseNameMapCsv('original,file,face\na.png,x.png,first\n', 'm.csv')).toThrow(/line 2: face/);
    expect(() => parseNameMap('csv:/nonexistent/map.csv')).toThrow(InputError);
    expect(() => parseNameMap('nope')).toThrow(/auto, same, reference or csv:FILE/);
    expect(parseNameMap(undefined)).toEqual({ kind: 'auto' });
    const map = { kind: 'csv' as const, path: 'm.csv', pairs: parseNameMapCsv('original,file,face\na.png,000.png,\nb.png,001.png,0\nb.png,002.png,0\nc.png,gone.png,\nz.png,003.png,\n', 'm.csv') };
    const m = matchNames(map, ['a.png', 'b.png', 'c.png'], ['000.png', '001.png', '002.png', '003.png', '004.png']);
    expect(m.byOriginal.get('a.png')).toEqual([{ file: '000.png', face: null, how: 'either', via: 'm.csv line 2' }]);
    expect(m.problems.get('b.png')).toBe("m.csv: lines 3 and 4 both map 'b.png' face 0");
    expect(m.absent.get('c.png')).toEqual([{ face: null, message: "'gone.png' (m.csv line 5) is not in the method directory" }]);
    expect(m.extra).toEqual([
      { file: '003.png', message: "m.csv line 6: original 'z.png' is not under --original" },
      { file: '004.png', message: 'matches no original (extra file)' },
    ]);
  });
});

describe('--name-map in the harness', () => {
  let faceB: FaceRecord;
  let mirrored: RgbImage;
  beforeAll(async () => {
    mirrored = mirror(img);
    faceB = (await extractFaces(mirrored, { size: S, margin: 0, detect: DEFAULT_DETECT }))[0]!;
  });

  it('reference: a same-size file is a full frame cropped through the original transform, another size is the face crop', async () => {
    const [orig, dp2, out] = tmp('orig/sub', 'dp2/sub', 'run');
    const o = join(orig!, '..');
    const d = join(dp2!, '..');
    await writePng(join(o, 'a.png'), img);
    await writePng(join(o, 'sub', 'b.png'), mirrored);
    const frame = blur(img, 9);
    await writePng(join(d, 'dp2-a.png'), frame);
    await writePng(join(d, 'sub', 'dp2-b.png'), pixelate(faceB.image, 8)); // a 128 x 128 crop
    await writePng(join(d, 'dp2-zzz.png'), faceB.image);
    const run = await runIdentity({ original: o, methods: [{ name: 'dp2', dir: d }], nameMap: parseNameMap('reference'), embedder: thumbEmbedder, size: S, outDir: out! });
    const r = new Map(run.rows.map((x) => [x.original || x.file, x]));
    expect(r.get('a.png')).toMatchObject({ status: 'ok', match: 'frame', file: 'dp2-a.png', face: 0 });
    expect(r.get('a.png')!.distance).toBeCloseTo(cosineDistance(thumb(face.image), thumb(resampleCrop(frame, face.toOriginal, S))), 6);
    expect(r.get('sub/b.png')).toMatchObject({ status: 'ok', match: 'crop', file: 'sub/dp2-b.png', face: 0 });
    expect(r.get('sub/b.png')!.message).toContain("not the original's");
    expect(r.get('sub/b.png')!.distance).toBeCloseTo(cosineDistance(thumb(faceB.image), thumb(pixelate(faceB.image, 8))), 6);
    expect(r.get('dp2-zzz.png')).toMatchObject({ status: 'extra', face: -1 });
    expect(run.counts.methods.dp2).toMatchObject({ ok: 2, missing: 0, extra: 1 });
    expect(JSON.parse(readFileSync(join(out!, 'run.json'), 'utf8')).nameMap).toBe('reference');
  });

  it('csv: explicit pairs; a file the CSV names but the folder lacks is missing, an unknown original makes an extra', async () => {
    const [orig, ci, out] = tmp('orig', 'ciagan', 'run');
    await writePng(join(orig!, 'a.png'), img);
    await writePng(join(orig!, 'b.png'), mirrored);
    await writePng(join(ci!, '000000.png'), pixelate(face.image, 16));
    await writePng(join(ci!, '000001.png'), pixelate(faceB.image, 16));
    const csv = join(out!, 'map.csv');
    writeFileSync(csv, 'original,method_file\na.png,000000.png\nb.png,000002.png\nnothere.png,000001.png\n');
    const run = await runIdentity({ original: orig!, methods: [{ name: 'ciagan', dir: ci! }], nameMap: parseNameMap(`csv:${csv}`), embedder: thumbEmbedder, size: S, outDir: join(out!, 'r') });
    const r = new Map(run.rows.map((x) => [x.original || x.file, x]));
    expect(r.get('a.png')).toMatchObject({ status: 'ok', match: 'crop', file: '000000.png' });
    expect(r.get('a.png')!.distance).toBeCloseTo(cosineDistance(thumb(face.image), thumb(pixelate(face.image, 16))), 6);
    expect(r.get('b.png')).toMatchObject({ status: 'missing', file: '' });
    expect(r.get('b.png')!.message).toContain("'000002.png' (");
    expect(r.get('000001.png')).toMatchObject({ status: 'extra' });
    expect(r.get('000001.png')!.message).toContain("original 'nothere.png' is not under --original");
  });
});

describe('all faces per file', () => {
  it('two faces: one row per face, crops {k}_{name}, the full frame cropped with each face transform', async () => {
    // astronaut and its mirror image side by side: two faces in one file
    const mirrored = mirror(img);
    const w = img.width;
    const pair: RgbImage = { width: 2 * w, height: img.height, data: new Uint8Array(2 * w * img.height * 3) };
    for (let y = 0; y < img.height; y++) {
      pair.data.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), y * 2 * w * 3);
      pair.data.set(mirrored.data.subarray(y * w * 3, (y + 1) * w * 3), (y * 2 + 1) * w * 3);
    }
    const faces = await extractFaces(pair, { size: S, margin: 0, detect: DEFAULT_DETECT });
    expect(faces).toHaveLength(2);
    const [orig, crops, frames, out] = tmp('orig', 'crops', 'frames', 'run');
    await writePng(join(orig!, 'pair.png'), pair);
    await writePng(join(orig!, 'single.png'), img);
    // crop outputs for face 0 and 1 of pair.png (single.png's crop is absent)
    await writePng(join(crops!, '0_pair.png'), pixelate(faces[0]!.image, 8));
    await writePng(join(crops!, '1_pair.png'), blur(faces[1]!.image, 17));
    await writePng(join(crops!, '2_pair.png'), faces[1]!.image); // no third face: an extra file
    const frame = blur(pair, 9);
    await writePng(join(frames!, 'pair.png'), frame);
    await writePng(join(frames!, 'single.png'), blur(img, 9));
    const run = await runIdentity({
      original: orig!, methods: [{ name: 'crops', dir: crops! }, { name: 'frames', dir: frames! }], baselines: ['mask'],
      embedder: thumbEmbedder, size: S, outDir: out!,
    });
    const row = (m: string, o: string, k: number) => run.rows.find((r) => r.method === m && r.original === o && r.face === k)!;
    expect(run.counts).toMatchObject({ originals: 2, faces: 3 });
    expect(run.result.gallery).toBe(3);
    const e = faces.map((f) => thumb(f.image));
    expect(row('crops', 'pair.png', 0)).toMatchObject({ status: 'ok', match: 'crop', file: '0_pair.png' });
    expect(row('crops', 'pair.png', 0).distance).toBeCloseTo(cosineDistance(e[0]!, thumb(pixelate(faces[0]!.image, 8))), 6);
    expect(row('crops', 'pair.png', 1)).toMatchObject({ status: 'ok', match: 'crop', file: '1_pair.png' });
    expect(row('crops', 'pair.png', 1).distance).toBeCloseTo(cosineDistance(e[1]!, thumb(blur(faces[1]!.image, 17))), 6);
    expect(row('crops', 'single.png', 0)).toMatchObject({ status: 'missing' });
    for (const k of [0, 1]) {
      expect(row('frames', 'pair.png', k)).toMatchObject({ status: 'ok', match: 'frame', file: 'pair.png' });
      expect(row('frames', 'pair.png', k).distance).toBeCloseTo(cosineDistance(e[k]!, thumb(resampleCrop(frame, faces[k]!.toOriginal, S))), 6);
      expect(row('mask', 'pair.png', k)).toMatchObject({ status: 'ok', match: 'baseline' });
    }
    // every face a row: 3 faces x 3 methods
    expect(run.rows.filter((r) => r.status !== 'extra')).toHaveLength(9);
    expect(run.counts.methods.crops).toMatchObject({ ok: 2, missing: 1, missingFiles: ['single.png'], extra: 1, extraFiles: ['2_pair.png'] });
    expect(run.rows.find((r) => r.file === '2_pair.png')).toMatchObject({ status: 'extra', face: -1, message: "a file for face 2 of 'pair.png' (crop name), which has 2 detected face(s)" });
    expect(run.result.methods.map((m) => [m.name, m.n])).toEqual([['crops', 2], ['frames', 3], ['mask', 3]]);
    expect(run.table).toContain('3 faces embedded (every face of each file)');
  });
});

describe('--identities in the harness', () => {
  it('a face swapped with another image of the same person: an image-level miss, a person-level hit', async () => {
    const mirrored = mirror(img);
    const faceB = (await extractFaces(mirrored, { size: S, margin: 0, detect: DEFAULT_DETECT }))[0]!;
    const [orig, swap, out] = tmp('orig', 'swap', 'run');
    await writePng(join(orig!, 'a.png'), img);
    await writePng(join(orig!, 'b.png'), mirrored);
    await writePng(join(orig!, 'blank.png'), { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) });
    // both outputs are b's own face: for a, the nearest original is b (distance 0), the same person
    await writePng(join(swap!, '0_a.png'), faceB.image);
    await writePng(join(swap!, '0_b.png'), faceB.image);
    const ids = join(out!, 'identities.txt');
    writeFileSync(ids, 'a.jpg 7\nb.jpg 7\nblank.jpg 9\nother.jpg 8\n');
    const run = await runIdentity({
      original: orig!, methods: [{ name: 'swap', dir: swap! }], identities: { source: ids, entries: parseIdentities(readFileSync(ids, 'utf8'), ids) },
      embedder: thumbEmbedder, size: S, outDir: join(out!, 'r'),
    });
    const dAB = cosineDistance(thumb(face.image), thumb(faceB.image));
    expect(dAB).toBeGreaterThan(0);
    const row = (o: string) => run.rows.find((r) => r.original === o)!;
    expect(row('a.png')).toMatchObject({ status: 'ok', rank: 2, personRank: 1, otherRank: 1, person: '7' });
    expect(row('a.png').distance).toBeCloseTo(dAB, 6);
    expect(row('b.png')).toMatchObject({ status: 'ok', rank: 1, personRank: 1, otherRank: 1, person: '7' });
    const m = run.result.methods[0]!;
    expect(m.rank1).toBeCloseTo(0.5, 12);
    expect(m.person).toMatchObject({ n: 2, rank1: 1, rank5: 1, chance: { rank1: 1, rank5: 1 } });
    expect(m.otherImages).toMatchObject({ n: 2, rank1: 1, rank5: 1 });
    expect(run.table).toContain('Re-identification by person (2 of 2 original faces have a known person; 1 persons)');
    expect(run.table).toContain('Persons: 4 entries in');
    expect(run.table).toContain('2 original faces in 2 files got a person; 1 entries name no original, 1 an original without an embedded face.');
    const t = tableFromIPC(readFileSync(join(out!, 'r', 'identity.arrow')));
    expect(t.getChild('person')!.toArray()).toEqual(['7', '7', '']);
    expect(Array.from(t.getChild('rank')!.toArray() as Int32Array)).toEqual([2, 1, 0]);
    expect(Array.from(t.getChild('person_rank')!.toArray() as Int32Array)).toEqual([1, 1, 0]);
    const json = JSON.parse(readFileSync(join(out!, 'r', 'run.json'), 'utf8')) as Record<string, any>;
    expect(json.identities).toMatchObject({ entries: 4, files: 2, faces: 2, unmatchedEntries: 1, entriesWithoutFace: 1, problems: [] });
    expect(json.summary[0].person.rank1).toBe(1);
  });
});

describe('embedding overlaps finding the next faces', () => {
  it('with one face per embedder call (a slow embedder) the rows equal one call of 16, and faces were found while a call ran', async () => {
    const [orig, pixdir] = tmp('orig', 'pixdir');
    await writePng(join(orig!, 'a.png'), img);
    await writePng(join(orig!, 'b.png'), mirror(img));
    await writePng(join(orig!, 'blank.png'), { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) });
    await writePng(join(orig!, 'c.png'), img);
    await writePng(join(pixdir!, '0_a.png'), pixelate(face.image, 8));
    await writePng(join(pixdir!, '0_c.png'), blur(face.image, 9));
    const events: string[] = [];
    const slow: Embedder = {
      ...thumbEmbedder,
      embed: async (faces) => {
        events.push('embed start');
        await new Promise((r) => setTimeout(r, 30));
        events.push('embed end');
        return faces.map(thumb);
      },
    };
    const run = async (chunk: number) => {
      const [out] = tmp('run');
      const r = await runIdentity({
        original: orig!, methods: [{ name: 'pixdir', dir: pixdir! }], baselines: ['pixelate:8', 'mask'],
        embedder: slow, size: S, outDir: out!, threshold: 0.3, chunk, onProgress: (stage) => { if (stage === 'original') events.push('original found'); },
      });
      return r;
    };
    const one = await run(1);
    const overlapped = events.some((e, i) => e === 'original found' && events.slice(0, i).lastIndexOf('embed start') > events.slice(0, i).lastIndexOf('embed end'));
    expect(overlapped).toBe(true);
    const all = await run(16);
    expect(one.rows).toEqual(all.rows);
    expect(one.rows.filter((r) => r.status === 'ok')).toHaveLength(8); // a, b, c under pixelate:8 and mask; a and c under pixdir
    expect(one.table).toBe(all.table);
  });
});
