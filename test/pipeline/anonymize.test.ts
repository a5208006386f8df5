/** `ganon anonymize` crop mode on astronaut.png with a tiny generator, baselines, reruns and bad files. */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { anonymize, parseMethod, sha256File, type AnonymizeOptions, type ManifestEntry } from '../../src/pipeline/anonymize.js';
import { startPrepThread } from '../../src/pipeline/prep-thread.js';
import { defaultWorkers } from '../../src/util/workers.js';
import { availableParallelism } from 'node:os';
import { loadGenerator } from '../../src/pipeline/generate.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { ganon, repoRoot } from '../helpers/cli.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const WEIGHTS = `${fixtureDir}pix2pix/unet_small.safetensors`; // ngf 8, depth 5: sides multiple of 32
const tmp = () => mkdtempSync(join(tmpdir(), 'ganon-anon-'));

function opts(extra: Partial<AnonymizeOptions> = {}): AnonymizeOptions {
  return {
    method: { kind: 'ganonymization' }, face: { size: 64, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } },
    noFace: 'skip', overwrite: false, toolkitVersion: 'test', backend: 'wasm', weightsSha256: sha256File(WEIGHTS), ...extra,
  };
}

describe('anonymize (crop mode)', () => {
  it('astronaut: one S x S face named 0_astronaut.png, no metadata, a manifest row with the weights sha256', async () => {
    const input = join(tmp(), 'in');
    mkdirSync(join(input, 'sub'), { recursive: true });
    copyFileSync(ASTRONAUT, join(input, 'sub', 'astronaut.png'));
    const out = tmp();
    const g = loadGenerator(WEIGHTS);
    const { rows, summary } = await anonymize([input], out, opts({ generator: g }));
    g.dispose();
    expect(summary).toMatchObject({ files: 1, faces: 1, errors: 0 });
    const file = join(out, 'sub', '0_astronaut.png');
    expect(rows[0]).toMatchObject({ status: 'ok', output: file, faceIndex: 0, weightsSha256: sha256File(WEIGHTS) });
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height, meta.exif, meta.icc]).toEqual([64, 64, undefined, undefined]);
    const t = tableFromIPC(readFileSync(join(out, 'manifest.arrow')));
    expect(t.numRows).toBe(1);
    expect(String(t.getChild('status')!.get(0))).toBe('ok');
  });

  it('baselines run on the same crop; reruns skip existing outputs unless overwrite', async () => {
    const out = tmp();
    const pix = await anonymize([ASTRONAUT], out, opts({ method: parseMethod('pixelate:8') }));
    expect(pix.summary.faces).toBe(1);
    // 8 x 8 blocks of 64 px: every 8 x 8 block is one colour
    const { data } = await sharp(join(out, '0_astronaut.png')).raw().toBuffer({ resolveWithObject: true });
    expect(data[(3 * 64 + 5) * 3]).toBe(data[0]);
    const again = await anonymize([ASTRONAUT], out, opts({ method: parseMethod('pixelate:8') }));
    expect(again.summary).toMatchObject({ faces: 0, skipped: 1 });
    const over = await anonymize([ASTRONAUT], out, opts({ method: parseMethod('blur:9'), overwrite: true }));
    expect(over.summary.faces).toBe(1);
  });

  it('bad files get an error row each and the run continues; no face -> skip or the average face', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'empty.png'), Buffer.alloc(0));
    writeFileSync(join(dir, 'notes.jpg'), 'this is text, not a JPEG');
    const png = readFileSync(ASTRONAUT);
    writeFileSync(join(dir, 'truncated.png'), png.subarray(0, 2000));
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 80, g: 80, b: 80 } } }).png().toFile(join(dir, 'grey.png'));
    copyFileSync(ASTRONAUT, join(dir, 'astronaut.png'));
    const out = tmp();
    const g = loadGenerator(WEIGHTS);
    const { rows, summary } = await anonymize([dir], out, opts({ generator: g, noFace: 'average' }));
    g.dispose();
    expect(summary).toMatchObject({ files: 5, faces: 1, errors: 3 });
    const byName = (n: string) => rows.find((r) => r.input.endsWith(n))!;
    for (const n of ['empty.png', 'notes.jpg', 'truncated.png']) {
      expect(byName(n).status).toBe('error');
      expect(byName(n).message).toMatch(/cannot decode image/);
    }
    expect(byName('grey.png')).toMatchObject({ status: 'no_face', message: 'no face found: wrote the average face' });
    expect(existsSync(join(out, '0_grey.png'))).toBe(true);
  });

  it('method names are validated', async () => {
    expect(parseMethod('blur:17:box')).toEqual({ kind: 'blur', k: 17, filter: 'box' });
    expect(() => parseMethod('blur:8')).toThrow(/unknown method 'blur:8'/);
    expect(() => parseMethod('swirl')).toThrow(/unknown method/);
  });

  it('CLI: summary line, exit 3 when no file succeeded, --weights required', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.png'), 'nope');
    const r = await ganon(['anonymize', dir, '--out', join(dir, 'out'), '--method', 'mask']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^1 files, 0 faces, 0 skipped, 1 errors, 0 without a face$/m);
    const w = await ganon(['anonymize', ASTRONAUT, '--out', join(dir, 'o2')]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/--weights is required/);
    const ok = await ganon(['anonymize', ASTRONAUT, '--out', join(dir, 'o3'), '--weights', WEIGHTS, '--image-size', '64']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^1 files, 1 faces, 0 skipped, 0 errors/m);
    // one process on wasm: each forward on two threads by default; the same bytes as on one
    expect(ok.stderr).toContain('generator: each forward on 2 threads');
    const one = await ganon(['anonymize', ASTRONAUT, '--out', join(dir, 'o4'), '--weights', WEIGHTS, '--image-size', '64', '--generator-threads', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).not.toContain('2 threads');
    expect(readFileSync(join(dir, 'o4', '0_astronaut.png')).equals(readFileSync(join(dir, 'o3', '0_astronaut.png')))).toBe(true);
  });

  it('CLI --manifest-json writes the manifest\'s rows as JSON too (one process and two workers)', async () => {
    const dir = tmp();
    const input = join(dir, 'in');
    mkdirSync(input);
    copyFileSync(ASTRONAUT, join(input, 'a.png'));
    writeFileSync(join(input, 'bad.png'), 'nope');
    for (const w of ['1', '2']) {
      const out = join(dir, `out${w}`);
      const r = await ganon(['anonymize', input, '--out', out, '--method', 'pixelate:8', '--workers', w, '--manifest-json']);
      expect(r.code, r.stderr).toBe(0);
      const json = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>[];
      const arrow = [...tableFromIPC(readFileSync(join(out, 'manifest.arrow')))].map((x) => x.toJSON());
      expect(json).toHaveLength(2);
      expect(json).toEqual(JSON.parse(JSON.stringify(arrow)));
      expect(json.map((x) => x.status).sort()).toEqual(['error', 'ok']);
      expect(json.find((x) => x.status === 'ok')).toMatchObject({ method: 'pixelate:8', face_index: 0, output: join(out, '0_a.png') });
    }
    const none = await ganon(['anonymize', input, '--out', join(dir, 'out3'), '--method', 'mask']);
    expect(none.code).toBe(0);
    expect(existsSync(join(dir, 'out3', 'manifest.json'))).toBe(false);
  });
});

describe('anonymize --workers', () => {
  it('2 workers give byte-identical outputs and the same manifest rows as 1', async () => {
    const { readdirSync } = await import('node:fs');
    const dir = tmp();
    const input = join(dir, 'in');
    mkdirSync(input);
    for (let i = 0; i < 4; i++) copyFileSync(ASTRONAUT, join(input, `a${i}.png`));
    writeFileSync(join(input, 'broken.png'), 'nope');
    const args = (out: string, w: number) => ['anonymize', input, '--out', out, '--weights', WEIGHTS, '--image-size', '64', '--workers', String(w)];
    const one = await ganon(args(join(dir, 'one'), 1));
    const two = await ganon(args(join(dir, 'two'), 2));
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(/^5 files, 4 faces, 0 skipped, 1 errors, 0 without a face \(2 workers\)$/m);
    const files = readdirSync(join(dir, 'one')).filter((f) => f.endsWith('.png')).sort();
    expect(files).toEqual(['0_a0.png', '0_a1.png', '0_a2.png', '0_a3.png']);
    expect(readdirSync(join(dir, 'two')).sort()).toEqual([...files, 'manifest.arrow'].sort());
    for (const f of files) expect(readFileSync(join(dir, 'two', f)).equals(readFileSync(join(dir, 'one', f))), f).toBe(true);
    const rows = (out: string) => {
      const t = tableFromIPC(readFileSync(join(out, 'manifest.arrow')));
      return Array.from({ length: t.numRows }, (_, i) => `${t.getChild('input')!.get(i)}|${t.getChild('status')!.get(i)}|${t.getChild('output')!.get(i)}`.replace(/\/(one|two)\//, '/X/'));
    };
    expect(rows(join(dir, 'two'))).toEqual(rows(join(dir, 'one')));
  });
});

describe('inputs', () => {
  it('files, directories (recursive, mirrored) and quoted globs', async () => {
    const { listInputs, globToRegExp } = await import('../../src/pipeline/anonymize.js');
    const root = tmp();
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    for (const f of ['x.jpg', 'a/y.png', 'a/b/z.jpg', 'a/b/notes.txt']) writeFileSync(join(root, f), '');
    expect(listInputs([root]).map(([, r]) => r)).toEqual(['a/b/z.jpg', 'a/y.png', 'x.jpg']);
    expect(listInputs([`${root}/**/*.jpg`]).map(([, r]) => r)).toEqual(['a/b/z.jpg', 'x.jpg']);
    expect(listInputs([`${root}/a/*.png`]).map(([, r]) => r)).toEqual(['y.png']);
    expect(globToRegExp('a/?.jpg').test('a/1.jpg')).toBe(true);
    expect(globToRegExp('*.jpg').test('a/1.jpg')).toBe(false);
  });
});

describe('anonymize --batch', () => {
  it('two faces in one photo: batch 1 and batch 2 give byte-identical outputs', async () => {
    const dir = tmp();
    const two = join(dir, 'pair.png');
    // two astronauts side by side, one mirrored
    const left = await sharp(ASTRONAUT).resize(256, 256).raw().toBuffer();
    const right = await sharp(ASTRONAUT).resize(256, 256).flop().raw().toBuffer();
    const both = Buffer.alloc(512 * 256 * 3);
    for (let y = 0; y < 256; y++) {
      left.copy(both, y * 512 * 3, y * 256 * 3, (y + 1) * 256 * 3);
      right.copy(both, y * 512 * 3 + 256 * 3, y * 256 * 3, (y + 1) * 256 * 3);
    }
    await sharp(both, { raw: { width: 512, height: 256, channels: 3 } }).png().toFile(two);
    const g = loadGenerator(WEIGHTS);
    const a = await anonymize([two], join(dir, 'b1'), opts({ generator: g, batch: 1 }));
    const b = await anonymize([two], join(dir, 'b2'), opts({ generator: g, batch: 2 }));
    g.dispose();
    expect(a.summary.faces).toBe(2);
    expect(b.summary.faces).toBe(2);
    for (const f of ['0_pair.png', '1_pair.png']) expect(readFileSync(join(dir, 'b2', f)).equals(readFileSync(join(dir, 'b1', f))), f).toBe(true);
  });
});

describe('anonymize on the bad-input corpus', () => {
  it('every file gets a status, the run goes on, good files are anonymized', async () => {
    const { makeCorpus } = await import('../helpers/corpus.js');
    const corpus = await makeCorpus(tmp());
    const out = tmp();
    const { rows, summary } = await anonymize([corpus], out, opts({ method: parseMethod('mask'), face: { size: 64, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } } }));
    expect(summary).toMatchObject({ files: 14, faces: 7, noFace: 2 });
    // the huge image is decodable (anonymize has no pixel limit) and has no face; the rest of the bad files are errors
    expect(summary.errors).toBe(5);
    for (const r of rows.filter((x) => x.status === 'error')) expect(r.message).toMatch(/cannot decode image|does not exist/);
  });
});

describe('anonymize across files: batches and the face-finding thread', () => {
  /** Everything of a run but timings: rows (in order) and every output file's bytes. */
  const outcome = (r: { rows: ManifestEntry[] }, outDir: string) => r.rows.map((x) => ({
    ...x, seconds: 0, output: x.output.replace(outDir, 'OUT'), bytes: x.output && existsSync(x.output) ? sha256File(x.output) : '',
  }));

  it('batches spanning files, and stages 1-5 on a second thread, give the same rows and bytes as one file at a time', async () => {
    const { makeCorpus } = await import('../helpers/corpus.js');
    const corpus = await makeCorpus(tmp());
    const g = loadGenerator(WEIGHTS);
    const face = { size: 64, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } };
    const [d1, d3, dt] = [tmp(), tmp(), tmp()];
    const base = await anonymize([join(corpus, 'good'), join(corpus, 'bad')], d1, opts({ generator: g, batch: 1, face }));
    const batched = await anonymize([join(corpus, 'good'), join(corpus, 'bad')], d3, opts({ generator: g, batch: 3, face }));
    const prep = await startPrepThread(face, 'wasm');
    let threaded;
    try {
      threaded = await anonymize([join(corpus, 'good'), join(corpus, 'bad')], dt, opts({ generator: g, batch: 3, face, extractor: prep.extract }));
    } finally {
      await prep.close();
      g.dispose();
    }
    expect(base.summary).toMatchObject({ files: 14, faces: 7 });
    expect(base.rows.filter((r) => r.status === 'ok')).toHaveLength(7);
    expect(outcome(batched, d3)).toEqual(outcome(base, d1));
    expect(batched.summary).toEqual(base.summary);
    expect(outcome(threaded, dt)).toEqual(outcome(base, d1));
    // the unreadable files say why, from the thread too
    for (const r of threaded.rows.filter((x) => x.status === 'error')) expect(r.message).toMatch(/cannot decode image|does not exist/);
  }, 180_000);

  it('frame mode with the face-finding thread equals frame mode without it', async () => {
    const g = loadGenerator(WEIGHTS);
    const face = { size: 64, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } };
    const [da, db] = [tmp(), tmp()];
    const a = await anonymize([ASTRONAUT], da, opts({ generator: g, mode: 'frame', face }));
    const prep = await startPrepThread(face, 'wasm');
    const b = await anonymize([ASTRONAUT], db, opts({ generator: g, mode: 'frame', face, extractor: prep.extract }));
    await prep.close();
    g.dispose();
    expect(a.summary.faces).toBe(1);
    expect(outcome(b, db)).toEqual(outcome(a, da));
  }, 60_000);
});

describe('default worker count', () => {
  it('one per core, capped, on wasm and cpu; one on tensorflow', () => {
    const cores = availableParallelism();
    expect(defaultWorkers('wasm', 100)).toBe(cores);
    expect(defaultWorkers('cpu', 100)).toBe(cores);
    expect(defaultWorkers('wasm', 1)).toBe(1);
    expect(defaultWorkers('wasm', 0)).toBe(1);
    expect(defaultWorkers('tensorflow', 100)).toBe(1);
  });
});
