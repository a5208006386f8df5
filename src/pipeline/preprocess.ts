/**
 * `ganon preprocess`: a dataset through stages 1-5 (detect, align + crop,
 * letterbox, landmarks) into the layout training and evaluation read:
 *   OUT/manifest.arrow   one row per face (or per file without a face / with an error)
 *   OUT/faces/<id>.png   the S x S aligned face
 *   OUT/landmarks/<id>.png  (--write-landmark-images) its rendered landmark image
 * Resumable: sources that already have rows are skipped; the manifest is
 * rewritten atomically every `flushEvery` files, so a killed run loses at most
 * the files since the last flush (their faces are rewritten under the same ids)
 * and never leaves duplicate rows or half-written files. Sharding (`i/n`)
 * splits the item list by index; `mergeShards` joins shard outputs.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, InputError } from '../errors.js';
import { decodeImage, writePng } from '../io/images.js';
import { readManifest, writeManifest, type ManifestRow } from '../io/manifest.js';
import type { DatasetItem } from './datasets/types.js';
import { extractFaces, type FaceOptions } from './faces.js';
import { segmentFace } from './segment.js';
import { renderLandmarks } from './render.js';

export interface PreprocessOptions {
  face: FaceOptions;
  /** Process only items with index % count === index (0-based). */
  shard?: { index: number; count: number };
  flushEvery: number;
  /** Largest accepted image, in pixels (bigger files get an error row). */
  maxPixels: number;
  /** Zero the background outside the head (training data, as the paper; src/pipeline/segment.ts). */
  segment?: boolean;
  /** Also write OUT/landmarks/<id>.png, the rendered landmark image (all black for a face without points). */
  writeLandmarkImages?: boolean;
}

export interface PreprocessSummary { files: number; done: number; skipped: number; faces: number; noFace: number; errors: number }

/**
 * A file-system-safe id from a source path and face index: `dir/a b.jpg`, face
 * 0 -> `dir_a_b_jpg-0`. When sanitising loses information (another character
 * than '/' or the extension dot replaced), a short hash of the source keeps ids unique.
 */
export function faceId(source: string, faceIndex: number | 'none'): string {
  const withExt = source.replace(/\.([^./]+)$/, '_$1');
  const safe = withExt.replace(/\//g, '_').replace(/[^A-Za-z0-9_-]+/g, '_');
  const lossless = withExt.replace(/\//g, '_') === safe && !source.includes('_');
  const suffix = lossless ? '' : `~${createHash('sha1').update(source).digest('hex').slice(0, 8)}`;
  return `${safe}${suffix}-${faceIndex === 'none' ? 'none' : faceIndex}`;
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new InputError(`--shard must be i/n with 0 <= i < n (got '${text}')`);
  return { index, count };
}

export async function preprocessItems(items: DatasetItem[], outDir: string, opts: PreprocessOptions, onFile?: (done: number, total: number, rows: ManifestRow[]) => void): Promise<PreprocessSummary> {
  mkdirSync(join(outDir, 'faces'), { recursive: true });
  if (opts.writeLandmarkImages) mkdirSync(join(outDir, 'landmarks'), { recursive: true });
  const manifestPath = join(outDir, 'manifest.arrow');
  const rows: ManifestRow[] = existsSync(manifestPath) ? readManifest(manifestPath) : [];
  const seen = new Set(rows.map((r) => r.source));
  const mine = items.filter((_, i) => !opts.shard || i % opts.shard.count === opts.shard.index);
  const summary: PreprocessSummary = { files: mine.length, done: 0, skipped: 0, faces: 0, noFace: 0, errors: 0 };
  let sinceFlush = 0;
  for (const [k, item] of mine.entries()) {
    if (seen.has(item.source)) {
      summary.skipped++;
      continue;
    }
    const fileRows = await processItem(item, outDir, opts);
    rows.push(...fileRows);
    seen.add(item.source);
    summary.done++;
    for (const r of fileRows) {
      if (r.status === 'ok') summary.faces++;
      else if (r.status === 'no_face') summary.noFace++;
      else summary.errors++;
    }
    onFile?.(k + 1, mine.length, fileRows);
    if (++sinceFlush >= opts.flushEvery) {
      await writeManifest(manifestPath, rows);
      sinceFlush = 0;
    }
  }
  await writeManifest(manifestPath, rows);
  return summary;
}

async function processItem(item: DatasetItem, outDir: string, opts: PreprocessOptions): Promise<ManifestRow[]> {
  const base = { source: item.source, split: item.split, labels: JSON.stringify(item.labels ?? {}), angle: 0, score: 0, box: null, landmarks: null };
  try {
    const img = await decodeImage(item.absPath, item.source);
    if (img.width * img.height > opts.maxPixels) {
      throw new InputError(`'${item.source}' is ${img.width}x${img.height}, above the ${opts.maxPixels}-pixel limit`);
    }
    const faces = await extractFaces(img, opts.face);
    if (faces.length === 0) return [{ ...base, id: faceId(item.source, 'none'), faceIndex: -1, status: 'no_face', message: 'no face found' }];
    const out: ManifestRow[] = [];
    for (const f of faces) {
      const id = faceId(item.source, f.faceIndex);
      const image = opts.segment ? (await segmentFace(f.image, f.landmarks)).image : f.image;
      await writePng(join(outDir, 'faces', `${id}.png`), image);
      if (opts.writeLandmarkImages) await writePng(join(outDir, 'landmarks', `${id}.png`), renderLandmarks(f.landmarks ?? new Float32Array(0), image.width));
      out.push({
        ...base, id, faceIndex: f.faceIndex, box: f.box, angle: f.angle, score: f.score, landmarks: f.landmarks,
        status: 'ok', message: f.landmarks === null ? 'no mesh on the crop' : f.landmarkSource === 'original' ? 'landmarks mapped from the full image' : '',
      });
    }
    return out;
  } catch (e) {
    return [{ ...base, id: faceId(item.source, 'none'), faceIndex: -1, status: 'error', message: (e as Error).message }];
  }
}

/** Joins shard outputs into `outDir`: faces hard-linked (copied across devices), rows de-duplicated by id. */
export async function mergeShards(shardDirs: string[], outDir: string): Promise<{ rows: number; faces: number }> {
  mkdirSync(join(outDir, 'faces'), { recursive: true });
  const existing = existsSync(join(outDir, 'manifest.arrow')) ? readManifest(join(outDir, 'manifest.arrow')) : [];
  const byId = new Map(existing.map((r) => [r.id, r]));
  let faces = 0;
  for (const dir of shardDirs) {
    const m = join(dir, 'manifest.arrow');
    if (!existsSync(m)) throw new DatasetError(`'${dir}' has no manifest.arrow (not a preprocess output)`);
    for (const r of readManifest(m)) {
      if (byId.has(r.id)) continue;
      byId.set(r.id, r);
      if (r.status !== 'ok') continue;
      for (const sub of ['faces', 'landmarks']) {
        const src = join(dir, sub, `${r.id}.png`);
        const dst = join(outDir, sub, `${r.id}.png`);
        if (existsSync(dst) || !existsSync(src)) continue;
        mkdirSync(join(outDir, sub), { recursive: true });
        try {
          linkSync(src, dst);
        } catch {
          copyFileSync(src, dst);
        }
      }
      faces++;
    }
  }
  const rows = [...byId.values()].sort((a, b) => (a.source === b.source ? a.faceIndex - b.faceIndex : a.source < b.source ? -1 : 1));
  await writeManifest(join(outDir, 'manifest.arrow'), rows);
  return { rows: rows.length, faces };
}
