/**
 * The `mediapipe` landmark backend (src/pipeline/mediapipe.ts): MediaPipe's
 * face mesh in headless Chromium on astronaut.png, against the embedded
 * backend and a golden fixture, plus the browser's lifetime (no orphan
 * Chromium after close, errors, Ctrl-C, SIGTERM, SIGKILL) and the network
 * (nothing but loopback). Needs a system Chromium (`apt-get install chromium`;
 * .ci/run installs it): where there is none, the Chromium tests are skipped
 * and the reason is printed. Regenerate the golden with UPDATE_GOLDEN=1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodePng, type RgbImage } from '../../src/io/images.js';
import { readManifest } from '../../src/io/manifest.js';
import { DEFAULT_FACE_OPTIONS, extractFaces, type FaceRecord } from '../../src/pipeline/faces.js';
import { withLandmarker } from '../../src/pipeline/landmarks.js';
import { findChromium, MediaPipeLandmarker } from '../../src/pipeline/mediapipe.js';
import { renderLandmarks } from '../../src/pipeline/render.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { repoRoot, type CliResult } from '../helpers/cli.js';

/**
 * `ganon ...args` in a child process, awaited (test/helpers/cli.ts's ganon() blocks this worker's
 * event loop for the whole run, which on a loaded machine can time out vitest's own RPC).
 */
function ganon(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [`${repoRoot}bin/ganon.js`, ...args], {
    cwd: repoRoot, env: { ...process.env, GANON_BACKEND: 'wasm', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => { stderr += String(d); });
  const timer = setTimeout(() => child.kill('SIGTERM'), 300_000);
  return new Promise((ok) => child.on('close', (code) => { clearTimeout(timer); ok({ code: code ?? -1, stdout, stderr }); }));
}

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
const GOLDEN_JSON = `${fixtureDir}pipeline/astronaut_mediapipe.json`;
const GOLDEN_PNG = `${fixtureDir}pipeline/astronaut_mediapipe_landmarks.png`;
const S = 512;
const chromium = findChromium();
if (!chromium) {
  process.stdout.write('SKIPPED (reason: no Chromium on this machine; apt-get install chromium, or set GANON_CHROMIUM): the headless-Chromium tests of test/pipeline/mediapipe.test.ts\n');
}

interface Proc { pid: number; ppid: number; pgrp: number; comm: string }

/** Running processes (zombies left out). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // a zombie has exited already (its parent, or init after a reparent, has yet to reap it)
      if (f[0] !== 'Z') out.push({ pid: Number(d), ppid: Number(f[1]), pgrp: Number(f[2]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Processes (other than this one) that carry GANON_MP_TAG=tag in their environment
 * (the CLI child, Chromium's browser process, its crash handlers), their
 * descendants, and every process in one of `groups`: Chromium's renderer and
 * GPU processes are forked by its zygote with a clean environment, but stay in
 * the browser's process group, also when orphaned.
 */
function tagged(tag: string, groups: number[] = []): Proc[] {
  const want = `GANON_MP_TAG=${tag}`;
  const all = processes().filter((p) => p.pid !== process.pid);
  const keep = new Set<number>();
  for (const p of all) {
    try {
      if (readFileSync(`/proc/${p.pid}/environ`, 'latin1').split('\0').includes(want) || groups.includes(p.pgrp)) keep.add(p.pid);
    } catch {
      // gone, or not ours to read
    }
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) if (!keep.has(p.pid) && keep.has(p.ppid)) { keep.add(p.pid); grew = true; }
  }
  return all.filter((p) => keep.has(p.pid));
}
/** Chromium processes now running that were not in `before` (for runs whose process group was never seen). */
const chromiumPids = () => new Set(processes().filter((p) => /chrom/.test(p.comm)).map((p) => p.pid));
const newChromium = (before: Set<number>) => processes().filter((p) => /chrom/.test(p.comm) && !before.has(p.pid));
const chromiumOf = (tag: string) => tagged(tag).filter((p) => /chrom/.test(p.comm));
/** The process groups of a tagged Chromium (the browser's, which its zygote children share). */
const groupsOf = (tag: string) => [...new Set(chromiumOf(tag).filter((p) => p.comm === 'chromium' || p.comm === 'chrome').map((p) => p.pgrp))];

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/** Starts `ganon ...args` tagged, waits for its Chromium, sends `signal`, and returns the exit code/signal. */
async function interrupt(args: string[], signal: NodeJS.Signals, tag: string, tmp: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; sawChromium: boolean; groups: number[]; seen: number }> {
  const child = spawn(process.execPath, [`${repoRoot}bin/ganon.js`, ...args], {
    cwd: repoRoot, env: { ...process.env, GANON_BACKEND: 'wasm', GANON_MP_TAG: tag, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += String(d); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.on('exit', (code, sig) => ok({ code, signal: sig })));
  const sawChromium = await until(() => chromiumOf(tag).length > 0, 90_000);
  await new Promise((r) => setTimeout(r, 500));
  const groups = groupsOf(tag);
  const seen = tagged(tag, groups).length;
  child.kill(signal);
  const r = await done;
  return { ...r, stderr, sawChromium, groups, seen };
}

const dist = (a: Float32Array, b: Float32Array, i: number) => Math.hypot((a[i * 3]! - b[i * 3]!) * S, (a[i * 3 + 1]! - b[i * 3 + 1]!) * S);

/** The reference's draw_landmarks, written out independently of src/pipeline/render.ts: a 5-pixel "+" of 224 per point. */
function referenceDrawing(points: Float32Array, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < points.length / 3; i++) {
    const x = points[i * 3]!;
    const y = points[i * 3 + 1]!;
    if (x < 0 || x > 1 || y < 0 || y > 1) continue;
    const px = Math.min(Math.floor(x * size), size - 1);
    const py = Math.min(Math.floor(y * size), size - 1);
    for (const [dx, dy] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
      const qx = px + dx;
      const qy = py + dy;
      if (qx >= 0 && qx < size && qy >= 0 && qy < size) out.fill(224, (qy * size + qx) * 3, (qy * size + qx) * 3 + 3);
    }
  }
  return out;
}

let img: RgbImage;

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  img = await decodeImage(ASTRONAUT);
});

describe('--landmarks mediapipe: what needs no Chromium', () => {
  it('without Chromium the command says how to install it (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
    const r = await ganon(['landmarks', ASTRONAUT, '--out', join(dir, 'lm.png'), '--landmarks', 'mediapipe'], { GANON_CHROMIUM: join(dir, 'no-chromium') });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/apt-get install chromium/);
    expect(existsSync(join(dir, 'lm.png'))).toBe(false);
  });

  it('--mediapipe-model without --landmarks mediapipe is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
    const r = await ganon(['landmarks', ASTRONAUT, '--out', join(dir, 'lm.png'), '--mediapipe-model', join(dir, 'x.task')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--mediapipe-model needs --landmarks mediapipe/);
  });
});

describe.skipIf(!chromium)('mediapipe landmarks in headless Chromium (astronaut.png)', () => {
  let mp: MediaPipeLandmarker;
  let faces: FaceRecord[];
  let embedded: FaceRecord[];

  beforeAll(async () => {
    mp = await MediaPipeLandmarker.start();
    faces = await extractFaces(img, { ...DEFAULT_FACE_OPTIONS, landmarker: mp });
    embedded = await extractFaces(img, DEFAULT_FACE_OPTIONS);
  }, 180_000);

  afterAll(async () => {
    await mp?.close();
  });

  it('478 points per face, normalised to the S x S crop, in MediaPipe order', () => {
    expect(faces).toHaveLength(1);
    const f = faces[0]!;
    expect(f.landmarkSource).toBe('crop');
    const p = f.landmarks!;
    expect(p).toHaveLength(478 * 3);
    for (let i = 0; i < 478; i++) {
      expect(p[i * 3]!).toBeGreaterThan(0);
      expect(p[i * 3]!).toBeLessThan(1);
      expect(p[i * 3 + 1]!).toBeGreaterThan(0);
      expect(p[i * 3 + 1]!).toBeLessThan(1);
    }
    // MediaPipe's indices: 468 the subject's right iris (image left), 473 the left; 1 nose tip; 10 forehead; 152 chin
    expect(p[468 * 3]!).toBeLessThan(p[1 * 3]!);
    expect(p[473 * 3]!).toBeGreaterThan(p[1 * 3]!);
    expect(p[10 * 3 + 1]!).toBeLessThan(p[1 * 3 + 1]!);
    expect(p[152 * 3 + 1]!).toBeGreaterThan(p[1 * 3 + 1]!);
    // the iris ring around its centre: 469 and 474 on the image-right side, 471 and 476 on the left
    expect(p[469 * 3]!).toBeGreaterThan(p[468 * 3]!);
    expect(p[471 * 3]!).toBeLessThan(p[468 * 3]!);
    expect(p[474 * 3]!).toBeGreaterThan(p[473 * 3]!);
    expect(p[476 * 3]!).toBeLessThan(p[473 * 3]!);
    // stages 1-4 do not depend on the landmark backend
    expect(Buffer.from(f.image.data).equals(Buffer.from(embedded[0]!.image.data))).toBe(true);
  });

  it('agrees with the embedded backend within a few pixels on the 512 px crop', () => {
    const a = faces[0]!.landmarks!;
    const b = embedded[0]!.landmarks!;
    const mesh = Array.from({ length: 468 }, (_, i) => dist(a, b, i));
    const iris = Array.from({ length: 10 }, (_, i) => dist(a, b, 468 + i));
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    process.stdout.write(`mediapipe vs embedded on astronaut.png (512 px crop): mesh mean ${mean(mesh).toFixed(2)} px, max ${Math.max(...mesh).toFixed(2)} px; iris mean ${mean(iris).toFixed(2)} px, max ${Math.max(...iris).toFixed(2)} px\n`);
    // measured: mesh 4.69 / 26.06, iris 3.60 / 7.28 (docs/pipeline.md; 4.69 / 17.57 and 3.60 / 7.73 on
    // the crop of the earlier stage 1, which aligned on the iris centres instead of BlazeFace's eye keypoints)
    expect(mean(mesh)).toBeLessThan(6);
    expect(Math.max(...mesh)).toBeLessThan(30);
    expect(mean(iris)).toBeLessThan(5);
    expect(Math.max(...iris)).toBeLessThan(10);
  });

  it('the same image twice, alone or in a batch, gives identical points', async () => {
    const crop = faces[0]!.image;
    const [one] = await mp.landmarks([crop]);
    const batch = await mp.landmarks([crop, crop, crop]);
    for (const p of [one, ...batch]) expect(Buffer.from(p!.buffer).equals(Buffer.from(faces[0]!.landmarks!.buffer))).toBe(true);
  });

  it('rendering the points gives the training-exact landmark image (golden fixture)', async () => {
    const pts = faces[0]!.landmarks!;
    const rendered = renderLandmarks(pts, S);
    // the reference's drawing rule, independently of render.ts
    expect(Buffer.from(rendered.data).equals(Buffer.from(referenceDrawing(pts, S)))).toBe(true);
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(GOLDEN_JSON, `${JSON.stringify({ image: 'astronaut.png', size: S, source: '@mediapipe/face_mesh 0.4.1633559619, refineLandmarks, CPU inference, headless Chromium', landmarks: Array.from(pts) })}\n`);
      writeFileSync(GOLDEN_PNG, await encodePng(rendered));
    }
    const golden = Float32Array.from((JSON.parse(readFileSync(GOLDEN_JSON, 'utf8')) as { landmarks: number[] }).landmarks);
    let worst = 0;
    for (let i = 0; i < golden.length; i++) worst = Math.max(worst, Math.abs(golden[i]! - pts[i]!));
    expect(worst).toBeLessThan(1e-4);
    const goldenPng = await decodeImage(GOLDEN_PNG);
    expect(Buffer.from(rendered.data).equals(Buffer.from(goldenPng.data))).toBe(true);
  });

  it('a crop without a face gives null (the reference draws an all-black image)', async () => {
    const blank: RgbImage = { width: S, height: S, data: new Uint8Array(S * S * 3).fill(90) };
    expect(await mp.landmarks([blank])).toEqual([null]);
  });

  it('the page loaded only its own loopback assets, and cannot reach anything else', async () => {
    expect(mp.offOrigin).toEqual([]);
    expect(mp.requests.length).toBeGreaterThan(5);
    const origin = new URL(mp.requests[0]!).origin;
    expect(new URL(origin).hostname).toBe('127.0.0.1');
    for (const u of mp.requests) expect(u.startsWith(`${origin}/`), u).toBe(true);
    expect(mp.requests.some((u) => u.endsWith('/face_mesh/face_mesh_solution_packed_assets.data'))).toBe(true);
    // a request elsewhere, made from inside the page, is aborted and recorded
    const page = (mp as unknown as { page: import('playwright-core').Page }).page;
    const outcome = await page.evaluate(() => fetch('http://192.0.2.1/x').then(() => 'reached', () => 'refused'));
    expect(outcome).toBe('refused');
    expect(mp.offOrigin).toEqual(['http://192.0.2.1/x']);
    mp.offOrigin.length = 0;
  });

  it("the black frame before each image gives the same points as restarting the graph (Python's static_image_mode)", async () => {
    const reset = await MediaPipeLandmarker.start({ clear: 'reset' });
    try {
      const crop = faces[0]!.image;
      const [a, b] = await reset.landmarks([crop, crop]);
      expect(Buffer.from(a!.buffer).equals(Buffer.from(faces[0]!.landmarks!.buffer))).toBe(true);
      expect(Buffer.from(b!.buffer).equals(Buffer.from(faces[0]!.landmarks!.buffer))).toBe(true);
    } finally {
      await reset.close();
    }
  }, 180_000);
});

describe.skipIf(!chromium)('no orphan Chromium', () => {
  it('close() ends every Chromium process, also when the work inside withLandmarker throws', async () => {
    const tag = randomBytes(6).toString('hex');
    const before = process.env.GANON_MP_TAG;
    process.env.GANON_MP_TAG = tag; // inherited by the Chromium this process starts
    try {
      let seen = 0;
      let groups: number[] = [];
      await expect(withLandmarker('mediapipe', {}, async (l) => {
        await l.landmarks([img]);
        groups = groupsOf(tag);
        seen = tagged(tag, groups).length;
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(groups).toHaveLength(1);
      expect(seen).toBeGreaterThan(2); // browser and its zygote children
      expect(await until(() => tagged(tag, groups).length === 0, 5_000), JSON.stringify(tagged(tag, groups))).toBe(true);
    } finally {
      if (before === undefined) delete process.env.GANON_MP_TAG;
      else process.env.GANON_MP_TAG = before;
    }
  }, 120_000);

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} during a run: Chromium is ended and the CLI exits ${code}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
      const tag = randomBytes(6).toString('hex');
      const tmp = mkdtempSync(join(tmpdir(), 'ganon-mp-tmp-'));
      const r = await interrupt(['landmarks', ASTRONAUT, '--out', join(dir, 'lm.png'), '--landmarks', 'mediapipe'], signal, tag, tmp);
      expect(r.sawChromium, r.stderr).toBe(true);
      expect(r.code, r.stderr).toBe(code);
      expect(r.seen).toBeGreaterThan(3); // node, browser, zygote children
      expect(await until(() => tagged(tag, r.groups).length === 0, 5_000), JSON.stringify(tagged(tag, r.groups))).toBe(true);
      // the browser's temporary profile is removed too
      expect(readdirSync(tmp).filter((f) => f.startsWith('playwright_chromiumdev_profile'))).toEqual([]);
      rmSync(tmp, { recursive: true, force: true });
    }, 120_000);
  }

  it('SIGKILL of the CLI: Chromium exits by itself when its pipe closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
    const tag = randomBytes(6).toString('hex');
    const tmp = mkdtempSync(join(tmpdir(), 'ganon-mp-tmp-'));
    const r = await interrupt(['landmarks', ASTRONAUT, '--out', join(dir, 'lm.png'), '--landmarks', 'mediapipe'], 'SIGKILL', tag, tmp);
    expect(r.sawChromium).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(r.seen).toBeGreaterThan(3);
    expect(await until(() => tagged(tag, r.groups).length === 0, 10_000), JSON.stringify(tagged(tag, r.groups))).toBe(true);
    rmSync(tmp, { recursive: true, force: true }); // nothing can remove the profile after SIGKILL but its TMPDIR's owner
  }, 120_000);

  it('a model file MediaPipe cannot read: exit 2 with its reason, nothing left running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
    const tag = randomBytes(6).toString('hex');
    writeFileSync(join(dir, 'bad.task'), randomBytes(4096));
    const before = chromiumPids();
    const r = await ganon(['landmarks', ASTRONAUT, '--out', join(dir, 'lm.png'), '--landmarks', 'mediapipe', '--mediapipe-model', join(dir, 'bad.task')], { GANON_MP_TAG: tag });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/MediaPipe in Chromium did not start: .*zip archive/);
    expect(tagged(tag)).toEqual([]);
    expect(await until(() => newChromium(before).length === 0, 5_000), JSON.stringify(newChromium(before))).toBe(true);
  });
});

describe.skipIf(!chromium)('ganon landmarks --landmarks mediapipe', () => {
  it('writes the golden landmark image, with no network connection from Node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
    const log = join(dir, 'net.log');
    const tag = randomBytes(6).toString('hex');
    const before = chromiumPids();
    const r = await ganon(['landmarks', ASTRONAUT, '--out', join(dir, 'lm.png'), '--landmarks', 'mediapipe', '--json'], {
      NODE_OPTIONS: `--import=${repoRoot}test/helpers/no-network.mjs`, GANON_NET_LOG: log, GANON_MP_TAG: tag,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/landmarks: mediapipe \(face_mesh 0\.4\.1633559619/);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
    const json = JSON.parse(r.stdout) as { faces: { landmarks: number[][] }[] };
    expect(json.faces[0]!.landmarks).toHaveLength(478);
    expect(Buffer.from((await decodeImage(join(dir, 'lm.png'))).data).equals(Buffer.from((await decodeImage(GOLDEN_PNG)).data))).toBe(true);
    expect(tagged(tag)).toEqual([]);
    expect(await until(() => newChromium(before).length === 0, 5_000), JSON.stringify(newChromium(before))).toBe(true);
  }, 120_000);

  it('preprocess (golden points in the manifest) and anonymize take --landmarks mediapipe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-mp-'));
    const input = join(dir, 'in');
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, 'astronaut.png'), readFileSync(ASTRONAUT));
    const before = chromiumPids();
    const pre = await ganon(['preprocess', '--dataset', 'folder', '--input', input, '--out', join(dir, 'pre'), '--landmarks', 'mediapipe', '--json']);
    expect(pre.code, pre.stderr).toBe(0);
    expect(pre.stderr).toMatch(/landmarks: mediapipe/);
    expect(JSON.parse(pre.stdout.trim().split('\n').at(-1)!)).toMatchObject({ faces: 1, errors: 0 });
    const [row] = readManifest(join(dir, 'pre', 'manifest.arrow'));
    const golden = (JSON.parse(readFileSync(GOLDEN_JSON, 'utf8')) as { landmarks: number[] }).landmarks;
    expect(row!.landmarks).toHaveLength(golden.length);
    expect(Math.max(...golden.map((g, i) => Math.abs(g - row!.landmarks![i]!)))).toBeLessThan(1e-4);
    // frame mode pastes through the landmark hull, so the points are used
    const anon = await ganon(['anonymize', input, '--out', join(dir, 'anon'), '--method', 'pixelate:8', '--mode', 'frame', '--landmarks', 'mediapipe', '--json']);
    expect(anon.code, anon.stderr).toBe(0);
    expect(anon.stderr).toMatch(/landmarks: mediapipe/);
    expect(JSON.parse(anon.stdout)).toMatchObject({ faces: 1, errors: 0 });
    expect(await until(() => newChromium(before).length === 0, 5_000), JSON.stringify(newChromium(before))).toBe(true);
  }, 180_000);
});
