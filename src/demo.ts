/**
 * `npm run demo` / `ganon demo`: the main job on embedded defaults, nothing downloaded.
 *
 * 1. images: astronaut.png (and camera.png) from Debian's python3-skimage, fetched by
 *    scripts/fetch-test-images.sh (npm's predemo step), plus `--images DIR`; a few
 *    variants of each (mirror, small rotations, zoom, brightness) so the statistics
 *    have more than one pair. -> OUT/images/
 * 2. preprocess them (detect, align, letterbox, 478 landmarks): OUT/preprocessed/
 *    (manifest.arrow + faces/ at the toy size), OUT/crops/ (512 px aligned originals)
 *    and OUT/landmarks/ (the rendered landmark images).
 * 3. anonymize with the baselines and with a generator: `--weights` (the published
 *    checkpoint or the user's own), else a TOY generator trained right here for a few
 *    dozen steps on the demo faces (configs/toy.yaml; OUT/train/). -> OUT/anon/<method>/
 * 4. evaluate identity (proxy embedder) -> OUT/identity/, and emotion shift (proxy
 *    emotion model) -> OUT/emotion/, with their statistics.
 * 5. the report -> OUT/report/ (report.md, report.html, tables, figures).
 * The notebooks (notebooks/*.ipynb) read OUT by default (runs/demo).
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { loadTrainConfig } from './config/train.js';
import { InputError } from './errors.js';
import { loadProxyEmbedder } from './eval/embed.js';
import { loadProxyEmotion } from './eval/emotion-proxy.js';
import { runEmotionEval } from './eval/emotion-run.js';
import { runIdentity } from './eval/identity-run.js';
import { listImages } from './eval/match.js';
import { decodeImage, writePng } from './io/images.js';
import { anonymize, parseMethod } from './pipeline/anonymize.js';
import { folder } from './pipeline/datasets/folder.js';
import { extractFaces, DEFAULT_FACE_OPTIONS } from './pipeline/faces.js';
import { loadGenerator, type Generator } from './pipeline/generate.js';
import { preprocessItems } from './pipeline/preprocess.js';
import { renderLandmarks } from './pipeline/render.js';
import { buildReport } from './report/index.js';
import { train } from './train/loop.js';
import { Progress } from './util/progress.js';
import { toolkitVersion } from './util/provenance.js';

export interface DemoOptions {
  outDir: string;
  backend: string;
  /** Extra face photos to include. */
  imagesDir?: string;
  /** A generator checkpoint (the published .ckpt, a toolkit checkpoint dir or .safetensors); default: train the toy. */
  weights?: string;
  /** Toy generator config and `--set` overrides. */
  configFile?: string;
  sets?: string[];
  /** Variants made of each photo (including itself). */
  variants?: number;
  /** The photos fetched by scripts/fetch-test-images.sh. */
  cacheDir?: string;
  signal?: AbortSignal;
  out?: NodeJS.WriteStream | null;
}

export interface DemoResult {
  outDir: string;
  images: number;
  faces: number;
  generator: string;
  toy: boolean;
  report: string;
  summary: string[];
  runs: { identity: string; emotion: string; train: string | null };
}

const BASELINES = ['pixelate:16', 'blur:17', 'mask'];
const GAN = 'ganonymization';

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const out = o.out === undefined ? process.stderr : o.out;
  const say = (s: string) => out?.write(`${s}\n`);
  const root = resolve(o.outDir);
  const dirs = {
    images: join(root, 'images'), pre: join(root, 'preprocessed'), crops: join(root, 'crops'), landmarks: join(root, 'landmarks'),
    anon: join(root, 'anon'), train: join(root, 'train'), identity: join(root, 'identity'), emotion: join(root, 'emotion'), report: join(root, 'report'),
  };
  // A demo run starts clean (its own outputs only; nothing outside OUT is touched).
  for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });

  // 1. images
  say('[1/5] images');
  const photos = gatherPhotos(o);
  const variants = Math.max(1, o.variants ?? 4);
  mkdirSync(dirs.images, { recursive: true });
  let bar = out ? new Progress(photos.length, 'variants', out) : null;
  for (const [i, p] of photos.entries()) {
    await writeVariants(p, dirs.images, variants);
    bar?.update(i + 1);
  }
  bar?.done();
  const imageFiles = listImages(dirs.images);
  say(`${imageFiles.length} images in ${dirs.images}`);

  // 2. preprocess
  const toyCfg = loadTrainConfig(o.configFile ?? 'configs/toy.yaml', o.sets ?? []);
  say('[2/5] preprocess: detect, align, letterbox, 478 landmarks');
  const items = folder.list(dirs.images, { seed: 42, valFraction: 0 });
  bar = out ? new Progress(items.length, 'preprocess', out) : null;
  const pre = await preprocessItems(items, dirs.pre, { face: { ...DEFAULT_FACE_OPTIONS, size: toyCfg.imageSize }, flushEvery: 50, maxPixels: 50e6 }, (d) => bar?.update(d));
  bar?.done();
  if (pre.faces === 0) throw new InputError(`no face found in the demo images (${dirs.images})`);
  mkdirSync(dirs.crops, { recursive: true });
  mkdirSync(dirs.landmarks, { recursive: true });
  bar = out ? new Progress(imageFiles.length, 'crops', out) : null;
  let faces = 0;
  for (const [i, rel] of imageFiles.entries()) {
    const [f] = await extractFaces(await decodeImage(join(dirs.images, rel)), DEFAULT_FACE_OPTIONS);
    if (f !== undefined && f.landmarks !== null) {
      const name = `${rel.replace(/\.[^.]+$/, '')}.png`;
      await writePng(join(dirs.crops, name), f.image);
      await writePng(join(dirs.landmarks, name), renderLandmarks(f.landmarks, f.image.width));
      faces += 1;
    }
    bar?.update(i + 1);
  }
  bar?.done();
  say(`${pre.faces} faces preprocessed (${dirs.pre}), ${faces} aligned 512 px crops (${dirs.crops})`);

  // 3. anonymize
  let generator: Generator;
  let toy = false;
  let trainRun: string | null = null;
  let genSize = 512;
  if (o.weights !== undefined) {
    generator = loadGenerator(o.weights);
    say(`[3/5] anonymize with the generator in ${generator.source}`);
  } else {
    say(`[3/5] anonymize: training a TOY generator (${toyCfg.imageSize} px, ngf ${toyCfg.model.ngf}, ${toyCfg.train.maxSteps} steps) on the demo faces; its faces show the pipeline, not the paper's quality`);
    const r = await train({ config: toyCfg, dataDir: dirs.pre, outDir: dirs.train, resume: false, backend: o.backend, signal: o.signal, out });
    if (r.lastCheckpoint === null) throw new InputError('the toy generator did not write a checkpoint');
    generator = loadGenerator(r.lastCheckpoint);
    toy = true;
    trainRun = dirs.train;
    genSize = toyCfg.imageSize;
  }
  const methods = [{ name: GAN, dir: join(dirs.anon, GAN) }, ...BASELINES.map((b) => ({ name: b, dir: join(dirs.anon, b.replace(/:/g, '-')) }))];
  try {
    for (const m of methods) {
      const method = parseMethod(m.name);
      bar = out ? new Progress(imageFiles.length, m.name, out) : null;
      await anonymize([dirs.images], m.dir, {
        method, mode: 'crop', generator: method.kind === 'ganonymization' ? generator : undefined, noFace: 'skip', overwrite: true,
        face: { ...DEFAULT_FACE_OPTIONS, size: method.kind === 'ganonymization' ? genSize : 512 }, toolkitVersion: toolkitVersion(), backend: o.backend,
      }, (d) => bar?.update(d));
      bar?.done();
    }
  } finally {
    generator.dispose();
  }

  // 4. evaluate
  say('[4/5] evaluate: identity (proxy embedder) and emotion (proxy classifier)');
  const embedder = await loadProxyEmbedder();
  try {
    await runIdentity({
      original: dirs.images, methods, embedder, outDir: dirs.identity, reference: GAN, dataset: 'demo (astronaut.png, camera.png and variants)', split: 'all',
      onProgress: stages('identity', out),
    });
  } finally {
    embedder.dispose();
  }
  const emo = await loadProxyEmotion();
  try {
    await runEmotionEval({
      original: dirs.crops, methods, reference: GAN, dataset: 'demo (astronaut.png, camera.png and variants)', split: 'all', outDir: dirs.emotion,
      predictor: { name: emo.name, proxy: true, kind: 'multiclass', weightsSha256: emo.weightsSha256, classes: emo.classes, predict: (x) => emo.predict(x), dispose: () => emo.dispose() },
      onProgress: stages('emotion', out),
    });
  } finally {
    emo.dispose();
  }

  // 5. report
  say('[5/5] report');
  const runs = [dirs.identity, dirs.emotion, ...(trainRun ? [trainRun] : [])];
  const rep = await buildReport({
    runs, outDir: dirs.report, title: `ganon demo${toy ? ' (toy generator)' : ''}`,
    samples: [{ name: 'original', dir: dirs.crops }, { name: 'landmarks', dir: dirs.landmarks }, ...methods.map((m) => ({ name: m.name === GAN && toy ? `${GAN} (toy)` : m.name, dir: m.dir }))],
    sampleCount: 4,
  });
  return {
    outDir: root, images: imageFiles.length, faces, generator: toy ? `toy (${dirs.train})` : o.weights!, toy, report: rep.html,
    summary: rep.summary, runs: { identity: dirs.identity, emotion: dirs.emotion, train: trainRun },
  };
}

/** A progress bar per stage of a multi-stage callback. */
function stages(label: string, out: NodeJS.WriteStream | null): (stage: string, done: number, total: number) => void {
  let cur: { stage: string; bar: Progress } | null = null;
  return (stage, done, total) => {
    if (out === null) return;
    if (cur?.stage !== stage) {
      cur?.bar.done();
      cur = { stage, bar: new Progress(total, `${label} ${stage}`, out) };
    }
    cur.bar.update(done);
    if (done >= total) cur.bar.done();
  };
}

const CACHE_PHOTOS = ['astronaut.png', 'camera.png'];

function gatherPhotos(o: DemoOptions): string[] {
  const cache = o.cacheDir ?? 'test/.cache';
  const photos = CACHE_PHOTOS.map((f) => join(cache, f)).filter((p) => existsSync(p));
  if (o.imagesDir !== undefined) {
    if (!existsSync(o.imagesDir)) throw new InputError(`--images '${o.imagesDir}' does not exist`);
    photos.push(...listImages(o.imagesDir).map((r) => join(o.imagesDir!, r)));
  }
  if (photos.length === 0) {
    throw new InputError(`no demo photos: run 'bash scripts/fetch-test-images.sh' (npm run demo does) to fetch astronaut.png into ${cache}/, or give --images DIR`);
  }
  return photos;
}

/** The photo itself plus variants: mirror, rotations of -8 and +8 degrees, a 85 % zoom, darker, brighter. */
async function writeVariants(path: string, outDir: string, n: number): Promise<void> {
  const stem = basename(path, extname(path)).replace(/[^A-Za-z0-9_-]/g, '_');
  copyFileSync(path, join(outDir, `${stem}${extname(path).toLowerCase() === '.png' ? '.png' : extname(path).toLowerCase()}`));
  const meta = await sharp(path).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  type Img = ReturnType<typeof sharp>;
  const ops: [string, (s: Img) => Img][] = [
    ['mirror', (s) => s.flop()],
    ['rot-8', (s) => s.rotate(-8, { background: { r: 0, g: 0, b: 0 } })],
    ['zoom', (s) => s.extract({ left: Math.round(w * 0.075), top: Math.round(h * 0.075), width: Math.round(w * 0.85), height: Math.round(h * 0.85) })],
    ['rot+8', (s) => s.rotate(8, { background: { r: 0, g: 0, b: 0 } })],
    ['dark', (s) => s.modulate({ brightness: 0.75 })],
    ['bright', (s) => s.modulate({ brightness: 1.25 })],
  ];
  for (const [name, f] of ops.slice(0, Math.max(0, n - 1))) {
    await f(sharp(path).removeAlpha()).png().toFile(join(outDir, `${stem}-${name}.png`));
  }
}

