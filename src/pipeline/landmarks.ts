/**
 * Stage 5's landmark backends, picked with `--landmarks`:
 *   embedded   Human's FaceMesh + Iris on this process's TF.js backend
 *              (src/pipeline/human.ts); needs nothing installed. Within about
 *              2 px of MediaPipe.
 *   mediapipe  MediaPipe itself in headless Chromium (src/pipeline/mediapipe.ts):
 *              the paper's points. Needs a system Chromium.
 * Both take S x S crops and return 478 x (x, y, z) per crop, x and y normalised
 * to the crop's width and height, in MediaPipe's order, or null where no face
 * is found. Detection and alignment (stages 1-2) always use the embedded models.
 */
import type { RgbImage } from '../io/images.js';
import { InputError } from '../errors.js';
import { DEFAULT_DETECT, detectFaces, type DetectConfig } from './human.js';
import { NUM_LANDMARKS } from './render.js';

export const LANDMARK_BACKENDS = ['embedded', 'mediapipe'] as const;
export type LandmarkBackendName = (typeof LANDMARK_BACKENDS)[number];

export interface Landmarker {
  readonly name: LandmarkBackendName;
  /** One line for the log: which model runs where. */
  readonly description: string;
  /** 478 x (x, y, z) per image, normalised to its width/height; null where no face is found. */
  landmarks(images: RgbImage[]): Promise<(Float32Array | null)[]>;
  /** Frees what the backend holds (the browser, for mediapipe). */
  close(): Promise<void>;
}

export interface LandmarkerOptions {
  detect?: DetectConfig;
  /** mediapipe only: a face_landmarker.task for @mediapipe/tasks-vision (else face_mesh's attention mesh). */
  mediapipeModel?: string;
}

/** Human's mesh on each crop (one face per crop); z divided by the width as x is. */
export function embeddedLandmarker(detect: DetectConfig = DEFAULT_DETECT): Landmarker {
  return {
    name: 'embedded',
    description: 'embedded (Human FaceMesh + Iris on TF.js)',
    async landmarks(images) {
      const out: (Float32Array | null)[] = [];
      for (const img of images) {
        const [f] = await detectFaces(img, { ...detect, maxFaces: 1 });
        if (!f) {
          out.push(null);
          continue;
        }
        const p = new Float32Array(NUM_LANDMARKS * 3);
        for (let i = 0; i < NUM_LANDMARKS; i++) {
          p[i * 3] = f.mesh[i * 3]! / img.width;
          p[i * 3 + 1] = f.mesh[i * 3 + 1]! / img.height;
          p[i * 3 + 2] = f.mesh[i * 3 + 2]! / img.width;
        }
        out.push(p);
      }
      return out;
    },
    async close() {},
  };
}

/** The backend by name; `mediapipe` starts Chromium (close() it when done). */
export async function openLandmarker(name: string, opts: LandmarkerOptions = {}): Promise<Landmarker> {
  if (name === 'embedded') {
    if (opts.mediapipeModel) throw new InputError('--mediapipe-model needs --landmarks mediapipe');
    return embeddedLandmarker(opts.detect);
  }
  if (name === 'mediapipe') {
    const { MediaPipeLandmarker } = await import('./mediapipe.js');
    return MediaPipeLandmarker.start({ modelPath: opts.mediapipeModel, minScore: 0.5 });
  }
  throw new InputError(`unknown landmark backend '${name}': expected ${LANDMARK_BACKENDS.join(' or ')}`);
}

/** The yargs options of every command that finds landmarks. */
export const LANDMARK_CLI_OPTIONS = {
  landmarks: {
    type: 'string', choices: LANDMARK_BACKENDS, default: 'embedded',
    describe: 'stage-5 landmarks: embedded (Human\'s mesh, nothing to install) or mediapipe (MediaPipe itself in headless Chromium: apt-get install chromium)',
  },
  'mediapipe-model': { type: 'string', describe: 'with --landmarks mediapipe: a face_landmarker.task for @mediapipe/tasks-vision (default: face_mesh 0.4.1633559619\'s attention mesh)' },
} as const;

/** Opens the backend, runs `fn` with it, and closes it whatever happens (no Chromium left behind). */
export async function withLandmarker<T>(name: string, opts: LandmarkerOptions, fn: (l: Landmarker) => Promise<T>, log?: (line: string) => void): Promise<T> {
  const l = await openLandmarker(name, opts);
  try {
    log?.(`landmarks: ${l.description}`);
    return await fn(l);
  } finally {
    await l.close();
  }
}
