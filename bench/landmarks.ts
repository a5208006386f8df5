/**
 * `npm run bench:landmarks [-- --faces N --rounds R --backend B]`: faces per second of
 * the two landmark backends (src/pipeline/landmarks.ts) on astronaut.png at 512 px,
 * single process, after a warm-up, in R rounds that alternate the backends (medians):
 *   stage5      the mesh alone on the letterboxed crop, one call per face
 *   stage5x8    mediapipe only: 8 crops per call (one round trip to Chromium)
 *   preprocess  extractFaces end to end (detect + align + letterbox + mesh on the crop)
 * plus mediapipe's start-up (Chromium launch, page, model) and the points'
 * difference on the crop. Prints JSON.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { decodeImage } from '../src/io/images.js';
import { DEFAULT_FACE_OPTIONS, extractFaces } from '../src/pipeline/faces.js';
import { embeddedLandmarker, openLandmarker, type Landmarker } from '../src/pipeline/landmarks.js';

const args = await yargs(hideBin(process.argv))
  .option('backend', { type: 'string' }).option('faces', { type: 'number', default: 8 }).option('rounds', { type: 'number', default: 3 }).strict().parseAsync();
const info = await initBackend(args.backend);
const img = await decodeImage('test/.cache/astronaut.png');
const [face] = await extractFaces(img, DEFAULT_FACE_OPTIONS); // warm-up of the embedded models
const crop = face!.image;
const perSec = (n: number, t0: number) => +(n / ((performance.now() - t0) / 1000)).toFixed(2);

const embedded = embeddedLandmarker(DEFAULT_FACE_OPTIONS.detect);
const t0 = performance.now();
const mp = await openLandmarker('mediapipe');
const startSeconds = +((performance.now() - t0) / 1000).toFixed(2);
const median = (v: number[]) => +[...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!.toFixed(2);

/** One round of each measurement for one backend. */
async function round(l: Landmarker): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let t = performance.now();
  for (let i = 0; i < args.faces; i++) await l.landmarks([crop]);
  out.stage5 = perSec(args.faces, t);
  if (l.name === 'mediapipe') {
    t = performance.now();
    for (let i = 0; i < args.faces; i += 8) await l.landmarks(Array.from({ length: 8 }, () => crop));
    out.stage5x8 = perSec(Math.ceil(args.faces / 8) * 8, t);
  }
  t = performance.now();
  for (let i = 0; i < args.faces; i++) await extractFaces(img, { ...DEFAULT_FACE_OPTIONS, landmarker: l });
  out.preprocess = perSec(args.faces, t);
  return out;
}

// Rounds alternate between the backends, so that load from other processes hits both alike; medians are reported.
const rounds: { embedded: Record<string, number>; mediapipe: Record<string, number> }[] = [];
let emb: Float32Array | null | undefined;
let med: Float32Array | null | undefined;
try {
  for (const l of [embedded, mp]) await round(l); // warm-up
  for (let r = 0; r < args.rounds; r++) rounds.push({ embedded: await round(embedded), mediapipe: await round(mp) });
  [emb] = await embedded.landmarks([crop]);
  [med] = await mp.landmarks([crop]);
} finally {
  await mp.close();
}
const pick = (b: 'embedded' | 'mediapipe', k: string) => median(rounds.map((r) => r[b][k]!));
const d = Array.from({ length: 478 }, (_, i) => Math.hypot((emb![i * 3]! - med![i * 3]!) * 512, (emb![i * 3 + 1]! - med![i * 3 + 1]!) * 512));
const stats = (v: number[]) => ({ mean: +(v.reduce((s, x) => s + x, 0) / v.length).toFixed(2), max: +Math.max(...v).toFixed(2) });
console.log(JSON.stringify({
  backend: info.name, imageSize: 512, faces: args.faces, rounds: args.rounds,
  embedded: { stage5FacesPerSec: pick('embedded', 'stage5'), preprocessFacesPerSec: pick('embedded', 'preprocess') },
  mediapipe: { startSeconds, stage5FacesPerSec: pick('mediapipe', 'stage5'), stage5Batch8FacesPerSec: pick('mediapipe', 'stage5x8'), preprocessFacesPerSec: pick('mediapipe', 'preprocess') },
  diffPx512: { mesh: stats(d.slice(0, 468)), iris: stats(d.slice(468)) },
}));
