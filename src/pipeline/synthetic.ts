/**
 * A synthetic paired dataset in the preprocessed layout (manifest.arrow +
 * faces/<id>.png): cartoon faces on black whose 478 landmarks are sampled from
 * the same parametric shapes that draw the face (oval, eyes + irises, brows,
 * nose, lips), so the landmark -> face mapping is learnable. It exercises the
 * real training path in the demo and tests without any real photo.
 * NOT a face dataset: nothing here resembles a person.
 */
import { join } from 'node:path';
import { writeManifest, type ManifestRow, type Split } from '../io/manifest.js';
import { writePng } from '../io/images.js';
import { Rng } from '../util/rng.js';
import { NUM_LANDMARKS } from './render.js';

interface FaceParams {
  cx: number; cy: number; a: number; b: number; tilt: number;
  eye: number; mouth: number; smile: number; brow: number;
  skin: [number, number, number]; iris: [number, number, number]; lip: [number, number, number];
}

const SKINS: [number, number, number][] = [[236, 188, 150], [198, 134, 96], [141, 85, 54], [255, 219, 172], [224, 172, 105]];
const IRISES: [number, number, number][] = [[70, 50, 30], [40, 90, 140], [60, 110, 60]];

function sampleParams(rng: Rng): FaceParams {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
  return {
    cx: u(0.46, 0.54), cy: u(0.47, 0.53), a: u(0.27, 0.33), b: u(0.35, 0.41), tilt: u(-0.15, 0.15),
    eye: u(0.012, 0.035), mouth: u(0.0, 0.07), smile: u(-0.04, 0.05), brow: u(-0.02, 0.02),
    skin: SKINS[rng.nextU32() % SKINS.length]!, iris: IRISES[rng.nextU32() % IRISES.length]!,
    lip: [u(150, 200), u(60, 90), u(70, 100)],
  };
}

/** Face-local (u, v) in units of the face half-axes -> normalised image coords. */
function toImage(p: FaceParams, u: number, v: number): [number, number] {
  const x = u * p.a;
  const y = v * p.b;
  const c = Math.cos(p.tilt);
  const s = Math.sin(p.tilt);
  return [p.cx + c * x - s * y, p.cy + s * x + c * y];
}

/** Named shapes in face-local coordinates, each a closed or open curve. */
function shapes(p: FaceParams) {
  const eyeW = 0.22;
  const mouthW = 0.38 + p.smile;
  return {
    oval: (t: number): [number, number] => [Math.cos(t), Math.sin(t)],
    eyeL: (t: number): [number, number] => [-0.38 + eyeW * Math.cos(t), -0.2 + (p.eye / p.b) * 2.5 * Math.sin(t)],
    eyeR: (t: number): [number, number] => [0.38 + eyeW * Math.cos(t), -0.2 + (p.eye / p.b) * 2.5 * Math.sin(t)],
    browL: (t: number): [number, number] => [-0.38 + 0.28 * Math.cos(t / 2 + Math.PI / 2) * -1, -0.42 + p.brow * 4 - 0.05 * Math.sin(t / 2)],
    browR: (t: number): [number, number] => [0.38 + 0.28 * Math.cos(t / 2 + Math.PI / 2), -0.42 + p.brow * 4 - 0.05 * Math.sin(t / 2)],
    lipOuter: (t: number): [number, number] => [mouthW * Math.cos(t), 0.5 - p.smile * 2 * Math.cos(t) ** 2 + (0.07 + p.mouth * 2) * Math.sin(t)],
    lipInner: (t: number): [number, number] => [0.8 * mouthW * Math.cos(t), 0.5 - p.smile * 2 * Math.cos(t) ** 2 + p.mouth * 2 * Math.sin(t)],
    nose: (t: number): [number, number] => [0.08 * Math.sin(t), 0.25 * (t / Math.PI) - 0.1],
  };
}

/** 478 landmarks (x, y, z), normalised; z is a plausible depth (ignored by rendering). */
export function syntheticLandmarks(p: FaceParams): Float32Array {
  const sh = shapes(p);
  const pts: [number, number][] = [];
  const ring = (f: (t: number) => [number, number], n: number, span = 2 * Math.PI) => {
    for (let i = 0; i < n; i++) pts.push(f((span * i) / n));
  };
  ring(sh.oval, 180);
  ring(sh.eyeL, 40);
  ring(sh.eyeR, 40);
  ring(sh.browL, 20, 2 * Math.PI);
  ring(sh.browR, 20, 2 * Math.PI);
  ring(sh.lipOuter, 60);
  ring(sh.lipInner, 40);
  ring(sh.nose, 30, Math.PI);
  // interior grid points (cheeks, forehead) until 468
  for (let k = 0; pts.length < 468; k++) {
    const r = 0.35 + 0.5 * ((k * 0.618) % 1);
    const t = k * 2.399963;
    pts.push([r * Math.cos(t), r * Math.sin(t)]);
  }
  // 10 iris points (centre + 4 around), left then right, as MediaPipe appends them
  for (const ex of [-0.38, 0.38]) {
    const rr = Math.min(0.06, (p.eye / p.b) * 2.2);
    pts.push([ex, -0.2]);
    for (let i = 0; i < 4; i++) pts.push([ex + rr * Math.cos((i * Math.PI) / 2), -0.2 + rr * Math.sin((i * Math.PI) / 2)]);
  }
  const out = new Float32Array(NUM_LANDMARKS * 3);
  pts.slice(0, NUM_LANDMARKS).forEach(([u, v], i) => {
    const [x, y] = toImage(p, u, v);
    out[i * 3] = x;
    out[i * 3 + 1] = y;
    out[i * 3 + 2] = -0.05 * Math.max(0, 1 - u * u - v * v);
  });
  return out;
}

/** Draws the face the landmarks describe. RGB uint8, size x size. */
export function syntheticFace(p: FaceParams, size: number): Uint8Array {
  const img = new Uint8Array(size * size * 3);
  const c = Math.cos(-p.tilt);
  const s = Math.sin(-p.tilt);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const dx = (px + 0.5) / size - p.cx;
      const dy = (py + 0.5) / size - p.cy;
      const u = (c * dx - s * dy) / p.a;
      const v = (s * dx + c * dy) / p.b;
      const r2 = u * u + v * v;
      if (r2 > 1) continue;
      const shade = 0.75 + 0.25 * (1 - r2) - 0.1 * v;
      let col: [number, number, number] = [p.skin[0] * shade, p.skin[1] * shade, p.skin[2] * shade];
      const eh = (p.eye / p.b) * 2.5;
      for (const ex of [-0.38, 0.38]) {
        const eu = (u - ex) / 0.22;
        const ev = (v + 0.2) / eh;
        if (eu * eu + ev * ev <= 1) {
          const ir: [number, number, number] = Math.hypot(u - ex, (v + 0.2) * (p.b / p.a)) < Math.min(0.09, eh * 0.9) ? p.iris : [240, 240, 235];
          col = [ir[0], ir[1], ir[2]];
        }
        const bv = -0.42 + p.brow * 4;
        if (Math.abs(u - ex) < 0.27 && Math.abs(v - bv + 0.03 * Math.cos(((u - ex) / 0.27) * Math.PI / 2)) < 0.03) col = [60, 40, 30];
      }
      const mouthW = 0.38 + p.smile;
      const mv = v - 0.5 + p.smile * 2 * (u / mouthW) ** 2;
      const outer = (u / mouthW) ** 2 + (mv / (0.07 + p.mouth * 2)) ** 2 <= 1;
      const inner = p.mouth > 0.005 && (u / (0.8 * mouthW)) ** 2 + (mv / (p.mouth * 2)) ** 2 <= 1;
      if (outer) col = inner ? [50, 15, 20] : p.lip;
      if (Math.abs(u) < 0.06 && v > -0.1 && v < 0.15) col = [col[0] * 0.85, col[1] * 0.85, col[2] * 0.85];
      const o = (py * size + px) * 3;
      img[o] = Math.min(255, col[0]);
      img[o + 1] = Math.min(255, col[1]);
      img[o + 2] = Math.min(255, col[2]);
    }
  }
  return img;
}

export interface SyntheticOptions { count: number; size: number; seed: number }

/** Writes the dataset to `dir` (faces/*.png + manifest.arrow). Returns the rows. */
export async function writeSyntheticDataset(dir: string, opts: SyntheticOptions): Promise<ManifestRow[]> {
  const rng = new Rng(opts.seed);
  const rows: ManifestRow[] = [];
  for (let i = 0; i < opts.count; i++) {
    const p = sampleParams(rng);
    const id = `synthetic-${String(i).padStart(5, '0')}`;
    const r = i % 10;
    const split: Split = r === 8 ? 'val' : r === 9 ? 'test' : 'train';
    await writePng(join(dir, 'faces', `${id}.png`), { width: opts.size, height: opts.size, data: syntheticFace(p, opts.size) });
    rows.push({
      id, source: `synthetic/${id}`, split, labels: '', faceIndex: 0, box: [0, 0, opts.size, opts.size],
      angle: p.tilt, score: 1, status: 'ok', message: '', landmarks: syntheticLandmarks(p),
    });
  }
  await writeManifest(join(dir, 'manifest.arrow'), rows);
  return rows;
}
