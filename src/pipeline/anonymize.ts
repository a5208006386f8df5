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
import { decodeImage, encodeByExtension, type RgbImage } from '../io/images.js';
import { blur, mask, pixelate } from './baselines.js';
import { extractFaces, type FaceOptions, type FaceRecord } from './faces.js';
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
  /**
   * Faces per generator call, gathered across consecutive files (GPU; the native CPU
   * backend is also faster per face at 2 than at 1); results do not depend on it.
   */
  batch?: number;
  /** Stages 1-5 for a file (default: in this thread; src/pipeline/prep-thread.ts runs them on another). */
  extractor?: FaceExtractor;
}

/** A decoded input and its faces (stages 1-5). */
export interface Prepared { img: RgbImage; faces: FaceRecord[] }
/** Decodes a file and finds its faces; an Error (not thrown) when the file cannot be read. */
export type FaceExtractor = (path: string) => Promise<Prepared | Error>;

/**
 * Stages 1-5 in this thread: decode + extractFaces. An InputError is returned (an error row);
 * anything else throws. Calls run one at a time, in order, however many are started: Human
 * keeps per-call state, and libvips garbles the messages of decodes that fail at the same
 * time ("Unknown error").
 */
export function inProcessExtractor(face: FaceOptions): FaceExtractor {
  const one = async (path: string): Promise<Prepared | Error> => {
    const img = await decodeInput(path);
    if (img instanceof Error) return img;
    try {
      return { img, faces: await extractFaces(img, face) };
    } catch (e) {
      if (e instanceof InputError) return e;
      throw e;
    }
  };
  let queue: Promise<unknown> = Promise.resolve();
  return (path) => {
    const p = queue.then(() => one(path));
    queue = p.catch(() => undefined);
    return p;
  };
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

/** replaceFace for many faces; the generator sees up to `opts.batch` faces per call. */
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

/** One input on its way through the run: done already (rows), or decoded with its faces, waiting for the method. */
type Stage = { path: string; rel: string; rows: ManifestEntry[] } | { path: string; rel: string; prepared: Prepared; todo: FaceRecord[] };

/** The existing output that makes this file a skip (without --overwrite), or null. */
function existingOutput(rel: string, outDir: string, opts: AnonymizeOptions): string | null {
  if (opts.overwrite) return null;
  if (opts.mode === 'frame') {
    const t = join(outDir, rel);
    return existsSync(t) ? t : existsSync(`${t}.png`) ? `${t}.png` : null;
  }
  const first = join(outDir, cropOutputName(rel, 0));
  return existsSync(first) ? first : null;
}

/** Stages 1-5 of one file, and the rows of files that end there (skipped, unreadable, no face). */
async function prepareFile(path: string, rel: string, outDir: string, opts: AnonymizeOptions, extractor: FaceExtractor): Promise<Stage> {
  const row = rowFor(path, opts);
  const existing = existingOutput(rel, outDir, opts);
  if (existing !== null) return { path, rel, rows: [row({ output: existing, status: 'skipped', message: 'output exists (use --overwrite)' })] };
  const prepared = await extractor(path);
  if (prepared instanceof Error) return { path, rel, rows: [row({ status: 'error', message: prepared.message })] };
  const { faces } = prepared;
  if (faces.length === 0) {
    if (opts.noFace === 'error') return { path, rel, rows: [row({ status: 'error', message: 'no face found' })] };
    if (opts.mode !== 'frame' && (opts.noFace === 'skip' || opts.method.kind !== 'ganonymization')) return { path, rel, rows: [row({ status: 'no_face', message: 'no face found' })] };
  }
  if (opts.mode === 'frame') return { path, rel, prepared, todo: faces.filter((f) => f.landmarks !== null) };
  if (faces.length === 0) {
    // 'average': the generator on an all-black landmark image (the paper's note)
    const s = opts.face.size;
    const blank: FaceRecord = { faceIndex: 0, box: [0, 0, 0, 0], score: 0, angle: 0, image: { width: s, height: s, data: new Uint8Array(s * s * 3) }, landmarks: null, landmarkSource: null, toOriginal: { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 } };
    return { path, rel, prepared, todo: [blank] };
  }
  return { path, rel, prepared, todo: faces };
}

/** Writes one file's outputs from its replaced faces (in `todo` order); returns its rows. */
async function finishFile(st: Extract<Stage, { prepared: Prepared }>, replaced: RgbImage[], outDir: string, opts: AnonymizeOptions, seconds: number): Promise<ManifestEntry[]> {
  const row = rowFor(st.path, opts);
  const { img, faces } = st.prepared;
  if (opts.mode === 'frame') {
    const frame: RgbImage = { width: img.width, height: img.height, data: Uint8Array.from(img.data) };
    const rows: ManifestEntry[] = [];
    for (const f of faces) if (!f.landmarks) rows.push(row({ faceIndex: f.faceIndex, status: 'error', message: 'no landmarks: face left unchanged' }));
    for (const [i, f] of st.todo.entries()) {
      pasteBack(frame, replaced[i]!, f.landmarks!, f.toOriginal, DEFAULT_PASTE);
      rows.push(row({ faceIndex: f.faceIndex, box: JSON.stringify(f.box), angleDeg: (f.angle * 180) / Math.PI, score: f.score }));
    }
    rows.sort((a, b) => a.faceIndex - b.faceIndex);
    const ext = extname(st.rel);
    const { bytes, ext: outExt } = await encodeByExtension(frame, ext);
    const target = outExt === ext ? join(outDir, st.rel) : `${join(outDir, st.rel)}.png`;
    await writeFileAtomic(target, bytes);
    if (rows.length === 0) return [row({ output: target, status: 'no_face', message: 'no face found: image written unchanged', seconds })];
    return rows.map((r) => ({ ...r, output: target, seconds: seconds / rows.length }));
  }
  if (faces.length === 0) {
    const target = join(outDir, cropOutputName(st.rel, 0));
    await writeImage(target, replaced[0]!);
    return [row({ output: target, faceIndex: 0, status: 'no_face', message: 'no face found: wrote the average face', seconds })];
  }
  const rows: ManifestEntry[] = [];
  for (const [i, f] of faces.entries()) {
    const target = join(outDir, cropOutputName(st.rel, f.faceIndex));
    await writeImage(target, replaced[i]!);
    rows.push(row({
      output: target, faceIndex: f.faceIndex, box: JSON.stringify(f.box), angleDeg: (f.angle * 180) / Math.PI, score: f.score, seconds: seconds / faces.length,
      message: f.landmarkSource === 'original' ? 'no mesh on the crop: landmarks mapped from the full image'
        : f.landmarks === null && opts.method.kind === 'ganonymization' ? 'detected, but no mesh on the crop or the full image: the generator\'s average face (no landmarks)' : '',
    }));
  }
  return rows;
}

/** Anonymizes one file on its own; returns its manifest rows (one per face, or one for the file). */
export async function anonymizeFile(path: string, rel: string, outDir: string, opts: AnonymizeOptions): Promise<ManifestEntry[]> {
  const t0 = performance.now();
  const st = await prepareFile(path, rel, outDir, opts, opts.extractor ?? inProcessExtractor(opts.face));
  if ('rows' in st) return st.rows;
  return finishGroup([st], outDir, opts, t0).then((r) => r[0]!);
}

/**
 * The method on the faces of several prepared files at once (the generator batches across
 * them), then each file's outputs. A method error that is not a toolkit error of the run
 * (bad weights) becomes error rows for these files. `seconds` of a row: the group's wall time
 * since `t0` shared out per face.
 */
async function finishGroup(group: Extract<Stage, { prepared: Prepared }>[], outDir: string, opts: AnonymizeOptions, t0: number): Promise<ManifestEntry[][]> {
  const items = group.flatMap((st) => st.todo);
  let replaced: RgbImage[];
  try {
    replaced = await replaceFaces(items, opts);
  } catch (e) {
    if (e instanceof ToolkitError && !(e instanceof InputError)) throw e;
    return group.map((st) => st.todo.map((f) => rowFor(st.path, opts)({ faceIndex: f.faceIndex, status: 'error', message: (e as Error).message })));
  }
  const perFace = (performance.now() - t0) / 1000 / Math.max(1, items.length);
  const out: ManifestEntry[][] = [];
  let k = 0;
  for (const st of group) {
    out.push(await finishFile(st, replaced.slice(k, k + st.todo.length), outDir, opts, perFace * Math.max(1, st.todo.length)));
    k += st.todo.length;
  }
  return out;
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
  const extractor = opts.extractor ?? inProcessExtractor(opts.face);
  const batch = Math.max(1, Math.floor(opts.batch ?? 1));
  let done = 0;
  const record = (r: ManifestEntry[]) => {
    rows.push(...r);
    const ok = r.filter((x) => x.status === 'ok').length;
    summary.faces += ok;
    summary.errors += r.filter((x) => x.status === 'error').length;
    summary.noFace += r.filter((x) => x.status === 'no_face').length;
    summary.skipped += r.filter((x) => x.status === 'skipped').length;
    if (ok > 0 || r.some((x) => x.status === 'skipped')) summary.succeededFiles++;
    onFile?.(++done, files.length, r);
  };
  // Stages 1-5 run ahead of the method by up to `ahead` files (on another thread when the
  // extractor is one: src/pipeline/prep-thread.ts), so the generator and the face finder overlap.
  const ahead = Math.max(2, batch + 1);
  const started: Promise<Stage>[] = [];
  const start = (i: number) => {
    if (i < files.length && started[i] === undefined) started[i] = prepareFile(files[i]![0], files[i]![1], outDir, opts, extractor);
  };
  let group: Extract<Stage, { prepared: Prepared }>[] = [];
  let groupFaces = 0;
  let t0 = performance.now();
  const flush = async () => {
    if (group.length === 0) return;
    for (const r of await finishGroup(group, outDir, opts, t0)) record(r);
    group = [];
    groupFaces = 0;
    t0 = performance.now();
  };
  for (let i = 0; i < files.length; i++) {
    for (let j = i; j < i + ahead; j++) start(j);
    const st = await started[i]!;
    delete started[i];
    if ('rows' in st) {
      if (group.length === 0) record(st.rows);
      else {
        // keep the files' order in the manifest and progress: finish the group first
        await flush();
        record(st.rows);
      }
      if (group.length === 0) t0 = performance.now();
      continue;
    }
    group.push(st);
    groupFaces += st.todo.length;
    if (groupFaces >= batch || opts.method.kind !== 'ganonymization') await flush();
  }
  await flush();
  await writeFileAtomic(join(outDir, manifestName(opts.shard)), manifestBytes(rows, opts));
  return { rows, summary };
}

export function manifestName(shard?: { index: number; count: number }): string {
  return shard ? `manifest.shard-${shard.index}-of-${shard.count}.arrow` : 'manifest.arrow';
}

/**
 * `--manifest-json`: DIR/manifest.json, the rows of DIR/manifest.arrow as a JSON array of objects
 * (the same columns and values), written atomically. Returns its path.
 */
export async function writeManifestJson(outDir: string): Promise<string> {
  const rows = [...tableFromIPC(readFileSync(join(outDir, 'manifest.arrow')))].map((r) => r.toJSON());
  const target = join(outDir, 'manifest.json');
  await writeFileAtomic(target, Buffer.from(`${JSON.stringify(rows, null, 1)}\n`));
  return target;
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
