/**
 * Face detection (BlazeFace) and the 478-point mesh (FaceMesh + Iris) from the
 * model files shipped inside the `@vladmandic/human` npm package, run through
 * Human's own node-wasm build on this process's tfjs engine. Models load from
 * local files only (src/io/models.ts); every remote default of Human is
 * overridden. These are MediaPipe's models; Human's iris groups are put back in
 * MediaPipe's order (468-472 right iris, 473-477 left) here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { registerFileModelLoader } from '../io/models.js';
import { NUM_LANDMARKS } from './render.js';

const require = createRequire(import.meta.url);

export interface DetectConfig {
  /** Minimum detector score (0..1). */
  minScore: number;
  /** Most faces per image. */
  maxFaces: number;
}

export const DEFAULT_DETECT: DetectConfig = { minScore: 0.5, maxFaces: 20 };

export interface DetectedFace {
  /** [x, y, w, h] in image pixels. */
  box: [number, number, number, number];
  score: number;
  /** 478 x (x, y, z): x, y in image pixels, MediaPipe order. */
  mesh: Float32Array;
}

/** Where the detector alone finds a face: its box and BlazeFace's two eye keypoints. */
export interface DetectedBox {
  /** [x, y, w, h] in image pixels (BlazeFace's box enlarged x1.4 and squared, as Human returns it). */
  box: [number, number, number, number];
  score: number;
  /** The subject's right eye (image left, MediaPipe's 468 side) and left eye, image pixels. */
  rightEye: [number, number];
  leftEye: [number, number];
}

interface HumanFace { box: number[]; score: number; boxScore: number; mesh: number[][] }
interface HumanLike {
  load(): Promise<void>;
  detect(input: tf.Tensor, config?: unknown): Promise<{ face: HumanFace[]; error?: string | null }>;
}

let instance: Promise<HumanLike> | null = null;

/** The installed `@vladmandic/human` package's folder. */
export function humanDir(): string {
  try {
    return dirname(dirname(require.resolve('@vladmandic/human')));
  } catch {
    throw new ModelLoadError("the '@vladmandic/human' package is not installed (run npm ci)");
  }
}

/** A model file shipped in `@vladmandic/human/models/` (e.g. 'faceres.json'). */
export function humanModelPath(file: string): string {
  return join(humanDir(), 'models', file);
}

/** The shared Human instance (models loaded once per process). */
export function getHuman(detect: DetectConfig = DEFAULT_DETECT): Promise<HumanLike> {
  if (instance === null) {
    instance = (async () => {
      registerFileModelLoader();
      const dir = humanDir();
      const mod = require(join(dir, 'dist', 'human.node-wasm.js')) as { Human: new (cfg: unknown) => HumanLike };
      const human = new mod.Human({
        backend: tf.getBackend(),
        wasmPath: `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`,
        modelBasePath: `file://${join(dir, 'models')}/`,
        debug: false, async: false, warmup: 'none', cacheSensitivity: 0, filter: { enabled: false },
        face: {
          enabled: true,
          detector: { rotation: true, maxDetected: detect.maxFaces, minConfidence: detect.minScore, return: false, skipFrames: 0 },
          mesh: { enabled: true }, iris: { enabled: true }, attention: { enabled: false }, emotion: { enabled: false },
          description: { enabled: false }, antispoof: { enabled: false }, liveness: { enabled: false }, gear: { enabled: false },
        },
        body: { enabled: false }, hand: { enabled: false }, object: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false },
      });
      await human.load();
      return human;
    })();
  }
  return instance;
}

/**
 * Human's iris groups 468-472 and 473-477 are swapped relative to MediaPipe's,
 * and within the left iris (MediaPipe's 473-477; Human runs the iris model on
 * the mirrored eye) the two side points 474 and 476 are exchanged: measured
 * against MediaPipe itself on astronaut.png (about 30 px apart before, 1-2 px after).
 */
export function toMediaPipeOrder(mesh: number[][]): Float32Array {
  if (mesh.length !== NUM_LANDMARKS) throw new ModelLoadError(`face mesh returned ${mesh.length} points, expected ${NUM_LANDMARKS}`);
  const out = new Float32Array(NUM_LANDMARKS * 3);
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    const src = i === 474 ? 471 : i === 476 ? 469 : i >= 468 && i < 473 ? i + 5 : i >= 473 ? i - 5 : i;
    const p = mesh[src]!;
    out.set([p[0]!, p[1]!, p[2] ?? 0], i * 3);
  }
  return out;
}

/**
 * Human's detect() on an RGB image, with or without the mesh and iris (Human merges each
 * call's config into its own for good, so both are said every time).
 */
async function humanFaces(img: RgbImage, cfg: DetectConfig, mesh: boolean): Promise<HumanFace[]> {
  const human = await getHuman(cfg);
  const input = tf.tidy(() => tf.expandDims(tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'), 0));
  try {
    const res = await human.detect(input, {
      face: { detector: { maxDetected: cfg.maxFaces, minConfidence: cfg.minScore }, mesh: { enabled: mesh }, iris: { enabled: mesh } },
    });
    if (res.error) throw new Error(`face detection failed: ${res.error}`);
    return res.face.filter((f) => f.boxScore >= cfg.minScore);
  } finally {
    input.dispose();
  }
}

/** All faces in an RGB image with their 478-point meshes. */
export async function detectFaces(img: RgbImage, cfg: DetectConfig = DEFAULT_DETECT): Promise<DetectedFace[]> {
  return (await humanFaces(img, cfg, true))
    .filter((f) => f.mesh.length === NUM_LANDMARKS)
    .map((f) => ({ box: f.box.slice(0, 4) as [number, number, number, number], score: f.boxScore, mesh: toMediaPipeOrder(f.mesh) }));
}

/**
 * The detector alone (BlazeFace, no mesh): boxes and eye keypoints of all faces,
 * about 40 % cheaper than detectFaces. Stage 1 of the pipeline (src/pipeline/faces.ts):
 * the mesh is then run once, on the aligned crop.
 */
export async function detectBoxes(img: RgbImage, cfg: DetectConfig = DEFAULT_DETECT): Promise<DetectedBox[]> {
  // without the mesh Human returns BlazeFace's 6 keypoints: right eye, left eye, nose, mouth, right ear, left ear
  return (await humanFaces(img, cfg, false))
    .filter((f) => f.mesh.length >= 2)
    .map((f) => ({
      box: f.box.slice(0, 4) as [number, number, number, number],
      score: f.boxScore,
      rightEye: [f.mesh[0]![0]!, f.mesh[0]![1]!],
      leftEye: [f.mesh[1]![0]!, f.mesh[1]![1]!],
    }));
}
