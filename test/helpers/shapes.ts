/**
 * Tiny synthetic image-classification sets written as PNGs: coloured shapes on
 * noisy backgrounds, random position and size. Class c is a fixed (shape, colour).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePng, type RgbImage } from '../../src/io/images.js';
import { Rng } from '../../src/util/rng.js';

export const SHAPE_CLASSES = ['circle', 'square', 'stripe'] as const;
const COLOURS: [number, number, number][] = [[220, 40, 40], [40, 200, 60], [50, 80, 230]];

/** One image: background noise, plus the optional shapes drawn. */
export function shapeImage(rng: Rng, size: number, draw: { circle?: boolean; square?: boolean; stripe?: boolean }, colourOf = COLOURS): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = 90 + Math.floor(rng.uniform() * 60);
  const put = (x: number, y: number, c: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= size || y >= size) return;
    data.set(c, (y * size + x) * 3);
  };
  const r = Math.floor(size * (0.15 + rng.uniform() * 0.1));
  const cx = Math.floor(r + rng.uniform() * (size - 2 * r));
  const cy = Math.floor(r + rng.uniform() * (size - 2 * r));
  if (draw.circle) for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) if (x * x + y * y <= r * r) put(cx + x, cy + y, colourOf[0]!);
  if (draw.square) {
    const sx = Math.floor(rng.uniform() * (size - 2 * r));
    const sy = Math.floor(rng.uniform() * (size - 2 * r));
    for (let y = 0; y < 2 * r; y++) for (let x = 0; x < 2 * r; x++) put(sx + x, sy + y, colourOf[1]!);
  }
  if (draw.stripe) {
    const t = Math.max(4, Math.round(size / 5));
    const y0 = Math.floor(size * 0.1 + rng.uniform() * (size * 0.8 - t));
    for (let y = y0; y < y0 + t; y++) for (let x = 0; x < size; x++) put(x, y, colourOf[2]!);
  }
  return { width: size, height: size, data };
}

/** ImageFolder layout root/{train,val}/{circle,square,stripe}/i.png. */
export async function writeShapesImageFolder(root: string, perClass: { train: number; val: number }, size = 40, seed = 1): Promise<void> {
  const rng = new Rng(seed);
  for (const split of ['train', 'val'] as const) {
    for (const cls of SHAPE_CLASSES) {
      const dir = join(root, split, cls);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass[split]; i++) await writePng(join(dir, `${i}.png`), shapeImage(rng, size, { [cls]: true }));
    }
  }
}
