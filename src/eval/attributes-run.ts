/**
 * `ganon eval attributes`: the harness of paper Tables 5 and 6 (section 4.3).
 *
 * Predictions come from one of two places:
 *   - a multi-label classifier (an ImagePredictor): every original image under
 *     `original` (recursive) and every method file matched to it (src/eval/match.ts:
 *     `0_{basename}`, the same path, or another extension) is predicted, in batches
 *     of 32; `baselines` (pixelate:N, blur:K, mask) are computed on the fly from
 *     the decoded original (the crops are already aligned faces: the whole crop);
 *   - a predictions file (CSV or Arrow; columns image, method, attribute, p; the
 *     originals' rows have method `original`): no model is needed, pairs are
 *     joined by the `image` value.
 * Every original and method image gets a status row: ok, missing (no method file),
 * extra (a method file without an original), error (decode or classifier error),
 * original_error (the original itself failed); the counts and the lists are in
 * run.json and at the end of table6.md. Nothing is dropped silently.
 *
 * Table 6 (src/eval/attributes.ts) is computed from the ok pairs joined by image
 * id. Table 5, when `labels` are given (a preprocessed CelebA manifest.arrow or a
 * CSV/Arrow table with an `image` column and one 0/1 or -1/1 column per
 * attribute), is scikit-learn's multi-label classification report of the
 * predictions on the originals (p > 0.5) against the labels.
 *
 * Writes outDir/attributes.arrow, outDir/table6.md, outDir/table5.md (with labels)
 * and outDir/run.json, each atomically.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../io/fs.js';
import { decodeImage, type RgbImage } from '../io/images.js';
import { methodLabel, parseMethod, type Method } from '../pipeline/anonymize.js';
import { blur, mask, pixelate } from '../pipeline/baselines.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import {
  THRESHOLD, checkAttributeNames, formatTable6, removalRates, table6Rows, type RemovalResult,
} from './attributes.js';
import { formatReportMarkdown, multilabelReport, reportDict, type ClassificationReport } from './classification-report.js';
import { listImages, matchMethod } from './match.js';
import { readPairedTable, type Cell } from './paired.js';
import type { ImagePredictor } from './predictor.js';

/** Images per classifier call. */
export const BATCH = 32;
/** The method name of the originals in a predictions file. */
export const ORIGINAL = 'original';

export type PairStatus = 'ok' | 'missing' | 'extra' | 'error' | 'original_error';

export interface PairRow {
  /** Image id: the original's path relative to `original` (or the predictions file's `image`). */
  image: string;
  method: string;
  /** The method's file (relative to its dir), '' when missing or computed on the fly. */
  file: string;
  status: PairStatus;
  message: string;
}

export interface MethodCounts {
  ok: number;
  missing: number;
  extra: number;
  error: number;
  /** Pairs not scored because the original failed (listed under `originals.errors`). */
  originalError: number;
  missingFiles: string[];
  extraFiles: string[];
  errors: { image: string; file: string; message: string }[];
}

export interface AttributesRunOptions {
  /** Directory of the original images (required with a predictor). */
  original?: string;
  /** Methods as directories of their outputs. */
  methods?: { name: string; dir: string }[];
  /** Baselines computed from the originals on the fly: 'pixelate:8', 'blur:17', 'mask' (or parsed Methods). */
  baselines?: (string | Method)[];
  predictor?: ImagePredictor;
  /** A predictions file instead of a predictor. */
  predictions?: string;
  outDir: string;
  /** Ground-truth labels of the originals, for Table 5. */
  labels?: string;
  /** Only the labels of this split (manifest `split` column or a CSV `split` column) count for Table 5. */
  split?: string;
  /** Images per classifier call (default 32). */
  batchSize?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface AttributesRun {
  attributes: string[];
  methods: string[];
  removal: RemovalResult;
  rows: PairRow[];
  counts: {
    originals: { total: number; ok: number; error: number; errors: { image: string; message: string }[] };
    methods: Record<string, MethodCounts>;
  };
  table6: string;
  /** Table 5 markdown and report, null without labels. */
  table5: string | null;
  report: ClassificationReport | null;
  /** What run.json holds. */
  runJson: Record<string, unknown>;
}

// ------------------------------------------------------------------------------------------
// Labels
// ------------------------------------------------------------------------------------------

const IMAGE_EXT = /\.(png|jpe?g|webp|bmp|tiff?)$/i;
const stemOf = (s: string) => s.replace(IMAGE_EXT, '');
const baseOf = (s: string) => s.slice(s.lastIndexOf('/') + 1);

/**
 * Ground-truth vectors keyed by image. Lookup of an original `rel` tries, in order, the exact
 * key, then `rel` without its extension, its basename, its basename without extension, each
 * against the exact keys and then against the same shortened forms of the keys (a form shared
 * by two different entries is ambiguous and never matches). So `faces/<id>.png` finds manifest
 * row `<id>`, and `000001.jpg` finds source `img_align_celeba/000001.jpg`.
 */
export class LabelIndex {
  private readonly exact = new Map<string, Uint8Array>();
  private readonly derived = new Map<string, Uint8Array | null>();
  constructor(readonly attributes: string[], readonly source: string) {}
  get size(): number {
    return this.exact.size;
  }
  add(key: string, v: Uint8Array, alsoExact = true): void {
    if (alsoExact) this.exact.set(key, v);
    for (const d of new Set([stemOf(key), baseOf(key), stemOf(baseOf(key))])) {
      if (d === key && alsoExact) continue;
      const prev = this.derived.get(d);
      this.derived.set(d, prev === undefined || prev === v ? v : null);
    }
  }
  get(rel: string): Uint8Array | undefined {
    for (const c of [rel, stemOf(rel), baseOf(rel), stemOf(baseOf(rel))]) {
      const e = this.exact.get(c);
      if (e) return e;
      const d = this.derived.get(c);
      if (d) return d;
    }
    return undefined;
  }
}

function labelValue(v: unknown, where: string): 0 | 1 {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : String(v);
  if (s === '1') return 1;
  if (s === '0' || s === '-1') return 0;
  throw new InputError(`${where}: '${s}' is not 0, 1 or -1`);
}

function readManifestLabels(path: string, table: Table, split: string | undefined): LabelIndex {
  const col = (name: string) => table.getChild(name);
  const id = col('id')!;
  const labels = col('labels')!;
  const source = col('source');
  const status = col('status');
  const splitCol = col('split');
  if (split !== undefined && !splitCol) throw new InputError(`--split ${split}: manifest '${path}' has no 'split' column`);
  let names: string[] | null = null;
  const rows: { id: string; source: string; v: Uint8Array }[] = [];
  for (let i = 0; i < table.numRows; i++) {
    if (status && String(status.get(i)) !== 'ok') continue;
    if (split !== undefined && String(splitCol!.get(i)) !== split) continue;
    const where = `manifest '${path}' row ${i + 1} (id '${String(id.get(i))}')`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(labels.get(i) ?? '') || '{}');
    } catch {
      throw new InputError(`${where}: the labels column is not JSON`);
    }
    const attrs = (parsed as { attributes?: unknown }).attributes;
    if (attrs === undefined || attrs === null || typeof attrs !== 'object') {
      throw new InputError(`${where}: no 'attributes' in the labels (is this a CelebA manifest?)`);
    }
    const keys = Object.keys(attrs);
    if (names === null) names = keys;
    else if (keys.length !== names.length || keys.some((k, j) => k !== names![j])) {
      throw new InputError(`${where}: attributes ${keys.join(', ')} differ from the first row's ${names.join(', ')}`);
    }
    const v = Uint8Array.from(keys.map((k) => labelValue((attrs as Record<string, unknown>)[k], `${where}, attribute '${k}'`)));
    rows.push({ id: String(id.get(i)), source: source ? String(source.get(i) ?? '') : '', v });
  }
  if (names === null) throw new InputError(`manifest '${path}' has no ok rows${split !== undefined ? ` in split '${split}'` : ''} with attribute labels`);
  const index = new LabelIndex(names, `manifest ${path}`);
  const perSource = new Map<string, number>();
  for (const r of rows) perSource.set(r.source, (perSource.get(r.source) ?? 0) + 1);
  for (const r of rows) {
    index.add(r.id, r.v);
    // the source image only names the face when it holds one face
    if (r.source && perSource.get(r.source) === 1) index.add(r.source, r.v, false);
  }
  return index;
}

function readTableLabels(path: string, columns: string[], rows: Record<string, Cell>[], split: string | undefined): LabelIndex {
  if (!columns.includes('image')) throw new InputError(`labels '${path}': no 'image' column (columns: ${columns.join(', ')})`);
  if (split !== undefined && !columns.includes('split')) throw new InputError(`--split ${split}: labels '${path}' has no 'split' column`);
  const names = columns.filter((c) => c !== 'image' && c !== 'split');
  if (names.length === 0) throw new InputError(`labels '${path}': no attribute columns besides 'image'`);
  const index = new LabelIndex(names, `labels ${path}`);
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const image = String(row.image ?? '').trim();
    const where = `labels '${path}' row ${i + 1}`;
    if (image === '') throw new InputError(`${where}: empty image`);
    if (seen.has(image)) throw new InputError(`${where}: image '${image}' is listed twice`);
    seen.add(image);
    if (split !== undefined && String(row.split ?? '').trim() !== split) return;
    index.add(image, Uint8Array.from(names.map((n) => labelValue(row[n], `${where} (image '${image}'), column '${n}'`))));
  });
  if (index.size === 0) throw new InputError(`labels '${path}' has no rows${split !== undefined ? ` in split '${split}'` : ''}`);
  return index;
}

/**
 * Reads ground-truth attribute labels: a preprocessed CelebA manifest.arrow (`id`, `labels`
 * JSON with `attributes`, `split`, `status`; only ok rows), or a CSV / Arrow table with an
 * `image` column, an optional `split` column and one 0/1 (or -1/1) column per attribute.
 */
export async function readAttributeLabels(path: string, split?: string): Promise<LabelIndex> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new InputError(`--labels '${path}' is not a file`);
  const ext = extname(path).toLowerCase();
  const bytes = readFileSync(path);
  if (ext !== '.csv' && bytes.subarray(0, 6).toString('latin1') === 'ARROW1') {
    let table: Table;
    try {
      table = tableFromIPC(bytes);
    } catch (e) {
      throw new InputError(`labels '${path}': not a readable Arrow file (${(e as Error).message.split('\n')[0]})`);
    }
    const cols = table.schema.fields.map((f) => f.name);
    if (cols.includes('id') && cols.includes('labels')) return readManifestLabels(path, table, split);
  }
  const t = await readPairedTable(path);
  return readTableLabels(path, t.columns, t.rows, split);
}

// ------------------------------------------------------------------------------------------
// Predictions file
// ------------------------------------------------------------------------------------------

/** A probability vector: the classifier's float32 output, or float64 as read from a predictions file (never rounded to float32: 0.5000000001 stays above 0.5). */
type Vec = Float32Array | Float64Array;

interface Gathered {
  attributes: string[];
  /** Image ids of the originals, in order. */
  originals: string[];
  originalOk: Map<string, Vec>;
  originalErrors: Map<string, string>;
  methods: { name: string; predictions: Map<string, Vec>; rows: PairRow[] }[];
}

function probability(v: Cell | undefined, where: string): number {
  const s = typeof v === 'number' ? v : Number(String(v ?? '').trim() === '' ? NaN : String(v).trim());
  if (!Number.isFinite(s) || s < 0 || s > 1) throw new InputError(`${where}: p '${String(v)}' is not a number in [0, 1]`);
  return s;
}

async function gatherFromFile(path: string): Promise<Gathered> {
  const t = await readPairedTable(path);
  for (const c of ['image', 'method', 'attribute', 'p']) {
    if (!t.columns.includes(c)) throw new InputError(`predictions '${path}': no '${c}' column (columns: ${t.columns.join(', ')}; expected image, method, attribute, p)`);
  }
  // method -> image -> attribute -> p, in order of first appearance
  const byMethod = new Map<string, Map<string, Map<string, number>>>();
  const attributeOrder: string[] = [];
  const attributeSeen = new Set<string>();
  t.rows.forEach((row, i) => {
    const where = `predictions '${path}' row ${i + 1}`;
    const image = String(row.image ?? '').trim();
    const method = String(row.method ?? '').trim();
    const attribute = String(row.attribute ?? '').trim();
    if (image === '' || method === '' || attribute === '') throw new InputError(`${where}: empty image, method or attribute`);
    const p = probability(row.p, where);
    let m = byMethod.get(method);
    if (!m) byMethod.set(method, (m = new Map()));
    let img = m.get(image);
    if (!img) m.set(image, (img = new Map()));
    if (img.has(attribute)) throw new InputError(`${where}: image '${image}', method '${method}', attribute '${attribute}' appears twice`);
    img.set(attribute, p);
    if (method === ORIGINAL && !attributeSeen.has(attribute)) {
      attributeSeen.add(attribute);
      attributeOrder.push(attribute);
    }
  });
  const orig = byMethod.get(ORIGINAL);
  if (!orig) throw new InputError(`predictions '${path}': no rows with method '${ORIGINAL}' (the original images' predictions)`);
  const methodNames = [...byMethod.keys()].filter((m) => m !== ORIGINAL);
  if (methodNames.length === 0) throw new InputError(`predictions '${path}': only method '${ORIGINAL}'; no anonymized method to compare`);
  for (const name of methodNames) {
    const other: string[] = [];
    for (const img of byMethod.get(name)!.values()) for (const a of img.keys()) if (!attributeSeen.has(a) && !other.includes(a)) other.push(a);
    if (other.length) checkAttributeNames([...attributeOrder, ...other], attributeOrder, `method '${name}'`, `method '${ORIGINAL}'`);
  }
  const k = attributeOrder.length;
  const vector = (img: Map<string, number>): Float64Array | string => {
    if (img.size !== k) {
      const absent = attributeOrder.filter((a) => !img.has(a));
      return `predictions for ${img.size} of ${k} attributes (missing: ${absent.join(', ')})`;
    }
    return Float64Array.from(attributeOrder.map((a) => img.get(a)!));
  };
  const originals = [...orig.keys()];
  const originalOk = new Map<string, Vec>();
  const originalErrors = new Map<string, string>();
  for (const [id, img] of orig) {
    const v = vector(img);
    if (typeof v === 'string') originalErrors.set(id, v);
    else originalOk.set(id, v);
  }
  const methods = methodNames.map((name) => {
    const m = byMethod.get(name)!;
    const predictions = new Map<string, Vec>();
    const rows: PairRow[] = [];
    for (const id of originals) {
      const row: PairRow = { image: id, method: name, file: '', status: 'ok', message: '' };
      rows.push(row);
      const img = m.get(id);
      if (originalErrors.has(id)) Object.assign(row, { status: 'original_error', message: `original: ${originalErrors.get(id)}` });
      else if (!img) Object.assign(row, { status: 'missing', message: `no rows for image '${id}' with method '${name}'` });
      else {
        const v = vector(img);
        if (typeof v === 'string') Object.assign(row, { status: 'error', message: v });
        else predictions.set(id, v);
      }
    }
    for (const id of m.keys()) {
      if (!orig.has(id)) rows.push({ image: id, method: name, file: '', status: 'extra', message: `no '${ORIGINAL}' rows for image '${id}'` });
    }
    return { name, predictions, rows };
  });
  return { attributes: attributeOrder, originals, originalOk, originalErrors, methods };
}

// ------------------------------------------------------------------------------------------
// Predictor
// ------------------------------------------------------------------------------------------

/** Predicts a batch; when the batch fails on bad input, one image at a time so one image's error stays its own. */
async function predictSafe(p: ImagePredictor, images: RgbImage[]): Promise<(Float32Array | string)[]> {
  if (images.length === 0) return [];
  const check = (v: Float32Array | undefined): Float32Array | string => {
    if (!v || v.length !== p.classes.length) throw new Error(`classifier '${p.name}' returned ${v?.length ?? 'no'} values for ${p.classes.length} classes`);
    for (const x of v) if (!(x >= 0 && x <= 1)) return `classifier returned p = ${x}, not a probability`;
    return v;
  };
  try {
    const out = await p.predict(images);
    if (out.length !== images.length) throw new Error(`classifier '${p.name}' returned ${out.length} predictions for ${images.length} images`);
    return out.map(check);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    if (images.length === 1) return [e.message];
    const out: (Float32Array | string)[] = [];
    for (const img of images) {
      try {
        out.push(check((await p.predict([img]))[0]));
      } catch (e2) {
        if (!(e2 instanceof InputError)) throw e2;
        out.push(e2.message);
      }
    }
    return out;
  }
}

function applyBaseline(m: Method, img: RgbImage): RgbImage {
  switch (m.kind) {
    case 'pixelate': return pixelate(img, m.n);
    case 'blur': return blur(img, m.k, m.filter);
    case 'mask': return mask(img);
    default: throw new InputError(`--baselines: '${methodLabel(m)}' cannot be computed on the fly (pixelate:N, blur:K[:box] or mask); give its outputs with --method NAME=DIR`);
  }
}

async function gatherFromPredictor(
  predictor: ImagePredictor, original: string, dirMethods: { name: string; dir: string }[], baselines: Method[], batch: number,
  onProgress?: AttributesRunOptions['onProgress'],
): Promise<Gathered> {
  const originals = listImages(original);
  if (originals.length === 0) throw new InputError(`--original '${original}' holds no images`);
  const originalOk = new Map<string, Float32Array>();
  const originalErrors = new Map<string, string>();
  const base = baselines.map((m) => ({ m, name: methodLabel(m), predictions: new Map<string, Float32Array>(), rows: [] as PairRow[] }));

  // 1. originals, and the on-the-fly baselines of each decoded original
  for (let i = 0; i < originals.length; i += batch) {
    const rels = originals.slice(i, i + batch);
    const decoded: { rel: string; img: RgbImage }[] = [];
    for (const rel of rels) {
      try {
        decoded.push({ rel, img: await decodeImage(join(original, rel), rel) });
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        originalErrors.set(rel, e.message);
      }
    }
    const preds = await predictSafe(predictor, decoded.map((d) => d.img));
    decoded.forEach((d, j) => {
      const v = preds[j]!;
      if (typeof v === 'string') originalErrors.set(d.rel, v);
      else originalOk.set(d.rel, v);
    });
    for (const b of base) {
      const imgs: { row: PairRow; img: RgbImage }[] = [];
      for (const d of decoded) {
        const row: PairRow = { image: d.rel, method: b.name, file: '', status: 'ok', message: '' };
        b.rows.push(row);
        if (!originalOk.has(d.rel)) {
          Object.assign(row, { status: 'original_error', message: `original: ${originalErrors.get(d.rel)}` });
          continue;
        }
        try {
          imgs.push({ row, img: applyBaseline(b.m, d.img) });
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          Object.assign(row, { status: 'error', message: e.message });
        }
      }
      const bp = await predictSafe(predictor, imgs.map((x) => x.img));
      imgs.forEach((x, j) => {
        const v = bp[j]!;
        if (typeof v === 'string') Object.assign(x.row, { status: 'error', message: v });
        else b.predictions.set(x.row.image, v);
      });
    }
    onProgress?.(ORIGINAL, Math.min(i + batch, originals.length), originals.length);
  }
  // originals that failed to decode still get a row in every baseline
  for (const b of base) {
    const have = new Set(b.rows.map((r) => r.image));
    for (const rel of originals) {
      if (!have.has(rel)) b.rows.push({ image: rel, method: b.name, file: '', status: 'original_error', message: `original: ${originalErrors.get(rel)}` });
    }
    const order = new Map(originals.map((r, i) => [r, i]));
    b.rows.sort((x, y) => order.get(x.image)! - order.get(y.image)!);
  }

  // 2. methods given as directories
  const methods: Gathered['methods'] = [];
  for (const m of dirMethods) {
    const match = matchMethod(originals, listImages(m.dir));
    const predictions = new Map<string, Float32Array>();
    const rows: PairRow[] = [];
    let pending: { row: PairRow; img: RgbImage }[] = [];
    const flush = async () => {
      const preds = await predictSafe(predictor, pending.map((p) => p.img));
      pending.forEach((p, j) => {
        const v = preds[j]!;
        if (typeof v === 'string') Object.assign(p.row, { status: 'error', message: v });
        else predictions.set(p.row.image, v);
      });
      pending = [];
    };
    for (const [i, rel] of originals.entries()) {
      const file = match.matched.get(rel) ?? '';
      const row: PairRow = { image: rel, method: m.name, file, status: 'ok', message: '' };
      rows.push(row);
      // a failed original is reported first: the pair cannot be scored whatever the method has
      if (!originalOk.has(rel)) Object.assign(row, { status: 'original_error', message: `original: ${originalErrors.get(rel)}` });
      else if (!file) Object.assign(row, { status: 'missing', message: `no output for '${rel}' in ${m.dir} (tried 0_{basename}, the same path, another extension)` });
      else {
        try {
          pending.push({ row, img: await decodeImage(join(m.dir, file), file) });
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          Object.assign(row, { status: 'error', message: e.message });
        }
      }
      if (pending.length >= batch) await flush();
      if ((i + 1) % batch === 0 || i + 1 === originals.length) onProgress?.(m.name, i + 1, originals.length);
    }
    await flush();
    for (const f of match.extra) rows.push({ image: '', method: m.name, file: f, status: 'extra', message: 'matches no original (extra file)' });
    methods.push({ name: m.name, predictions, rows });
  }
  return {
    attributes: [...predictor.classes], originals, originalOk, originalErrors,
    methods: [...methods, ...base.map(({ name, predictions, rows }) => ({ name, predictions, rows }))],
  };
}

// ------------------------------------------------------------------------------------------
// The run
// ------------------------------------------------------------------------------------------

function countRows(rows: PairRow[]): MethodCounts {
  const c: MethodCounts = { ok: 0, missing: 0, extra: 0, error: 0, originalError: 0, missingFiles: [], extraFiles: [], errors: [] };
  for (const r of rows) {
    if (r.status === 'ok') c.ok++;
    else if (r.status === 'missing') { c.missing++; c.missingFiles.push(r.image); }
    else if (r.status === 'extra') { c.extra++; c.extraFiles.push(r.file || r.image); }
    else if (r.status === 'error') { c.error++; c.errors.push({ image: r.image, file: r.file, message: r.message }); }
    else c.originalError++;
  }
  return c;
}

function formatCounts(counts: AttributesRun['counts']): string {
  const o = counts.originals;
  const lines = ['', '### Inputs', '', `Originals: ${o.total}, ${o.ok} predicted, ${o.error} errors.`, ''];
  lines.push('| Method | ok | missing | error | original error | extra |', '|---|---:|---:|---:|---:|---:|');
  for (const [name, m] of Object.entries(counts.methods)) lines.push(`| ${name} | ${m.ok} | ${m.missing} | ${m.error} | ${m.originalError} | ${m.extra} |`);
  for (const e of o.errors) lines.push('', `Original error: ${e.image}: ${e.message}`);
  for (const [name, m] of Object.entries(counts.methods)) {
    if (m.missingFiles.length) lines.push('', `Missing for ${name}: ${m.missingFiles.join(', ')}`);
    if (m.extraFiles.length) lines.push('', `Extra in ${name}: ${m.extraFiles.join(', ')}`);
    for (const e of m.errors) lines.push('', `Error in ${name}: ${e.file || e.image}: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

function rowsToArrow(g: Gathered, rows: PairRow[]): Uint8Array {
  const image: string[] = [];
  const method: string[] = [];
  const file: string[] = [];
  const attribute: string[] = [];
  const pOrig: number[] = [];
  const pAnon: number[] = [];
  const status: string[] = [];
  const message: string[] = [];
  const anon = new Map(g.methods.map((m) => [m.name, m.predictions]));
  for (const r of rows) {
    const push = (a: string, po: number, pa: number) => {
      image.push(r.image); method.push(r.method); file.push(r.file); attribute.push(a);
      pOrig.push(po); pAnon.push(pa); status.push(r.status); message.push(r.message);
    };
    const o = g.originalOk.get(r.image);
    const v = anon.get(r.method)?.get(r.image);
    if (r.status === 'ok' && o && v) g.attributes.forEach((a, j) => push(a, o[j]!, v[j]!));
    else push('', NaN, NaN);
  }
  const t = tableFromArrays({
    image, method, attribute, p_orig: Float64Array.from(pOrig), p_anon: Float64Array.from(pAnon), file, status, message,
  });
  return tableToIPC(t, 'file');
}

const jsonNumbers = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

export async function runAttributesEval(opts: AttributesRunOptions): Promise<AttributesRun> {
  const dirMethods = opts.methods ?? [];
  const baselines = (opts.baselines ?? []).map((b) => (typeof b === 'string' ? parseMethod(b.trim()) : b));
  const batch = opts.batchSize ?? BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new InputError(`batch size must be a positive integer (got ${batch})`);
  if (opts.predictor && opts.predictions) throw new InputError('give a classifier or a predictions file, not both');
  if (!opts.predictor && !opts.predictions) throw new InputError('give a classifier (--classifier RUN) or a predictions file (--predictions FILE)');
  if (opts.predictions && (dirMethods.length > 0 || baselines.length > 0)) {
    throw new InputError('with a predictions file the methods are the file\'s; --method and --baselines need a classifier');
  }
  if (opts.predictor) {
    if (opts.predictor.kind !== 'multilabel') throw new InputError(`classifier '${opts.predictor.name}' is ${opts.predictor.kind}; attribute removal needs a multi-label classifier (independent sigmoids)`);
    if (!opts.original) throw new InputError('--original DIR is required with a classifier');
    if (!existsSync(opts.original) || !statSync(opts.original).isDirectory()) throw new InputError(`--original '${opts.original}' is not a directory`);
    if (dirMethods.length + baselines.length === 0) throw new InputError('name at least one --method NAME=DIR or --baselines');
    const names = [...dirMethods.map((m) => m.name), ...baselines.map(methodLabel)];
    if (new Set(names).size !== names.length) throw new InputError(`method names must be unique (got ${names.join(', ')})`);
    if (names.includes(ORIGINAL)) throw new InputError(`'${ORIGINAL}' is reserved for the original images; name the method otherwise`);
    for (const m of dirMethods) if (!existsSync(m.dir) || !statSync(m.dir).isDirectory()) throw new InputError(`method '${m.name}': '${m.dir}' is not a directory`);
    for (const b of baselines) {
      if (b.kind === 'ganonymization') throw new InputError(`--baselines: '${methodLabel(b)}' cannot be computed on the fly (pixelate:N, blur:K[:box] or mask); give its outputs with --method NAME=DIR`);
    }
  }
  // labels first: a name mismatch or labels that fit no original fail before any prediction
  const labels = opts.labels ? await readAttributeLabels(opts.labels, opts.split) : null;
  if (!labels && opts.split !== undefined) throw new InputError('--split needs --labels');
  const checkLabels = (attributes: readonly string[], what: string, images: readonly string[]) => {
    if (!labels) return;
    checkAttributeNames(attributes, labels.attributes, what, `the labels (${labels.source})`);
    if (!images.some((r) => labels.get(r))) {
      throw new InputError(`no original image has a row in the labels ${labels.source}${opts.split !== undefined ? ` (split '${opts.split}')` : ''}; first originals: ${images.slice(0, 3).join(', ')}`);
    }
  };
  let g: Gathered;
  if (opts.predictor) {
    checkLabels(opts.predictor.classes, `the classifier '${opts.predictor.name}'`, listImages(opts.original!));
    g = await gatherFromPredictor(opts.predictor, opts.original!, dirMethods, baselines, batch, opts.onProgress);
  } else {
    g = await gatherFromFile(opts.predictions!);
    checkLabels(g.attributes, `the predictions file`, g.originals);
  }

  const removal = removalRates({ attributes: g.attributes, original: g.originalOk, methods: g.methods });
  const rows = g.methods.flatMap((m) => m.rows);
  const counts: AttributesRun['counts'] = {
    originals: {
      total: g.originals.length, ok: g.originalOk.size, error: g.originalErrors.size,
      errors: [...g.originalErrors].map(([image, message]) => ({ image, message })),
    },
    methods: Object.fromEntries(g.methods.map((m) => [m.name, countRows(m.rows)])),
  };
  const classifier = opts.predictor
    ? { name: opts.predictor.name, proxy: opts.predictor.proxy, ...(opts.predictor.weightsSha256 ? { weightsSha256: opts.predictor.weightsSha256 } : {}) }
    : 'predictions file' as const;
  const classifierText = typeof classifier === 'string' ? `predictions file ${basename(opts.predictions!)}` : `${classifier.name}${classifier.proxy ? ' (proxy)' : ''}`;
  const table6 = `## Table 6: attribute removal rates\n\n${formatTable6(removal, { classifier: classifierText })}${formatCounts(counts)}`;

  // Table 5: the originals' predictions vs the labels
  let report: ClassificationReport | null = null;
  let table5: string | null = null;
  let table5Info: { images: number; unlabelled: number; split: string | null; unlabelledImages: string[] } | null = null;
  if (labels) {
    const col = g.attributes.map((a) => labels.attributes.indexOf(a));
    const yTrue: number[][] = [];
    const yPred: number[][] = [];
    const unlabelled: string[] = [];
    for (const id of g.originals) {
      const p = g.originalOk.get(id);
      if (!p) continue;
      const t = labels.get(id);
      if (!t) { unlabelled.push(id); continue; }
      yTrue.push(col.map((c) => t[c]!));
      yPred.push(Array.from(p, (x) => (x > THRESHOLD ? 1 : 0)));
    }
    table5Info = { images: yTrue.length, unlabelled: unlabelled.length, split: opts.split ?? null, unlabelledImages: unlabelled };
    if (yTrue.length > 0) {
      report = multilabelReport(yTrue, yPred, { targetNames: g.attributes });
      table5 = [
        '## Table 5: multi-label classification report on the originals',
        '',
        `Classifier: ${classifierText}; predicted = p > ${THRESHOLD}. ${yTrue.length} original images with labels (${labels.source}`
          + `${opts.split !== undefined ? `, split ${opts.split}` : ''}); ${unlabelled.length} predicted originals without labels; `
          + `${g.originalErrors.size} originals failed. As scikit-learn's classification_report.`,
        '',
        formatReportMarkdown(report, 2).trimEnd(),
        ...(report.warnings.length ? ['', ...report.warnings.map((w) => `Warning: ${w}`)] : []),
        '',
      ].join('\n');
    }
  }

  const runJson: Record<string, unknown> = {
    kind: 'attributes',
    toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), createdAt: new Date().toISOString(),
    classifier,
    ...(opts.predictions ? { predictions: resolve(opts.predictions) } : {}),
    ...(opts.original && opts.predictor ? { original: resolve(opts.original) } : {}),
    methods: g.methods.map((m) => m.name),
    methodSources: g.methods.map((m) => {
      const d = dirMethods.find((x) => x.name === m.name);
      return d ? { name: m.name, dir: resolve(d.dir) } : baselines.some((b) => methodLabel(b) === m.name) ? { name: m.name, baseline: m.name } : { name: m.name, predictions: true };
    }),
    attributes: g.attributes,
    threshold: THRESHOLD,
    /** The labels' split Table 5 was restricted to (--split), else null. */
    split: opts.split ?? null,
    originals: counts.originals,
    counts: counts.methods,
    pairs: Object.fromEntries(removal.methods.map((m) => [m.name, m.pairs])),
    table6: table6Rows(removal),
    labels: labels ? { file: resolve(opts.labels!), source: labels.source, ...table5Info } : null,
    table5: report ? reportDict(report) : null,
    table5Warnings: report ? report.warnings : [],
  };
  await mkdir(opts.outDir, { recursive: true });
  await writeFileAtomic(join(opts.outDir, 'attributes.arrow'), rowsToArrow(g, rows));
  await writeFileAtomic(join(opts.outDir, 'table6.md'), table6);
  if (table5 !== null) await writeFileAtomic(join(opts.outDir, 'table5.md'), table5);
  else rmSync(join(opts.outDir, 'table5.md'), { force: true }); // not a stale one from an earlier run
  await writeFileAtomic(join(opts.outDir, 'run.json'), `${JSON.stringify(runJson, jsonNumbers, 2)}\n`);
  return { attributes: g.attributes, methods: g.methods.map((m) => m.name), removal, rows, counts, table6, table5, report, runJson };
}
