/**
 * `ganon eval identity`: the Table 1 harness.
 *
 * 1. Originals: every image under `original` (recursive) goes through
 *    extractFaces (detect, align, letterbox to S x S); EVERY face of each file
 *    is embedded (key `rel#faceIndex`, one row per face) and its transform
 *    `toOriginal` kept. Files without a face or that fail to decode are
 *    recorded, never dropped.
 * 2. Each method directory is matched to the originals by a name map
 *    (src/eval/identity-names.ts: auto = `{faceIndex}_{basename}` crops, else
 *    the full frame at the same relative path; same; reference = the authors'
 *    split('-')[-1]; csv). Crops are embedded as they are; full frames must have
 *    the original's size and are resampled (bilinear) into the S x S crop through
 *    each ORIGINAL face's own stored transform, so every method is scored on the
 *    original's geometry. Faces without a file are 'missing'; method files
 *    matched to no original are 'extra' rows. Nothing is silently dropped.
 * 2b. Baselines (`baselines`: pixelate:N, blur:K[:box], mask) are computed on
 *    each original's aligned crop with src/pipeline/baselines.ts while the
 *    originals are read, and scored like a method (match 'baseline').
 * 3. Metrics (src/eval/identity.ts) on the faces with status 'ok'.
 *
 * Writes outDir/identity.arrow (one row per face and method, plus extra-file
 * rows), outDir/table1.md and outDir/run.json.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../io/fs.js';
import { decodeImage, type RgbImage } from '../io/images.js';
import { applyAffine, type Affine } from '../pipeline/align.js';
import { listInputs, methodLabel, parseMethod, type Method } from '../pipeline/anonymize.js';
import { blur, mask, pixelate } from '../pipeline/baselines.js';
import { extractFaces } from '../pipeline/faces.js';
import { DEFAULT_DETECT, type DetectConfig } from '../pipeline/human.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import type { Embedder } from './embed.js';
import { computeIdentity, embedderLabel, formatTable1, type IdentityResult, type KeyedEmbedding } from './identity.js';
import { cropOutputName } from '../pipeline/anonymize.js';
import { matchNames, referenceKey, type Candidate, type NameMap } from './identity-names.js';
import { assignPersons, type IdentityEntry, type PersonAssignment } from './identity-persons.js';

export type RowStatus = 'ok' | 'missing' | 'no_face' | 'error' | 'extra';

export interface IdentityRow {
  /** Original file, relative to the originals root ('' for extra files). */
  original: string;
  /** The original's face index (detector order, as `ganon anonymize` numbers crops); -1 when no face is concerned (no face, unreadable original, extra file). */
  face: number;
  method: string;
  /** Method file used (relative to the method dir); '' when missing. */
  file: string;
  /** 'crop' (crop output), 'frame' (full frame cropped with the original's transform), 'baseline' (computed here) or ''. */
  match: 'crop' | 'frame' | 'baseline' | '';
  status: RowStatus;
  /** Cosine distance to the original's embedding; NaN unless ok. */
  distance: number;
  /** Rank of the true original among all originals; 0 unless ok. */
  rank: number;
  /** With --identities: rank of the nearest same-person original (source included), and with the source left out; 0 when not counted. */
  personRank?: number;
  otherRank?: number;
  /** With --identities: the original face's person ('' when unknown). */
  person?: string;
  message: string;
}

export interface IdentityRunOptions {
  original: string;
  methods: { name: string; dir: string }[];
  /** Baselines computed on each original's aligned crop (pixelate:N, blur:K[:box], mask), scored like any method. */
  baselines?: (string | Method)[];
  embedder: Embedder;
  /** Dataset and split names for the tables and run.json (provenance only). */
  dataset?: string;
  split?: string;
  /** How method files are matched to originals (default auto: crop names, else the same path). */
  nameMap?: NameMap;
  /** Persons of the originals (CelebA identity file or CSV): re-identification by person too. */
  identities?: { source: string; entries: IdentityEntry[] };
  /** Side S of the aligned crop (default 512). */
  size?: number;
  outDir: string;
  threshold?: number | null;
  /** Reference method of the Wilcoxon tests (default the first). */
  reference?: string;
  detect?: DetectConfig;
  seed?: number;
  resamples?: number;
  /** Called after each original / method file. */
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Faces per embedder call (default 16); results do not depend on it. */
  chunk?: number;
}

export interface MethodCounts { ok: number; missing: number; error: number; noFace: number; extra: number; extraFiles: string[]; missingFiles: string[] }

export interface IdentityRun {
  result: IdentityResult;
  rows: IdentityRow[];
  counts: { originals: number; faces: number; noFace: number; errors: number; methods: Record<string, MethodCounts> };
  table: string;
  embeddingsPerSecond: number;
}

/** Faces per embedder call. */
const CHUNK = 16;

/**
 * Bilinear resample of `frame` into an S x S crop: crop pixel centre (x+0.5, y+0.5)
 * -> `toOriginal` -> frame continuous coordinates; black outside the frame.
 */
export function resampleCrop(frame: RgbImage, toOriginal: Affine, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  const { width: w, height: h, data } = frame;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [sx, sy] = applyAffine(toOriginal, x + 0.5, y + 0.5);
      // continuous -> pixel-centre index space
      const fx = sx - 0.5;
      const fy = sy - 0.5;
      if (fx < -0.5 || fy < -0.5 || fx > w - 0.5 || fy > h - 0.5) continue;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const ax = fx - x0;
      const ay = fy - y0;
      const xa = Math.min(w - 1, Math.max(0, x0));
      const xb = Math.min(w - 1, Math.max(0, x0 + 1));
      const ya = Math.min(h - 1, Math.max(0, y0));
      const yb = Math.min(h - 1, Math.max(0, y0 + 1));
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[(ya * w + xa) * 3 + c]! * (1 - ax) + data[(ya * w + xb) * 3 + c]! * ax;
        const bot = data[(yb * w + xa) * 3 + c]! * (1 - ax) + data[(yb * w + xb) * 3 + c]! * ax;
        out[o + c] = Math.round(top * (1 - ay) + bot * ay);
      }
    }
  }
  return { width: size, height: size, data: out };
}

export { cropOutputName };

/** Parses `NAME=DIR`. */
export function parseMethodArg(text: string): { name: string; dir: string } {
  const i = text.indexOf('=');
  if (i <= 0 || i === text.length - 1) throw new InputError(`--method '${text}': expected NAME=DIR`);
  return { name: text.slice(0, i), dir: text.slice(i + 1) };
}

/** Splits `--baselines pixelate:8,blur:17 mask` (commas and/or repeats) and parses each. */
export function parseBaselineList(values: readonly (string | Method)[] | undefined): Method[] {
  const out: Method[] = [];
  for (const v of values ?? []) {
    if (typeof v !== 'string') { out.push(v); continue; }
    for (const t of v.split(',').map((x) => x.trim()).filter((x) => x !== '')) out.push(parseMethod(t));
  }
  for (const m of out) {
    if (m.kind === 'ganonymization') throw new InputError("--baselines: 'ganonymization' cannot be computed on the fly (pixelate:N, blur:K[:box] or mask); give its outputs with --method NAME=DIR");
  }
  return out;
}

/** One baseline on an aligned crop (the anonymize command's implementations). */
export function applyBaseline(m: Method, img: RgbImage): RgbImage {
  switch (m.kind) {
    case 'pixelate': return pixelate(img, m.n);
    case 'blur': return blur(img, m.k, m.filter);
    case 'mask': return mask(img);
    default: throw new InputError(`baseline '${methodLabel(m)}' cannot be computed on the fly`);
  }
}

interface OriginalFace { rel: string; faceIndex: number; key: string; width: number; height: number; toOriginal: Affine; boxArea: number; embedding: Float32Array }

/** The key of one original face in the metrics. */
export const faceKey = (rel: string, faceIndex: number): string => `${rel}#${faceIndex}`;

/** Embeds a batch; if the batch fails on bad input, embeds one at a time so one face's error stays its own. */
async function embedSafe(embedder: Embedder, faces: RgbImage[]): Promise<(Float32Array | Error)[]> {
  try {
    return await embedder.embed(faces);
  } catch (e) {
    if (!(e instanceof InputError) || faces.length === 1) {
      if (e instanceof InputError) return [e];
      throw e;
    }
    const out: (Float32Array | Error)[] = [];
    for (const f of faces) {
      try {
        out.push((await embedder.embed([f]))[0]!);
      } catch (e2) {
        if (!(e2 instanceof InputError)) throw e2;
        out.push(e2);
      }
    }
    return out;
  }
}

export async function runIdentity(opts: IdentityRunOptions): Promise<IdentityRun> {
  const size = opts.size ?? 512;
  const threshold = opts.threshold ?? null;
  const { embedder } = opts;
  if (!existsSync(opts.original) || !statSync(opts.original).isDirectory()) throw new InputError(`--original '${opts.original}' is not a directory`);
  const baselines = parseBaselineList(opts.baselines).map((m) => ({ m, name: methodLabel(m) }));
  if (opts.methods.length === 0 && baselines.length === 0) throw new InputError('name at least one --method NAME=DIR or --baselines');
  const names = [...opts.methods.map((m) => m.name), ...baselines.map((b) => b.name)];
  if (new Set(names).size !== names.length) throw new InputError(`method and baseline names must be unique (got ${names.join(', ')})`);
  for (const m of opts.methods) if (!existsSync(m.dir) || !statSync(m.dir).isDirectory()) throw new InputError(`method '${m.name}': '${m.dir}' is not a directory`);
  const originalFiles = listInputs([opts.original]);
  if (originalFiles.length === 0) throw new InputError(`--original '${opts.original}' holds no images`);

  const chunkSize = opts.chunk ?? CHUNK;
  let embedSeconds = 0;
  let embedded = 0;
  const timedEmbed = async (faces: RgbImage[]) => {
    if (faces.length === 0) return [];
    const t0 = performance.now();
    const r = await embedSafe(embedder, faces);
    embedSeconds += (performance.now() - t0) / 1000;
    embedded += faces.length;
    return r;
  };

  // 1. originals, and each baseline computed on the original's aligned crop
  const originals: OriginalFace[] = [];
  const failed = new Map<string, { status: 'no_face' | 'error'; message: string }>();
  const sizes = new Map<string, { width: number; height: number }>();
  const baselineFaces = new Map(baselines.map((b) => [b.name, [] as KeyedEmbedding[]]));
  const baselineErrors = new Map(baselines.map((b) => [b.name, new Map<string, string>()]));
  type Pending = { rel: string; faceIndex: number; face: RgbImage; toOriginal: Affine; boxArea: number };
  let pending: Pending[] = [];
  const embedChunk = async (chunk: Pending[]) => {
    const embs = await timedEmbed(chunk.map((p) => p.face));
    const ok: Pending[] = [];
    chunk.forEach((p, i) => {
      const e = embs[i]!;
      const key = faceKey(p.rel, p.faceIndex);
      if (e instanceof Error) failedFace.set(key, `original: ${e.message}`);
      else {
        const { width, height } = sizes.get(p.rel)!;
        originals.push({ rel: p.rel, faceIndex: p.faceIndex, key, width, height, toOriginal: p.toOriginal, boxArea: p.boxArea, embedding: e });
        ok.push(p);
      }
    });
    for (const b of baselines) {
      const items: { key: string; img: RgbImage }[] = [];
      for (const p of ok) {
        const key = faceKey(p.rel, p.faceIndex);
        try {
          items.push({ key, img: applyBaseline(b.m, p.face) });
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          baselineErrors.get(b.name)!.set(key, e.message);
        }
      }
      const bembs = await timedEmbed(items.map((x) => x.img));
      items.forEach((x, i) => {
        const e = bembs[i]!;
        if (e instanceof Error) baselineErrors.get(b.name)!.set(x.key, e.message);
        else baselineFaces.get(b.name)!.push({ key: x.key, embedding: e });
      });
    }
  };
  // One chunk is embedded (on the embedder's threads, where it has them) while this thread
  // finds the faces of the next; chunks finish in order, so the results keep input order.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    await inFlight;
    const chunk = pending;
    pending = [];
    inFlight = embedChunk(chunk);
    inFlight.catch(() => { /* rethrown where it is awaited: the next flush or the end */ });
  };
  /** Faces whose original embedding failed: key -> message. */
  const failedFace = new Map<string, string>();
  /** Detected faces per original (face indices). */
  const facesOf = new Map<string, number[]>();
  for (const [i, [abs, rel]] of originalFiles.entries()) {
    try {
      const img = await decodeImage(abs, rel);
      sizes.set(rel, { width: img.width, height: img.height });
      const faces = await extractFaces(img, { size, margin: 0, detect: opts.detect ?? DEFAULT_DETECT });
      if (faces.length === 0) failed.set(rel, { status: 'no_face', message: 'no face found in the original' });
      facesOf.set(rel, faces.map((f) => f.faceIndex));
      for (const f of faces) pending.push({ rel, faceIndex: f.faceIndex, face: f.image, toOriginal: f.toOriginal, boxArea: f.box[2] * f.box[3] });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      failed.set(rel, { status: 'error', message: e.message });
    }
    if (pending.length >= chunkSize) await flush();
    opts.onProgress?.('original', i + 1, originalFiles.length);
  }
  await flush();
  await inFlight;

  // 2. methods
  const nameMap = opts.nameMap ?? { kind: 'auto' };
  const rows: IdentityRow[] = [];
  const methodFaces: { name: string; faces: KeyedEmbedding[] }[] = [];
  const methodCounts: Record<string, MethodCounts> = {};
  const originalOrder = originalFiles.map(([, rel]) => rel);
  const byKey = new Map(originals.map((o) => [o.key, o]));
  const tally = (counts: MethodCounts, r: IdentityRow) => {
    if (r.status === 'ok') counts.ok++;
    else if (r.status === 'missing') { counts.missing++; counts.missingFiles.push(r.face > 0 ? `${r.original} (face ${r.face})` : r.original); }
    else if (r.status === 'no_face') counts.noFace++;
    else if (r.status === 'error') counts.error++;
  };
  for (const m of opts.methods) {
    const listed = listInputs([m.dir]);
    const files = new Map(listed.map(([abs, rel]) => [rel, abs]));
    const match = matchNames(nameMap, originalOrder, listed.map(([, rel]) => rel));
    const faces: KeyedEmbedding[] = [];
    const counts: MethodCounts = { ok: 0, missing: 0, error: 0, noFace: 0, extra: 0, extraFiles: [], missingFiles: [] };
    const methodRows: IdentityRow[] = [];
    let batch: { key: string; row: IdentityRow; face: RgbImage }[] = [];
    const flushMethod = async () => {
      const embs = await timedEmbed(batch.map((b) => b.face));
      batch.forEach((b, i) => {
        const e = embs[i]!;
        if (e instanceof Error) Object.assign(b.row, { status: 'error', message: e.message });
        else faces.push({ key: b.key, embedding: e });
      });
      batch = [];
    };
    const missingMessage = (rel: string, k: number): string => {
      switch (nameMap.kind) {
        case 'auto': return `no '${cropOutputName(rel, k)}' (crop output) or '${rel}' (full frame) in ${m.dir}`;
        case 'same': return `no '${rel}' (full frame) in ${m.dir}`;
        case 'reference': return `no file named '...-${referenceKey(rel).split('/').at(-1)}' or '${referenceKey(rel).split('/').at(-1)}' (--name-map reference) in ${m.dir}`;
        case 'csv': return `${nameMap.path} names no file for '${rel}'${k > 0 ? ` face ${k}` : ''}`;
      }
    };
    for (const [i, rel] of originalOrder.entries()) {
      const candidates = match.byOriginal.get(rel) ?? [];
      const fail = failed.get(rel);
      const base = { original: rel, method: m.name, file: '', match: '' as IdentityRow['match'], status: 'ok' as RowStatus, distance: NaN, rank: 0, message: '' };
      if (fail) {
        methodRows.push({ ...base, face: -1, status: fail.status, message: fail.message, file: candidates[0]?.file ?? '' });
        continue;
      }
      const problem = match.problems.get(rel);
      const decoded = new Map<string, RgbImage>();
      const decode = async (file: string) => {
        let d = decoded.get(file);
        if (!d) { d = await decodeImage(files.get(file)!, file); decoded.set(file, d); }
        return d;
      };
      for (const k of facesOf.get(rel) ?? []) {
        const key = faceKey(rel, k);
        const row: IdentityRow = { ...base, face: k };
        methodRows.push(row);
        const o = byKey.get(key);
        if (!o) { Object.assign(row, { status: 'error', message: failedFace.get(key) ?? 'original not embedded' }); continue; }
        if (problem) { Object.assign(row, { status: 'error', message: problem }); continue; }
        const c: Candidate | undefined = candidates.find((x) => x.face === k) ?? candidates.find((x) => x.face === null);
        if (!c) {
          const absent = match.absent.get(rel)?.find((a) => a.face === k || a.face === null);
          Object.assign(row, { status: 'missing', message: absent?.message ?? missingMessage(rel, k) });
          continue;
        }
        row.file = c.file;
        try {
          const im = await decode(c.file);
          const sameSize = im.width === o.width && im.height === o.height;
          if (c.how === 'crop') {
            row.match = 'crop';
            batch.push({ key, row, face: im });
          } else if (c.how === 'frame' || sameSize) {
            if (!sameSize) throw new InputError(`full-frame output '${c.file}' is ${im.width}x${im.height}, the original is ${o.width}x${o.height}`);
            row.match = 'frame';
            batch.push({ key, row, face: resampleCrop(im, o.toOriginal, size) });
          } else if (c.face !== null || k === 0) {
            // a file of another size than the original: the face's own crop (CIAGAN, other tools' crops)
            Object.assign(row, { match: 'crop', message: `${im.width}x${im.height}, not the original's ${o.width}x${o.height}: scored as the crop of face ${k} (${c.via})` });
            batch.push({ key, row, face: im });
          } else {
            Object.assign(row, { status: 'missing', message: `'${c.file}' is a ${im.width}x${im.height} crop, taken as face 0; no file for face ${k}` });
          }
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          Object.assign(row, { status: 'error', message: e.message });
        }
        if (batch.length >= chunkSize) await flushMethod();
      }
      opts.onProgress?.(m.name, i + 1, originalOrder.length);
    }
    await flushMethod();
    methodFaces.push({ name: m.name, faces });
    rows.push(...methodRows);
    for (const r of methodRows) tally(counts, r);
    // files matched to an original but used for none of its faces (e.g. a crop for a face the detector did not find)
    const scored = new Set(methodRows.map((r) => r.file));
    const unused: { file: string; message: string }[] = [];
    for (const rel of originalOrder) {
      if (failed.has(rel) || match.problems.has(rel)) continue;
      const n = facesOf.get(rel)?.length ?? 0;
      for (const c of match.byOriginal.get(rel) ?? []) {
        if (scored.has(c.file) || unused.some((u) => u.file === c.file)) continue;
        unused.push({ file: c.file, message: c.face !== null && c.face >= n ? `a file for face ${c.face} of '${rel}' (${c.via}), which has ${n} detected face(s)` : `matched to '${rel}' (${c.via}) but used for none of its faces` });
      }
    }
    for (const x of [...unused, ...match.extra]) {
      rows.push({ original: '', face: -1, method: m.name, file: x.file, match: '', status: 'extra', distance: NaN, rank: 0, message: x.message });
      counts.extra++;
      counts.extraFiles.push(x.file);
    }
    methodCounts[m.name] = counts;
  }
  for (const b of baselines) {
    const faces = baselineFaces.get(b.name)!;
    const embeddedKeys = new Set(faces.map((f) => f.key));
    const errors = baselineErrors.get(b.name)!;
    const counts: MethodCounts = { ok: 0, missing: 0, error: 0, noFace: 0, extra: 0, extraFiles: [], missingFiles: [] };
    for (const rel of originalOrder) {
      const fail = failed.get(rel);
      const base = { original: rel, method: b.name, file: '', match: 'baseline' as IdentityRow['match'], status: 'ok' as RowStatus, distance: NaN, rank: 0, message: '' };
      const bRows: IdentityRow[] = fail
        ? [{ ...base, face: -1, match: '', status: fail.status, message: fail.message }]
        : (facesOf.get(rel) ?? []).map((k) => {
          const key = faceKey(rel, k);
          const row: IdentityRow = { ...base, face: k };
          if (!byKey.has(key)) Object.assign(row, { status: 'error', message: failedFace.get(key) ?? 'original not embedded' });
          else if (errors.has(key)) Object.assign(row, { status: 'error', message: errors.get(key)! });
          else if (!embeddedKeys.has(key)) Object.assign(row, { status: 'error', message: 'not embedded' });
          return row;
        });
      for (const r of bRows) tally(counts, r);
      rows.push(...bRows);
    }
    methodFaces.push({ name: b.name, faces });
    methodCounts[b.name] = counts;
  }

  // 3. metrics
  const persons: PersonAssignment | null = opts.identities ? assignPersons(opts.identities.entries, originals, originalOrder) : null;
  const result = computeIdentity({
    embedder: { name: embedder.name, proxy: embedder.proxy }, threshold,
    originals: originals.map((o) => ({ key: o.key, embedding: o.embedding })),
    methods: methodFaces, reference: opts.reference, seed: opts.seed, resamples: opts.resamples,
    identities: persons?.byKey,
  });
  for (const ms of result.methods) {
    const pairByKey = new Map(ms.pairs.map((p) => [p.key, p]));
    for (const r of rows) {
      if (r.method !== ms.name || r.status !== 'ok') continue;
      const p = pairByKey.get(faceKey(r.original, r.face));
      if (p) { r.distance = p.distance; r.rank = p.rank; r.personRank = p.personRank; r.otherRank = p.otherRank; }
    }
  }
  if (persons) for (const r of rows) if (r.face >= 0) r.person = persons.byKey.get(faceKey(r.original, r.face)) ?? '';
  const identityInfo = persons && opts.identities ? {
    source: resolve(opts.identities.source), entries: opts.identities.entries.length, files: persons.files, faces: persons.byKey.size,
    unmatchedEntries: persons.unmatched, entriesWithoutFace: persons.withoutFace, problems: persons.problems,
  } : null;
  const counts = {
    originals: originalFiles.length, faces: originals.length,
    noFace: [...failed.values()].filter((f) => f.status === 'no_face').length,
    errors: [...failed.values()].filter((f) => f.status === 'error').length + failedFace.size,
    methods: methodCounts,
  };
  const table = formatTable1(result) + formatCounts(counts, embedder) + (identityInfo ? formatIdentityInfo(identityInfo) : '');
  const embeddingsPerSecond = embedSeconds > 0 ? embedded / embedSeconds : NaN;

  await mkdir(opts.outDir, { recursive: true });
  await writeFileAtomic(join(opts.outDir, 'identity.arrow'), rowsToArrow(rows, embedder, identityInfo !== null));
  await writeFileAtomic(join(opts.outDir, 'table1.md'), table);
  const runJson = {
    embedder: { name: embedder.name, proxy: embedder.proxy, dim: embedder.dim, label: embedderLabel(embedder), ...(embedder.weightsSha256 ? { weightsSha256: embedder.weightsSha256 } : {}) },
    dataset: opts.dataset ?? null, split: opts.split ?? null,
    threshold, imageSize: size, nameMap: nameMap.kind === 'csv' ? `csv:${resolve(nameMap.path)}` : nameMap.kind, reference: result.reference, seed: result.seed, resamples: result.resamples,
    original: resolve(opts.original),
    methods: [...opts.methods.map((m) => ({ name: m.name, dir: resolve(m.dir) })), ...baselines.map((b) => ({ name: b.name, baseline: b.name }))],
    counts, identities: identityInfo, embeddingsPerSecond,
    summary: result.methods.map(({ pairs: _pairs, ...s }) => s), comparisons: result.comparisons,
    toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(join(opts.outDir, 'run.json'), `${JSON.stringify(runJson, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return { result, rows, counts, table, embeddingsPerSecond };
}

function formatCounts(c: IdentityRun['counts'], e: Embedder): string {
  const lines = ['', '### Inputs', '', `Originals: ${c.originals} files, ${c.faces} faces embedded (every face of each file), ${c.noFace} files without a face, ${c.errors} errors. Embedder: ${embedderLabel(e)}.`, ''];
  lines.push('| Method | ok | missing | no face (original) | error | extra files |', '|---|---|---|---|---|---|');
  for (const [name, m] of Object.entries(c.methods)) lines.push(`| ${name} | ${m.ok} | ${m.missing} | ${m.noFace} | ${m.error} | ${m.extra} |`);
  for (const [name, m] of Object.entries(c.methods)) {
    if (m.missingFiles.length) lines.push('', `Missing for ${name}: ${m.missingFiles.join(', ')}`);
    if (m.extraFiles.length) lines.push('', `Extra files in ${name}: ${m.extraFiles.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatIdentityInfo(i: { source: string; entries: number; files: number; faces: number; unmatchedEntries: number; entriesWithoutFace: number; problems: string[] }): string {
  const lines = ['', `Persons: ${i.entries} entries in ${i.source}; ${i.faces} original faces in ${i.files} files got a person; ${i.unmatchedEntries} entries name no original, ${i.entriesWithoutFace} an original without an embedded face.`];
  if (i.problems.length) lines.push('', `Identity file problems (${i.problems.length}): ${i.problems.slice(0, 20).join('; ')}${i.problems.length > 20 ? '; ...' : ''}`);
  return `${lines.join('\n')}\n`;
}

function rowsToArrow(rows: IdentityRow[], e: Embedder, withPersons: boolean): Uint8Array {
  const cols: Record<string, string[] | Int32Array | Float64Array> = {
    original: rows.map((r) => r.original), face: Int32Array.from(rows.map((r) => r.face)), method: rows.map((r) => r.method), file: rows.map((r) => r.file),
    match: rows.map((r) => r.match), status: rows.map((r) => r.status),
    distance: Float64Array.from(rows.map((r) => r.distance)), rank: Int32Array.from(rows.map((r) => r.rank)),
    message: rows.map((r) => r.message), embedder: rows.map(() => e.name), proxy: rows.map(() => (e.proxy ? 'proxy' : '')),
  };
  if (withPersons) {
    cols.person = rows.map((r) => r.person ?? '');
    cols.person_rank = Int32Array.from(rows.map((r) => r.personRank ?? 0));
    cols.other_rank = Int32Array.from(rows.map((r) => r.otherRank ?? 0));
  }
  const t = tableFromArrays(cols);
  return tableToIPC(t, 'file');
}
