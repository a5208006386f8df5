/**
 * `ganon anonymize`, crop mode (the paper's output): for every face in every
 * input image, align + crop + letterbox (no segmentation, as the reference's
 * inference), then replace it by the chosen method on that same crop:
 * GANonymization (478 landmarks -> rendered landmark image -> generator, eval
 * mode, output (y+1)/2) or a baseline. One S x S PNG per face, named
 * `{faceIndex}_{basename}` (the reference's naming, in the input's format) under the mirrored input tree, written atomically
 * without any metadata of the input. Every file gets a manifest row; a bad
 * file never stops the run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { InputError, ToolkitError } from '../errors.js';
import { writeFileAtomic } from '../io/fs.js';
import { decodeImage, encodeByExtension, writePng, type RgbImage } from '../io/images.js';
import { blur, mask, pixelate } from './baselines.js';
import { extractFaces, type FaceOptions } from './faces.js';
import { pasteBack, DEFAULT_PASTE } from './frame.js';
import { generateFaces, type Generator } from './generate.js';
import { renderLandmarks } from './render.js';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';

export type Method =
  | { kind: 'ganonymization' }
  | { kind: 'pixelate'; n: number }
  | { kind: 'blur'; k: number; filter: 'gaussian' | 'box' }
  | { kind: 'mask' };

/** Parses `ganonymization`, `pixelate:8`, `blur:9`, `blur:17:box`, `mask`. */
export function parseMethod(text: string): Method {
  const [name, a, b] = text.split(':');
  if (name === 'ganonymization' && a === undefined) return { kind: 'ganonymization' };
  if (name === 'mask' && a === undefined) return { kind: 'mask' };
  if (name === 'pixelate' && a !== undefined && /^\d+$/.test(a)) return { kind: 'pixelate', n: Number(a) };
  if (name === 'blur' && a !== undefined && /^\d+$/.test(a) && Number(a) % 2 === 1 && (b === undefined || b === 'gaussian' || b === 'box')) {
    return { kind: 'blur', k: Number(a), filter: (b ?? 'gaussian') as 'gaussian' | 'box' };
  }
  throw new InputError(`unknown method '${text}': expected ganonymization, pixelate:N, blur:K[:box] (K odd) or mask`);
}

export function methodLabel(m: Method): string {
  return m.kind === 'pixelate' ? `pixelate:${m.n}` : m.kind === 'blur' ? `blur:${m.k}${m.filter === 'box' ? ':box' : ''}` : m.kind;
}

export interface AnonymizeOptions {
  method: Method;
  /** crop: one S x S image per face (the paper's output); frame: faces replaced inside the original photo. */
  mode?: 'crop' | 'frame';
  face: FaceOptions;
  /** Required for ganonymization. */
  generator?: Generator;
  weightsSha256?: string;
  noFace: 'skip' | 'average' | 'error';
  overwrite: boolean;
  toolkitVersion: string;
  backend: string;
  /** Only files with index % count === index (worker processes). */
  shard?: { index: number; count: number };
  /** Faces of one image per generator call (GPU); results do not depend on it. */
  batch?: number;
}

export interface ManifestEntry {
  input: string;
  output: string;
  faceIndex: number;
  box: string;
  angleDeg: number;
  score: number;
  method: string;
  weightsSha256: string;
  seconds: number;
  status: 'ok' | 'no_face' | 'skipped' | 'error';
  message: string;
}

const IMAGE_EXT = /\.(png|jpe?g|webp|tiff?|bmp|gif|avif|heic)$/i;

/** A directory (following links); false for anything that cannot be stat'ed, e.g. a dangling link. */
function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `*` (within a path segment), `?` and `**` (any depth) as a RegExp over '/'-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files matching a quoted glob (for shells that did not expand it), relative to the glob's fixed prefix. */
function expandGlob(pattern: string): [string, string][] {
  const abs = resolve(pattern);
  const parts = abs.split('/');
  const first = parts.findIndex((x) => /[*?]/.test(x));
  const root = parts.slice(0, first).join('/') || '/';
  const re = globToRegExp(parts.slice(first).join('/'));
  const out: [string, string][] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const f = join(d, name);
      const rel = relative(root, f);
      if (isDir(f)) walk(f);
      else if (re.test(rel)) out.push([f, rel]);
    }
  };
  walk(root);
  return out;
}

/** Expands inputs (files, directories recursively, quoted globs) to [absolute path, path relative to its root]. */
export function listInputs(inputs: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of inputs) {
    if (/[*?]/.test(raw) && !existsSync(raw)) {
      out.push(...expandGlob(raw));
      continue;
    }
    const p = resolve(raw);
    if (!existsSync(p)) {
      out.push([p, basename(p)]); // reported as an error row
      continue;
    }
    if (isDir(p)) {
      const walk = (d: string) => {
        for (const name of readdirSync(d).sort()) {
          const f = join(d, name);
          if (isDir(f)) walk(f);
          else if (IMAGE_EXT.test(name)) out.push([f, relative(p, f)]); // unreadable ones get an error row later
        }
      };
      walk(p);
    } else out.push([p, basename(p)]);
  }
  return out;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Crop-mode output name, as the reference's anonymize_image: `{faceIndex}_{basename}`
 * (input's own extension and format; unknown formats get `.png` appended).
 */
export function cropOutputName(rel: string, faceIndex: number): string {
  const dir = dirname(rel);
  const name = `${faceIndex}_${basename(rel)}`;
  return join(dir === '.' ? '' : dir, WRITABLE_EXT.test(rel) ? name : `${name}.png`);
}

const WRITABLE_EXT = /\.(png|jpe?g|webp|tiff?)$/i;

/** Writes an image in the format its name says (no metadata). */
async function writeImage(path: string, img: RgbImage): Promise<void> {
  const { bytes } = await encodeByExtension(img, extname(path));
  await writeFileAtomic(path, bytes);
}

async function replaceFace(face: RgbImage, landmarks: Float32Array | null, opts: AnonymizeOptions): Promise<RgbImage> {
  const m = opts.method;
  switch (m.kind) {
    case 'pixelate': return pixelate(face, m.n);
    case 'blur': return blur(face, m.k, m.filter);
    case 'mask': return mask(face);
    case 'ganonymization': {
      if (!opts.generator) throw new ToolkitError('--weights is required for --method ganonymization');
      const cond = renderLandmarks(landmarks ?? new Float32Array(0), face.width);
      return (await generateFaces(opts.generator, [cond]))[0]!;
    }
  }
}

/** The decoded image, or the error that says why it could not be read. */
async function decodeInput(path: string): Promise<RgbImage | Error> {
  try {
    if (!existsSync(path)) throw new InputError(`'${path}' does not exist`);
    return await decodeImage(path);
  } catch (e) {
    return e as Error;
  }
}

/** A manifest row for `path` with the run's method and weights filled in. */
function rowFor(path: string, opts: AnonymizeOptions): (r: Partial<ManifestEntry>) => ManifestEntry {
  const base = { input: path, weightsSha256: opts.weightsSha256 ?? '', method: methodLabel(opts.method) };
  return (r) => ({ output: '', faceIndex: -1, box: '', angleDeg: 0, score: 0, seconds: 0, status: 'ok', message: '', ...base, ...r });
}

/** replaceFace for all faces of one image; the generator sees up to `opts.batch` faces per call. */
async function replaceFaces(items: { image: RgbImage; landmarks: Float32Array | null }[], opts: AnonymizeOptions): Promise<RgbImage[]> {
  if (opts.method.kind !== 'ganonymization') return Promise.all(items.map((f) => replaceFace(f.image, f.landmarks, opts)));
  if (!opts.generator) throw new ToolkitError('--weights is required for --method ganonymization');
  const b = Math.max(1, Math.floor(opts.batch ?? 1));
  const out: RgbImage[] = [];
  for (let i = 0; i < items.length; i += b) {
    const conds = items.slice(i, i + b).map((f) => renderLandmarks(f.landmarks ?? new Float32Array(0), f.image.width));
    out.push(...(await generateFaces(opts.generator, conds)));
  }
  return out;
}

/** Anonymizes one file; returns its manifest rows (one per face, or one for the file). */
export async function anonymizeFile(path: string, rel: string, outDir: string, opts: AnonymizeOptions): Promise<ManifestEntry[]> {
  if (opts.mode === 'frame') return anonymizeFrame(path, rel, outDir, opts);
  const row = rowFor(path, opts);
  const first = join(outDir, cropOutputName(rel, 0));
  if (!opts.overwrite && existsSync(first)) return [row({ output: first, status: 'skipped', message: 'output exists (use --overwrite)' })];
  const t0 = performance.now();
  const img = await decodeInput(path);
  if (img instanceof Error) return [row({ status: 'error', message: img.message })];
  const faces = await extractFaces(img, opts.face);
  if (faces.length === 0) {
    if (opts.noFace === 'error') return [row({ status: 'error', message: 'no face found' })];
    if (opts.noFace === 'skip' || opts.method.kind !== 'ganonymization') return [row({ status: 'no_face', message: 'no face found' })];
    // 'average': the generator on an all-black landmark image (the paper's note)
    const out = await replaceFace({ width: opts.face.size, height: opts.face.size, data: new Uint8Array(opts.face.size ** 2 * 3) }, null, opts);
    await writeImage(first, out);
    return [row({ output: first, faceIndex: 0, status: 'no_face', message: 'no face found: wrote the average face', seconds: (performance.now() - t0) / 1000 })];
  }
  let replaced: RgbImage[];
  try {
    replaced = await replaceFaces(faces, opts);
  } catch (e) {
    if (e instanceof ToolkitError && !(e instanceof InputError)) throw e;
    return faces.map((f) => row({ faceIndex: f.faceIndex, status: 'error', message: (e as Error).message }));
  }
  const seconds = (performance.now() - t0) / 1000 / faces.length;
  const rows: ManifestEntry[] = [];
  for (const [i, f] of faces.entries()) {
    const target = join(outDir, cropOutputName(rel, f.faceIndex));
    await writeImage(target, replaced[i]!);
    rows.push(row({
      output: target, faceIndex: f.faceIndex, box: JSON.stringify(f.box), angleDeg: (f.angle * 180) / Math.PI, score: f.score, seconds,
      message: f.landmarkSource === 'original' ? 'no mesh on the crop: landmarks mapped from the full image'
        : f.landmarks === null && opts.method.kind === 'ganonymization' ? 'detected, but no mesh on the crop or the full image: the generator\'s average face (no landmarks)' : '',
    }));
  }
  return rows;
}

/** Frame mode: every face replaced inside the photo; the output keeps the input's size, name and format. */
async function anonymizeFrame(path: string, rel: string, outDir: string, opts: AnonymizeOptions): Promise<ManifestEntry[]> {
  const row = rowFor(path, opts);
  const ext = extname(rel);
  const target0 = join(outDir, rel);
  if (!opts.overwrite && (existsSync(target0) || existsSync(`${target0}.png`))) return [row({ output: target0, status: 'skipped', message: 'output exists (use --overwrite)' })];
  const t0 = performance.now();
  const img = await decodeInput(path);
  if (img instanceof Error) return [row({ status: 'error', message: img.message })];
  const faces = await extractFaces(img, opts.face);
  if (faces.length === 0 && opts.noFace === 'error') return [row({ status: 'error', message: 'no face found' })];
  const frame: RgbImage = { width: img.width, height: img.height, data: Uint8Array.from(img.data) };
  const rows: ManifestEntry[] = [];
  const usable = faces.filter((f) => f.landmarks !== null);
  for (const f of faces) if (!f.landmarks) rows.push(row({ faceIndex: f.faceIndex, status: 'error', message: 'no landmarks: face left unchanged' }));
  const replaced = await replaceFaces(usable, opts);
  for (const [i, f] of usable.entries()) {
    pasteBack(frame, replaced[i]!, f.landmarks!, f.toOriginal, DEFAULT_PASTE);
    rows.push(row({ faceIndex: f.faceIndex, box: JSON.stringify(f.box), angleDeg: (f.angle * 180) / Math.PI, score: f.score }));
  }
  rows.sort((a, b) => a.faceIndex - b.faceIndex);
  const { bytes, ext: outExt } = await encodeByExtension(frame, ext);
  const target = outExt === ext ? target0 : `${target0}.png`;
  await writeFileAtomic(target, bytes);
  const secs = (performance.now() - t0) / 1000;
  if (rows.length === 0) return [row({ output: target, status: 'no_face', message: 'no face found: image written unchanged', seconds: secs })];
  return rows.map((r) => ({ ...r, output: target, seconds: secs / rows.length }));
}

export function manifestBytes(rows: ManifestEntry[], opts: AnonymizeOptions): Uint8Array {
  const col = <K extends keyof ManifestEntry>(k: K) => rows.map((r) => r[k]);
  const t = tableFromArrays({
    input: col('input') as string[], output: col('output') as string[],
    face_index: Int32Array.from(col('faceIndex') as number[]), box: col('box') as string[],
    angle_deg: Float64Array.from(col('angleDeg') as number[]), score: Float64Array.from(col('score') as number[]),
    method: col('method') as string[], weights_sha256: col('weightsSha256') as string[],
    seconds: Float64Array.from(col('seconds') as number[]), status: col('status') as string[], message: col('message') as string[],
    toolkit_version: rows.map(() => opts.toolkitVersion), backend: rows.map(() => opts.backend),
  });
  return tableToIPC(t, 'file');
}

export interface AnonymizeSummary { files: number; faces: number; skipped: number; errors: number; noFace: number; succeededFiles: number }

export async function anonymize(inputs: string[], outDir: string, opts: AnonymizeOptions, onFile?: (done: number, total: number, rows: ManifestEntry[]) => void): Promise<{ rows: ManifestEntry[]; summary: AnonymizeSummary }> {
  const files = listInputs(inputs).filter((_, i) => !opts.shard || i % opts.shard.count === opts.shard.index);
  const rows: ManifestEntry[] = [];
  const summary: AnonymizeSummary = { files: files.length, faces: 0, skipped: 0, errors: 0, noFace: 0, succeededFiles: 0 };
  for (const [i, [path, rel]] of files.entries()) {
    const r = await anonymizeFile(path, rel, outDir, opts);
    rows.push(...r);
    const ok = r.filter((x) => x.status === 'ok').length;
    summary.faces += ok;
    summary.errors += r.filter((x) => x.status === 'error').length;
    summary.noFace += r.filter((x) => x.status === 'no_face').length;
    summary.skipped += r.filter((x) => x.status === 'skipped').length;
    if (ok > 0 || r.some((x) => x.status === 'skipped')) summary.succeededFiles++;
    onFile?.(i + 1, files.length, r);
  }
  await writeFileAtomic(join(outDir, manifestName(opts.shard)), manifestBytes(rows, opts));
  return { rows, summary };
}

export function manifestName(shard?: { index: number; count: number }): string {
  return shard ? `manifest.shard-${shard.index}-of-${shard.count}.arrow` : 'manifest.arrow';
}

/** Joins the shard manifests of a `--workers` run into manifest.arrow (rows in input order) and removes them. */
export async function mergeAnonymizeManifests(outDir: string, count: number): Promise<number> {
  const tables = Array.from({ length: count }, (_, i) => join(outDir, manifestName({ index: i, count })))
    .filter((f) => existsSync(f))
    .map((f) => ({ f, t: tableFromIPC(readFileSync(f)) }));
  const rows: Record<string, unknown>[] = [];
  for (const { t } of tables) for (const r of t) rows.push(r.toJSON() as Record<string, unknown>);
  rows.sort((a, b) => (String(a.input) < String(b.input) ? -1 : String(a.input) > String(b.input) ? 1 : Number(a.face_index) - Number(b.face_index)));
  const names = tables[0]?.t.schema.fields.map((fd) => fd.name) ?? [];
  const cols: Record<string, unknown[] | Int32Array | Float64Array> = {};
  for (const n of names) {
    const v = rows.map((r) => r[n]);
    cols[n] = n === 'face_index' ? Int32Array.from(v as number[]) : typeof v[0] === 'number' ? Float64Array.from(v as number[]) : v.map(String);
  }
  await writeFileAtomic(join(outDir, 'manifest.arrow'), tableToIPC(tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]), 'file'));
  for (const { f } of tables) rmSync(f);
  return rows.length;
}
