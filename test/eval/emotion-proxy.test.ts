/**
 * The proxy emotion classifier (Human's FER2013 mini-Xception) against Human
 * itself: a separate Human instance with emotion enabled runs `detect()` on
 * astronaut.png and variants of it, returns the face crop it gave its emotion
 * model (`detector.return`), and our classifier is run on that same crop; the
 * classes Human reports (probability > 0.1, as min(0.99, trunc(100 p) / 100))
 * must come out of our full distribution exactly. Preprocessing is also checked
 * against values worked out by hand, and mapClasses against the dataset class
 * lists of src/pipeline/datasets/.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emotionInput, FER2013_CLASSES, HUMAN_MIN_CONFIDENCE, loadProxyEmotion, mapClasses, type EmotionModel,
} from '../../src/eval/emotion-proxy.js';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import { registerFileModelLoader } from '../../src/io/models.js';
import { AFFECTNET_CLASSES } from '../../src/pipeline/datasets/affectnet.js';
import { CKPLUS_CLASSES } from '../../src/pipeline/datasets/ckplus.js';
import { FACES_CLASSES } from '../../src/pipeline/datasets/faces.js';
import { extractFaces } from '../../src/pipeline/faces.js';
import { syntheticFace } from '../../src/pipeline/synthetic.js';
import { repoRoot } from '../helpers/cli.js';
import { expectNoLeak, maxAbsDiff, seededValues } from '../helpers/tensors.js';

const require = createRequire(import.meta.url);
const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;

interface HumanEmotion { score: number; emotion: string }
interface HumanFace { emotion?: HumanEmotion[]; tensor?: tf.Tensor3D }
interface HumanLike { load(): Promise<void>; detect(input: tf.Tensor): Promise<{ face: HumanFace[]; error?: string | null }> }

let img: RgbImage;
let model: EmotionModel;
let human: HumanLike;

/** The reference: Human 3.3.6 with its emotion module on, returning the face crop it classified. */
async function referenceHuman(): Promise<HumanLike> {
  registerFileModelLoader();
  const dir = dirname(dirname(require.resolve('@vladmandic/human')));
  const mod = require(join(dir, 'dist', 'human.node-wasm.js')) as { Human: new (cfg: unknown) => HumanLike };
  const h = new mod.Human({
    backend: tf.getBackend(),
    wasmPath: `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`,
    modelBasePath: `file://${join(dir, 'models')}/`,
    debug: false, async: false, warmup: 'none', cacheSensitivity: 0, filter: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: true, return: true, skipFrames: 0 },
      mesh: { enabled: true }, iris: { enabled: true }, attention: { enabled: false },
      emotion: { enabled: true, skipFrames: 0, skipTime: 0 }, // Human's defaults otherwise (minConfidence 0.1, no crop)
      description: { enabled: false }, antispoof: { enabled: false }, liveness: { enabled: false }, gear: { enabled: false },
    },
    body: { enabled: false }, hand: { enabled: false }, object: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false },
  });
  await h.load();
  return h;
}

/** Human's result for the first face of `im`: its emotion list and the face crop (H x W x 3 in [0, 1]) it classified. */
async function humanDetect(im: RgbImage): Promise<{ emotion: HumanEmotion[]; crop: tf.Tensor3D }> {
  const input = tf.tidy(() => tf.expandDims(tf.tensor3d(im.data, [im.height, im.width, 3], 'int32'), 0));
  try {
    const res = await human.detect(input);
    expect(res.error ?? null).toBeNull();
    for (const f of res.face.slice(1)) tf.dispose(f.tensor);
    const f = res.face[0];
    if (!f?.tensor || !f.emotion) throw new Error('Human found no face');
    return { emotion: f.emotion, crop: f.tensor };
  } finally {
    input.dispose();
  }
}

/** What Human would report for a probability vector (src/gear/emotion.ts). */
function asHumanReports(p: Float32Array, classes: readonly string[]): HumanEmotion[] {
  const out: HumanEmotion[] = [];
  for (let i = 0; i < p.length; i++) if (p[i]! > HUMAN_MIN_CONFIDENCE) out.push({ score: Math.min(0.99, Math.trunc(100 * p[i]!) / 100), emotion: classes[i]! });
  return out.sort((a, b) => b.score - a.score);
}

function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

function mapPixels(im: RgbImage, fn: (v: number, x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(im.data.length);
  for (let y = 0; y < im.height; y++) {
    for (let x = 0; x < im.width; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * im.width + x) * 3 + c;
        data[i] = Math.max(0, Math.min(255, Math.round(fn(im.data[i]!, x, y))));
      }
    }
  }
  return { width: im.width, height: im.height, data };
}

function mirror(im: RgbImage): RgbImage {
  const data = new Uint8Array(im.data.length);
  for (let y = 0; y < im.height; y++) for (let x = 0; x < im.width; x++) data.set(im.data.subarray((y * im.width + im.width - 1 - x) * 3, (y * im.width + im.width - x) * 3), (y * im.width + x) * 3);
  return { width: im.width, height: im.height, data };
}

/** A Human face crop (float [0, 1]) as the toolkit's uint8 image. */
function toRgb(t: tf.Tensor3D): RgbImage {
  const v = t.dataSync();
  return { width: t.shape[1], height: t.shape[0], data: Uint8Array.from(v, (x) => Math.round(x * 255)) };
}

function noise(w: number, h: number, seed: number): RgbImage {
  return { width: w, height: h, data: Uint8Array.from(seededValues(w * h * 3, seed), (v) => Math.floor((v + 1) * 127.999)) };
}

function expectDistribution(p: Float32Array): void {
  expect(p.length).toBe(7);
  let sum = 0;
  for (const x of p) {
    expect(x).toBeGreaterThanOrEqual(0);
    expect(x).toBeLessThanOrEqual(1);
    sum += x;
  }
  expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
}

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  img = await decodeImage(ASTRONAUT);
  model = await loadProxyEmotion();
  human = await referenceHuman();
});
afterAll(() => model?.dispose());

describe('proxy emotion model (Human FER2013)', () => {
  it('is labelled proxy, with FER2013 classes in Human order', () => {
    expect(model.name).toBe('proxy-emotion-fer2013');
    expect(model.proxy).toBe(true);
    // Human's annotations for a 1-channel emotion model (src/gear/emotion.ts)
    expect([...model.classes]).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
  });

  it('preprocessing: 128 -> 64 takes every second pixel (bilinear, no half-pixel centres), grayscale 0.2989/0.5870/0.1140, (g - 0.5) * 2', () => {
    const im = noise(128, 128, 7);
    const input = tf.tidy(() => emotionInput(tf.div(tf.tensor4d(Float32Array.from(im.data), [1, 128, 128, 3]), 255) as tf.Tensor4D, 64));
    expect(input.shape).toEqual([1, 64, 64, 1]);
    const got = input.dataSync();
    input.dispose();
    const want = new Float32Array(64 * 64);
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const i = ((2 * y) * 128 + 2 * x) * 3;
        const g = (0.2989 * im.data[i]! + 0.587 * im.data[i + 1]! + 0.114 * im.data[i + 2]!) / 255;
        want[y * 64 + x] = (g - 0.5) * 2;
      }
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    // constant colours: black -1, white (0.9999 - 0.5) * 2, pure red (0.2989 - 0.5) * 2
    for (const [rgb, v] of [[[0, 0, 0], -1], [[255, 255, 255], 0.9998], [[255, 0, 0], -0.4022]] as const) {
      const t = tf.tidy(() => emotionInput(tf.div(tf.fill([1, 10, 30, 3], 0).add(tf.tensor1d(rgb as unknown as number[])), 255) as tf.Tensor4D, 64));
      const d = t.dataSync();
      t.dispose();
      expect(maxAbsDiff(d, new Float32Array(d.length).fill(v))).toBeLessThan(1e-5);
    }
  });

  it('on the crop Human classified: the classes and scores Human reports, and the same top class', async () => {
    const mouth = (x: number, y: number) => y > 140 && y < 200 && x > 170 && x < 280;
    const cases: Record<string, RgbImage> = {
      astronaut: img,
      mirrored: mirror(img),
      'mouth greyed': mapPixels(img, (v, x, y) => (mouth(x, y) ? 128 : v)),
      'mouth blacked': mapPixels(img, (v, x, y) => (y > 150 && y < 195 && x > 180 && x < 270 ? 0 : v)),
      'low contrast': mapPixels(img, (v) => 128 + (v - 128) * 0.3),
    };
    const report: string[] = [];
    let multiClass = 0;
    for (const [name, im] of Object.entries(cases)) {
      const ref = await humanDetect(im);
      try {
        const probs = tf.tidy(() => model.predictTensor(tf.expandDims(ref.crop, 0) as tf.Tensor4D));
        const p = Float32Array.from(await probs.data());
        probs.dispose();
        expectDistribution(p);
        expect(asHumanReports(p, model.classes), name).toEqual(ref.emotion);
        expect(model.classes[argmax(p)], name).toBe(ref.emotion[0]!.emotion);
        if (ref.emotion.length > 1) multiClass++;
        // the uint8 path (what predict() takes) on the same crop, quantised to 1/255
        const [q] = await model.predict([toRgb(ref.crop)]);
        expectDistribution(q!);
        expect(argmax(q!), name).toBe(argmax(p));
        expect(maxAbsDiff(q!, p), name).toBeLessThan(0.01);
        report.push(`${name}: Human ${JSON.stringify(ref.emotion)}; uint8 max |dp| ${maxAbsDiff(q!, p).toExponential(2)}`);
      } finally {
        ref.crop.dispose();
      }
    }
    expect(multiClass).toBeGreaterThan(0); // at least one case reports several classes, so the scores are really compared
    console.log(report.join('\n'));
  });

  it('on the pipeline aligned 512 crop: happy, as Human says for the same image', async () => {
    const [face] = await extractFaces(img, { size: 512, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } });
    const [p] = await model.predict([face!.image]);
    expectDistribution(p!);
    // Human cuts its own 192 x 192 crop out of this image, so only the top class is compared
    const ref = await humanDetect(face!.image);
    ref.crop.dispose();
    expect(model.classes[argmax(p!)]).toBe('happy');
    expect(ref.emotion[0]!.emotion).toBe('happy');
  });

  it('synthetic inputs of any size: probabilities in [0, 1] summing to 1', async () => {
    const cartoon: RgbImage = {
      width: 96, height: 96,
      data: syntheticFace({ cx: 0.5, cy: 0.5, a: 0.3, b: 0.38, tilt: 0, eye: 0.025, mouth: 0.02, smile: 0.04, brow: 0, skin: [236, 188, 150], iris: [70, 50, 30], lip: [180, 75, 85] }, 96),
    };
    const grey: RgbImage = { width: 40, height: 70, data: new Uint8Array(40 * 70 * 3).fill(128) };
    const out = await model.predict([cartoon, grey, noise(200, 150, 3), noise(1, 1, 4)]);
    expect(out).toHaveLength(4);
    for (const p of out) expectDistribution(p);
    expect(await model.predict([])).toEqual([]);
  });

  it('a batch of N equals N single calls (including more than one model call)', async () => {
    const faces = [img, mirror(img), noise(64, 64, 11), mapPixels(img, (v) => v * 0.5)];
    const many = Array.from({ length: 40 }, (_, i) => faces[i % faces.length]!); // 40 > one chunk of 32
    const batch = await model.predict(many);
    const singles = [];
    for (const f of faces) singles.push((await model.predict([f]))[0]!);
    expect(batch).toHaveLength(40);
    for (let i = 0; i < 40; i++) expect(maxAbsDiff(batch[i]!, singles[i % faces.length]!)).toBeLessThan(1e-6);
  });

  it('rejects malformed images and use after dispose', async () => {
    await expect(model.predict([{ width: 10, height: 10, data: new Uint8Array(10) }])).rejects.toThrow(/face 1: 10 bytes for a 10x10/);
    const m = await loadProxyEmotion();
    m.dispose();
    await expect(m.predict([img])).rejects.toThrow(/disposed/);
  });

  it('no tensor leak: predict, predictTensor, load + dispose, and an error mid-batch', async () => {
    await model.predict([img]); // warm
    for (let i = 0; i < 3; i++) await expectNoLeak(() => model.predict([img, noise(30, 20, i)]));
    await expectNoLeak(() => {
      const x = tf.zeros([2, 50, 50, 3]) as tf.Tensor4D;
      const p = model.predictTensor(x);
      expect(p.shape).toEqual([2, 7]);
      tf.dispose([x, p]);
    });
    await expectNoLeak(async () => (await loadProxyEmotion()).dispose());
    await expectNoLeak(() => expect(model.predict([img, { width: 2, height: 2, data: new Uint8Array(3) }])).rejects.toThrow(/face 2/));
  });
});

describe('mapClasses', () => {
  const fer = FER2013_CLASSES; // angry 0, disgust 1, fear 2, happy 3, sad 4, surprise 5, neutral 6

  it('AffectNet (8 classes): contempt is unavailable', () => {
    expect([...AFFECTNET_CLASSES]).toEqual(['Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger', 'Contempt']);
    expect(mapClasses(fer, AFFECTNET_CLASSES)).toEqual({ mapping: [6, 3, 4, 5, 2, 1, 0, null], unavailable: ['Contempt'] });
  });

  it('CK+ (7 classes incl. contempt)', () => {
    expect([...CKPLUS_CLASSES]).toEqual(['anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise']);
    expect(mapClasses(fer, CKPLUS_CLASSES)).toEqual({ mapping: [0, null, 1, 2, 3, 4, 5], unavailable: ['contempt'] });
  });

  it('FACES (6 classes): all available', () => {
    expect([...FACES_CLASSES]).toEqual(['anger', 'disgust', 'fear', 'happy', 'neutral', 'sad']);
    expect(mapClasses(fer, FACES_CLASSES)).toEqual({ mapping: [0, 1, 2, 3, 6, 4], unavailable: [] });
  });

  it('synonyms, case, unknown names, a model that has contempt, ambiguous model classes', () => {
    expect(mapClasses(fer, ['HAPPINESS', 'Afraid', 'fearful', 'Surprised', 'Disgusted', 'Neutrality', 'Angry', ' sad '])).toEqual({ mapping: [3, 2, 2, 5, 1, 6, 0, 4], unavailable: [] });
    expect(mapClasses(fer, ['boredom', 'contempt'])).toEqual({ mapping: [null, null], unavailable: ['boredom', 'contempt'] });
    // e.g. a user's 8-class AffectNet ConvNeXt: contempt maps by name
    expect(mapClasses(['anger', 'contempt', 'disgust', 'fear', 'happiness', 'neutral', 'sadness', 'surprise'], AFFECTNET_CLASSES))
      .toEqual({ mapping: [5, 4, 6, 7, 3, 2, 0, 1], unavailable: [] });
    expect(() => mapClasses(['angry', 'Anger'], ['anger'])).toThrow(/mean the same emotion/);
  });
});
