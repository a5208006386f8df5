/** The CLI as a user runs it: help, JSON output, exit codes, one-line errors, model run and generate. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { ganon } from '../helpers/cli.js';
import { maxAbsDiff } from '../helpers/tensors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ganon-cli-'));

describe('ganon CLI', () => {
  it('--help lists the commands; every subcommand has --help', async () => {
    const r = await ganon(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['info', 'model', 'train', 'generate', 'demo']) expect(r.stdout).toContain(`ganon ${c}`);
    const t = await ganon(['train', '--help']);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('--set');
    expect(t.stdout).toContain('--resume');
    expect((await ganon(['model', 'run', '--help'])).stdout).toContain('--arch');
    // a subcommand lists its own options, not its parent's
    const p = await ganon(['preprocess', '--help']);
    expect(p.stdout).toContain('--dataset');
    const m = await ganon(['preprocess', 'merge', '--help']);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain('--out');
    expect(m.stdout).not.toContain('--dataset');
  });

  it('model summary --json prints the exact parameter counts', async () => {
    const r = await ganon(['model', 'summary', '--image-size', '256', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ generator: { params: 54404099 }, discriminator: { params: 2767808, output: [16, 16, 1] } });
  });

  it('info --json names the backend', async () => {
    const r = await ganon(['info', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).backend.name).toBe('wasm');
  });

  it('usage errors, config typos, unknown backends and bad sizes exit 2 with one line', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.yaml'), 'train:\n  batchsize: 4\n');
    const cfg = await ganon(['train', '--config', join(dir, 'bad.yaml'), '--data', dir, '--out', join(dir, 'run')]);
    expect(cfg.code).toBe(2);
    expect(cfg.stderr.trim()).toBe("ganon: unknown config key 'train.batchsize' (did you mean 'train.batchSize'?)");
    const be = await ganon(['info'], { GANON_BACKEND: 'gpu9000' });
    expect(be.code).toBe(2);
    expect(be.stderr.trim()).toBe("ganon: unknown backend 'gpu9000': expected one of auto, tensorflow, wasm, cpu");
    const sz = await ganon(['model', 'summary', '--image-size', '300']);
    expect(sz.code).toBe(2);
    expect(sz.stderr).toMatch(/multiples of 256/);
    expect((await ganon(['nosuchcommand'])).code).toBe(2);
    const data = await ganon(['train', '--data', join(dir, 'missing'), '--out', join(dir, 'run')]);
    expect(data.code).toBe(2);
    expect(data.stderr.trim().split('\n').at(-1)).toMatch(/^ganon: dataset directory '.*missing' does not exist$/);
  });

  it('model run reproduces the PyTorch output of the small U-Net fixture', async () => {
    const dir = tmp();
    const fixture = `${fixtureDir}pix2pix/unet_small.safetensors`;
    const out = join(dir, 'out.safetensors');
    const r = await ganon(['model', 'run', '--arch', 'unet', '--weights', fixture, '--input', fixture, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const got = decodeSafetensors(readFileSync(out)).tensors.get('output')!;
    const want = decodeSafetensors(readFileSync(fixture)).tensors.get('output')!;
    expect(got.shape).toEqual([2, 3, 32, 32]);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThanOrEqual(1e-4);
  });

  it('model run: a wrong input tensor is a clear error', async () => {
    const dir = tmp();
    const input = join(dir, 'in.safetensors');
    writeFileSync(input, encodeSafetensors(new Map([['x', { shape: [1], data: new Float32Array(1) }]])));
    const r = await ganon(['model', 'run', '--arch', 'patchgan', '--weights', `${fixtureDir}pix2pix/patchgan_small.safetensors`, '--input', input, '--out', join(dir, 'o.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no tensor named 'input'/);
  });

  it('generate writes a face PNG of the condition size from generator weights', async () => {
    const dir = tmp();
    const cond = join(dir, 'cond.png');
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(cond);
    const out = join(dir, 'face.png');
    const r = await ganon(['generate', '--weights', `${fixtureDir}pix2pix/unet_small.safetensors`, '--condition', cond, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([32, 32]);
    const bad = await ganon(['generate', '--weights', `${fixtureDir}pix2pix/unet_small.safetensors`, '--condition', join(dir, 'none.png'), '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot decode image/);
  });

  it('landmarks: a photo gives the rendered 478-point image and JSON; --from-json renders points; no face exits 2', async () => {
    const dir = tmp();
    const out = join(dir, 'lm.png');
    const r = await ganon(['landmarks', 'test/.cache/astronaut.png', '--out', out, '--size', '256', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { faces: { landmarks: number[][]; box: number[] }[] };
    expect(j.faces).toHaveLength(1);
    expect(j.faces[0]!.landmarks).toHaveLength(478);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([256, 256]);
    writeFileSync(join(dir, 'pts.json'), r.stdout);
    const again = join(dir, 'again.png');
    expect((await ganon(['landmarks', join(dir, 'pts.json'), '--from-json', '--out', again, '--size', '256'])).code).toBe(0);
    const a = await sharp(out).raw().toBuffer();
    const b = await sharp(again).raw().toBuffer();
    expect(Buffer.compare(a, b)).toBe(0);
    const blank = join(dir, 'blank.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toFile(blank);
    const none = await ganon(['landmarks', blank, '--out', join(dir, 'x.png')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no face found in '.*blank.png'/);
  });

  it('embed/eval with facenet512: --weights is required and a mismatching file names the layer', async () => {
    const none = await ganon(['embed', 'test/.cache/astronaut.png', '--embedder', 'facenet512']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--embedder facenet512 needs --weights FILE/);
    const wrong = await ganon(['embed', 'test/.cache/astronaut.png', '--embedder', 'facenet512', '--weights', `${fixtureDir}facenet512/tiny.h5`]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/layer 'Conv2d_1a_3x3' weight 'kernel' has shape \[3,3,3,4\], expected \[3,3,3,32\]/);
  });
});
