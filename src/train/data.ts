/**
 * Paired training data: (landmark image, face) per example, as float32 in
 * [-1, 1], NHWC, decoded ahead of compute (sharp decodes on libuv threads while
 * the model runs). Two layouts:
 * - manifest: `ganon preprocess` output, `manifest.arrow` + `faces/<id>.png`;
 *   landmark images are rendered from the manifest on the fly.
 * - side-by-side: the authors' layout, `train/` and `val/` folders of 2S x S
 *   images, face on the left and landmark image on the right.
 * Only the train split is trained on; val feeds the sample grid; test is never read.
 * A file that cannot be decoded or has the wrong size is skipped and reported;
 * it never stops an epoch.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, InputError } from '../errors.js';
import { crop, decodeImage, toUnitRange, type RgbImage } from '../io/images.js';
import { readManifest } from '../io/manifest.js';
import { renderLandmarks } from '../pipeline/render.js';
import { Rng } from '../util/rng.js';

export interface PairSource {
  id: string;
  /** Decodes the pair; throws InputError naming the file when it cannot. */
  load(): Promise<{ face: RgbImage; cond: RgbImage }>;
}

export interface PairedDataset {
  layout: 'manifest' | 'side-by-side';
  root: string;
  train: PairSource[];
  val: PairSource[];
}

const IMAGE_EXT = /\.(png|jpe?g|webp|bmp|tiff?)$/i;

export function openPairedDataset(root: string, layout: 'auto' | 'manifest' | 'side-by-side', size: number, includeNoFace: boolean): PairedDataset {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DatasetError(`dataset directory '${root}' does not exist`);
  const manifest = join(root, 'manifest.arrow');
  const resolved = layout !== 'auto' ? layout : existsSync(manifest) ? 'manifest' : existsSync(join(root, 'train')) ? 'side-by-side' : null;
  if (resolved === null) {
    throw new DatasetError(`'${root}' is not a paired dataset: expected manifest.arrow (ganon preprocess output) or a train/ folder of 2Sx S side-by-side images`);
  }
  const ds = resolved === 'manifest' ? manifestDataset(root, size, includeNoFace) : sideBySideDataset(root, size);
  if (ds.train.length === 0) throw new DatasetError(`dataset '${root}' has no training examples (${resolved} layout, split 'train')`);
  return ds;
}

function manifestDataset(root: string, size: number, includeNoFace: boolean): PairedDataset {
  const rows = readManifest(join(root, 'manifest.arrow'));
  const black: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3) };
  const source = (r: (typeof rows)[number]): PairSource => ({
    id: r.id,
    async load() {
      const file = join(root, 'faces', `${r.id}.png`);
      const face = await decodeImage(file);
      checkSize(face, size, size, file);
      return { face, cond: r.landmarks ? renderLandmarks(r.landmarks, size) : black };
    },
  });
  const usable = rows.filter((r) => r.status === 'ok' && (r.landmarks !== null || includeNoFace));
  return {
    layout: 'manifest',
    root,
    train: usable.filter((r) => r.split === 'train').map(source),
    val: usable.filter((r) => r.split === 'val').map(source),
  };
}

function sideBySideDataset(root: string, size: number): PairedDataset {
  const list = (split: string): PairSource[] => {
    const dir = join(root, split);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => IMAGE_EXT.test(f)).sort().map((f) => ({
      id: `${split}/${f}`,
      async load() {
        const file = join(dir, f);
        const img = await decodeImage(file);
        checkSize(img, 2 * size, size, file);
        return { face: crop(img, 0, 0, size, size), cond: crop(img, size, 0, size, size) };
      },
    }));
  };
  return { layout: 'side-by-side', root, train: list('train'), val: list('val') };
}

function checkSize(img: RgbImage, w: number, h: number, file: string): void {
  if (img.width !== w || img.height !== h) {
    throw new InputError(`'${file}' is ${img.width}x${img.height}, expected ${w}x${h} (imageSize must match the preprocessed data)`);
  }
}

/**
 * Checks the first decodable training example against imageSize, so a dataset
 * preprocessed at another size fails at once with one line, not mid-epoch.
 */
export async function checkDatasetSize(ds: PairedDataset, size: number): Promise<void> {
  for (const s of ds.train.slice(0, 5)) {
    try {
      await s.load();
      return;
    } catch (e) {
      const msg = (e as Error).message;
      if (/is \d+x\d+, expected/.test(msg)) throw new DatasetError(`${msg}; preprocess at ${size} or set imageSize to the data's size`);
    }
  }
}

export interface Batch {
  epoch: number;
  /** Position in the epoch's permutation just after this batch. */
  endPos: number;
  epochEnd: boolean;
  ids: string[];
  /** [n, S, S, 3] in [-1, 1]. */
  cond: Float32Array;
  face: Float32Array;
  n: number;
  skipped: { id: string; message: string }[];
}

/** The example order of an epoch: a permutation seeded by (seed, epoch) only, so resume is exact. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return new Rng((seed * 1_000_003 + epoch * 7919 + 17) >>> 0).permutation(n);
}

/**
 * Batches from (epoch, pos) on, forever (epochs continue); the loop decides when to stop.
 * Corrupt items are skipped and reported with the batch.
 */
export async function* batches(items: PairSource[], batchSize: number, size: number, seed: number, epoch: number, pos: number): AsyncGenerator<Batch> {
  for (;;) {
    const order = epochOrder(items.length, seed, epoch);
    while (pos < order.length) {
      const picked: { id: string; face: RgbImage; cond: RgbImage }[] = [];
      const skipped: { id: string; message: string }[] = [];
      while (picked.length < batchSize && pos < order.length) {
        const want = Math.min(batchSize - picked.length, order.length - pos);
        const chunk = order.slice(pos, pos + want).map((i) => items[i]!);
        pos += want;
        const loaded = await Promise.allSettled(chunk.map((s) => s.load()));
        loaded.forEach((r, k) => {
          const id = chunk[k]!.id;
          if (r.status === 'fulfilled') picked.push({ id, ...r.value });
          else skipped.push({ id, message: (r.reason as Error).message });
        });
      }
      const n = picked.length;
      const px = size * size * 3;
      const cond = new Float32Array(n * px);
      const face = new Float32Array(n * px);
      picked.forEach((p, k) => {
        toUnitRange(p.cond.data, cond, k * px);
        toUnitRange(p.face.data, face, k * px);
      });
      yield { epoch, endPos: pos, epochEnd: pos >= order.length, ids: picked.map((p) => p.id), cond, face, n, skipped };
    }
    epoch += 1;
    pos = 0;
  }
}

/** Keeps `depth` batches decoding ahead of the consumer. */
export async function* prefetch<T>(gen: AsyncGenerator<T>, depth: number): AsyncGenerator<T> {
  const queue: Promise<IteratorResult<T>>[] = [];
  for (let i = 0; i < depth; i++) queue.push(gen.next());
  for (;;) {
    const r = await queue.shift()!;
    if (r.done) return;
    queue.push(gen.next());
    yield r.value;
  }
}

/** Loads up to n validation pairs (train pairs when there is no val split) for sample grids. */
export async function loadSamples(ds: PairedDataset, n: number): Promise<{ ids: string[]; face: RgbImage[]; cond: RgbImage[] }> {
  const pool = ds.val.length > 0 ? ds.val : ds.train;
  const out = { ids: [] as string[], face: [] as RgbImage[], cond: [] as RgbImage[] };
  for (const s of pool) {
    if (out.ids.length >= n) break;
    try {
      const p = await s.load();
      out.ids.push(s.id);
      out.face.push(p.face);
      out.cond.push(p.cond);
    } catch {
      // skipped: reported when the training batches meet it
    }
  }
  return out;
}
