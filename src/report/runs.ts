/**
 * Finding and reading the run directories a report is built from.
 *
 * A directory is recognised by what it holds (several parts may come from one directory):
 * - run.json with `kind` 'emotion' | 'emotion-training' | 'attributes' (+ emotion.arrow,
 *   confusion.arrow, attributes.arrow): the emotion / emotion-training / attribute evaluations;
 * - identity.arrow (run.json without a kind, or kind 'identity'): `ganon eval identity`;
 * - steps.arrow: GAN training (`ganon train`), with samples/*.png;
 * - epochs.arrow: classifier training.
 * A directory that holds none of these but whose subdirectories do (the demo's output folder)
 * is expanded one level. Nothing is dropped silently: whatever cannot be read becomes a
 * `Skipped` entry with the reason, and the rest of the report goes on.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';

export type RunKind = 'identity' | 'emotion' | 'emotion-training' | 'attributes' | 'gan-training' | 'classifier-training';
export const RUN_KINDS: readonly RunKind[] = ['identity', 'emotion', 'emotion-training', 'attributes', 'gan-training', 'classifier-training'];

/** The model a run scored with: an embedder (identity) or a classifier. */
export interface ModelInfo {
  role: 'embedder' | 'classifier';
  name: string;
  /** An embedded substitute for the paper's model: numbers are labelled "proxy". */
  proxy: boolean;
  sha256: string | null;
}

/** What every table and figure states about where its numbers come from. */
export interface Provenance {
  run: string;
  kind: RunKind;
  dataset: string | null;
  split: string | null;
  /** Images / faces / samples / steps the numbers rest on (what it counts is said in `nLabel`). */
  n: number | null;
  nLabel: string;
  model: ModelInfo | null;
  toolkitVersion: string | null;
  gitCommit: string | null;
}

export type Json = Record<string, unknown>;
/** An Arrow table as plain rows. */
export type Rows = Record<string, unknown>[];

export interface RunBase { dir: string; name: string; json: Json | null; provenance: Provenance }

export interface IdentitySummary { name: string; n: number; mean: number | null; median: number | null; ci95: [number | null, number | null]; shareAbove: number | null; rank1: number | null; rank5: number | null }
export interface IdentityComparison { reference: string; method: string; n: number; nZero: number; meanDiff: number | null; statistic: number | null; z: number | null; pvalue: number | null; pBonferroni: number | null; r: number | null }
export interface IdentityRunData extends RunBase {
  kind: 'identity';
  threshold: number | null;
  embedderLabel: string;
  summary: IdentitySummary[];
  comparisons: IdentityComparison[];
  reference: string | null;
  /** identity.arrow: original, method, file, match, status, distance, rank (null when absent). */
  rows: Rows | null;
}

export interface EmotionTable3Row { class: string; method: string; reference: string; n: number; zeros: number; statistic: number | null; z: number | null; r: number | null; p: number | null; pBonferroni: number | null; stars: string; starsBonferroni: string; shapiro: { w: number | null; p: number | null } | null }
export interface EmotionRunData extends RunBase {
  kind: 'emotion';
  reference: string | null;
  methods: string[];
  classes: string[];
  unavailable: string[];
  counts: Record<string, { ok: number; missing: number; extra: number; error: number }>;
  table2: { classes: string[]; methods: string[]; mean: Record<string, Record<string, number | null>>; n: Record<string, number> };
  table3: EmotionTable3Row[];
  /** emotion.arrow: image, method, class, p_orig, p_anon (null when absent). */
  rows: Rows | null;
}

export type ReportDict = Record<string, { precision: number; recall: number; 'f1-score': number; support: number } | number>;
export interface EmotionTrainingRunData extends RunBase {
  kind: 'emotion-training';
  classes: string[];
  methods: string[];
  reports: Record<string, ReportDict>;
  /** confusion.arrow: method, true, pred, count, rate (null when absent). */
  confusion: Rows | null;
}

export interface Table6Row { attribute: string; method: string; kept: number; removed: number; rate: number | null }
export interface AttributesRunData extends RunBase {
  kind: 'attributes';
  methods: string[];
  attributes: string[];
  counts: Json;
  table6: Table6Row[];
  /** One multilabel report, or one per method (null when absent). */
  table5: Record<string, ReportDict> | null;
  rows: Rows | null;
}

export interface GanTrainingRunData extends RunBase {
  kind: 'gan-training';
  /** steps.arrow: step, epoch, G, G_adv, G_L1, D, imgPerSec, time. */
  steps: Rows;
  /** samples/*.png, sorted (the last is the newest). */
  samples: string[];
}

export interface ClassifierTrainingRunData extends RunBase {
  kind: 'classifier-training';
  /** epochs.arrow: epoch, train_loss, val_loss, val_accuracy, lr, seconds. */
  epochs: Rows;
}

export type RunData = IdentityRunData | EmotionRunData | EmotionTrainingRunData | AttributesRunData | GanTrainingRunData | ClassifierTrainingRunData;

export interface Skipped { what: string; reason: string }

export interface LoadedRuns { runs: RunData[]; skipped: Skipped[] }

// ------------------------------------------------------------------------------------------

/** Reads an Arrow IPC file (file or stream format) into plain rows; bigints become numbers. */
export function readArrowRows(path: string): Rows {
  const t = tableFromIPC(readFileSync(path));
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n));
  const rows: Rows = [];
  for (let i = 0; i < t.numRows; i++) {
    const r: Record<string, unknown> = {};
    names.forEach((n, j) => {
      const v = cols[j]?.get(i);
      r[n] = typeof v === 'bigint' ? Number(v) : v;
    });
    rows.push(r);
  }
  return rows;
}

function readJson(path: string): Json {
  const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('run.json is not a JSON object');
  return v as Json;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strings = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${what} must be a list of strings`);
  return v as string[];
};
const object = (v: unknown, what: string): Json => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} must be an object`);
  return v as Json;
};

function classifierInfo(v: unknown, role: ModelInfo['role'] = 'classifier'): ModelInfo | null {
  if (typeof v === 'string') return { role, name: v, proxy: false, sha256: null };
  if (v === null || typeof v !== 'object') return null;
  const o = v as Json;
  const name = str(o.name) ?? str(o.label);
  if (!name) return null;
  return { role, name, proxy: o.proxy === true, sha256: str(o.weightsSha256) ?? str(o.sha256) };
}

function prov(dir: string, kind: RunKind, json: Json | null, n: number | null, nLabel: string, model: ModelInfo | null): Provenance {
  return {
    run: dir, kind, dataset: str(json?.dataset), split: str(json?.split), n, nLabel, model,
    toolkitVersion: str(json?.toolkitVersion), gitCommit: str(json?.gitCommit),
  };
}

function loadIdentity(dir: string, json: Json | null): IdentityRunData {
  const arrow = join(dir, 'identity.arrow');
  const rows = existsSync(arrow) ? readArrowRows(arrow) : null;
  const emb = (json?.embedder ?? null) as Json | null;
  const model: ModelInfo | null = emb && typeof emb.name === 'string'
    ? { role: 'embedder', name: emb.name, proxy: emb.proxy === true, sha256: str(emb.weightsSha256) ?? str(emb.sha256) }
    : rows && rows.length > 0 ? { role: 'embedder', name: String(rows[0]!.embedder ?? 'unknown'), proxy: rows[0]!.proxy === 'proxy', sha256: null } : null;
  let summary: IdentitySummary[] = [];
  if (Array.isArray(json?.summary)) {
    summary = (json.summary as Json[]).map((s) => ({
      name: String(s.name), n: num(s.n) ?? 0, mean: num(s.mean), median: num(s.median),
      ci95: Array.isArray(s.ci95) ? [num(s.ci95[0]), num(s.ci95[1])] : [null, null],
      shareAbove: num(s.shareAbove), rank1: num(s.rank1), rank5: num(s.rank5),
    }));
  } else if (rows) {
    // no run.json summary: mean and median from the per-face rows
    const by = new Map<string, number[]>();
    for (const r of rows) if (r.status === 'ok' && typeof r.distance === 'number' && Number.isFinite(r.distance)) by.set(String(r.method), [...(by.get(String(r.method)) ?? []), r.distance]);
    summary = [...by].map(([name, d]) => {
      const s = [...d].sort((a, b) => a - b);
      const m = s.length >> 1;
      return { name, n: d.length, mean: d.reduce((a, b) => a + b, 0) / d.length, median: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2, ci95: [null, null], shareAbove: null, rank1: null, rank5: null };
    });
  } else throw new Error('identity run without run.json summary or identity.arrow');
  const comparisons: IdentityComparison[] = Array.isArray(json?.comparisons) ? (json.comparisons as Json[]).map((c) => ({
    reference: String(c.reference), method: String(c.method), n: num(c.n) ?? 0, nZero: num(c.nZero) ?? 0, meanDiff: num(c.meanDiff),
    statistic: num(c.statistic), z: num(c.z), pvalue: num(c.pvalue), pBonferroni: num(c.pBonferroni), r: num(c.r),
  })) : [];
  const counts = (json?.counts ?? null) as Json | null;
  const n = num(counts?.faces) ?? (summary.length ? Math.max(...summary.map((s) => s.n)) : null);
  const threshold = json && 'threshold' in json ? num(json.threshold) : null;
  return {
    kind: 'identity', dir, name: basename(dir), json, rows, summary, comparisons, threshold,
    reference: str(json?.reference), embedderLabel: str(emb?.label) ?? model?.name ?? 'unknown',
    provenance: prov(dir, 'identity', json, n, 'original faces embedded', model),
  };
}

function loadEmotion(dir: string, json: Json): EmotionRunData {
  const t2 = object(json.table2, 'table2');
  const table2 = {
    classes: strings(t2.classes, 'table2.classes'), methods: strings(t2.methods, 'table2.methods'),
    mean: object(t2.mean, 'table2.mean') as EmotionRunData['table2']['mean'], n: object(t2.n ?? {}, 'table2.n') as Record<string, number>,
  };
  if (!Array.isArray(json.table3)) throw new Error('table3 must be a list');
  const table3 = (json.table3 as Json[]).map((r) => ({
    class: String(r.class), method: String(r.method), reference: String(r.reference), n: num(r.n) ?? 0, zeros: num(r.zeros) ?? 0,
    statistic: num(r.statistic), z: num(r.z), r: num(r.r), p: num(r.p), pBonferroni: num(r.pBonferroni),
    stars: typeof r.stars === 'string' ? r.stars : '', starsBonferroni: typeof r.starsBonferroni === 'string' ? r.starsBonferroni : '',
    shapiro: r.shapiro && typeof r.shapiro === 'object' ? { w: num((r.shapiro as Json).w), p: num((r.shapiro as Json).p) } : null,
  }));
  const arrow = join(dir, 'emotion.arrow');
  const ns = Object.values(table2.n).filter((v): v is number => typeof v === 'number');
  return {
    kind: 'emotion', dir, name: basename(dir), json, reference: str(json.reference),
    methods: strings(json.methods ?? table2.methods, 'methods'), classes: strings(json.classes ?? table2.classes, 'classes'),
    unavailable: Array.isArray(json.unavailable) ? strings(json.unavailable, 'unavailable') : [],
    counts: (json.counts ?? {}) as EmotionRunData['counts'], table2, table3,
    rows: existsSync(arrow) ? readArrowRows(arrow) : null,
    provenance: prov(dir, 'emotion', json, ns.length ? Math.max(...ns) : null, 'image pairs', classifierInfo(json.classifier)),
  };
}

function loadEmotionTraining(dir: string, json: Json): EmotionTrainingRunData {
  const reports = object(json.reports, 'reports') as Record<string, ReportDict>;
  const methods = Array.isArray(json.methods) ? strings(json.methods, 'methods') : Object.keys(reports);
  const arrow = join(dir, 'confusion.arrow');
  const first = reports[methods[0] ?? ''];
  const macro = first?.['macro avg'];
  const n = typeof macro === 'object' ? macro.support : null;
  return {
    kind: 'emotion-training', dir, name: basename(dir), json, methods, reports,
    classes: Array.isArray(json.classes) ? strings(json.classes, 'classes') : [],
    confusion: existsSync(arrow) ? readArrowRows(arrow) : null,
    provenance: prov(dir, 'emotion-training', json, n, 'validation images', classifierInfo(json.classifier)),
  };
}

function isScores(v: unknown): boolean {
  return v !== null && typeof v === 'object' && 'precision' in (v as Json);
}

function loadAttributes(dir: string, json: Json): AttributesRunData {
  if (!Array.isArray(json.table6)) throw new Error('table6 must be a list');
  const table6 = (json.table6 as Json[]).map((r) => ({ attribute: String(r.attribute), method: String(r.method), kept: num(r.kept) ?? 0, removed: num(r.removed) ?? 0, rate: num(r.rate) }));
  let table5: Record<string, ReportDict> | null = null;
  if (json.table5 && typeof json.table5 === 'object') {
    const t5 = json.table5 as Json;
    // one report dict (its values are score rows) or one per method
    table5 = Object.values(t5).some(isScores) ? { '': t5 as ReportDict } : (t5 as Record<string, ReportDict>);
  }
  const arrow = join(dir, 'attributes.arrow');
  const rows = existsSync(arrow) ? readArrowRows(arrow) : null;
  const counts = (json.counts ?? {}) as Json;
  const okCounts = Object.values(counts).map((c) => num((c as Json | null)?.ok)).filter((v): v is number => v !== null);
  return {
    kind: 'attributes', dir, name: basename(dir), json, table6, table5, counts, rows,
    methods: Array.isArray(json.methods) ? strings(json.methods, 'methods') : [...new Set(table6.map((r) => r.method))],
    attributes: Array.isArray(json.attributes) ? strings(json.attributes, 'attributes') : [...new Set(table6.map((r) => r.attribute))],
    provenance: prov(dir, 'attributes', json, okCounts.length ? Math.max(...okCounts) : rows ? new Set(rows.map((r) => r.image)).size : null, 'image pairs', classifierInfo(json.classifier)),
  };
}

function loadGan(dir: string, json: Json | null): GanTrainingRunData {
  const steps = readArrowRows(join(dir, 'steps.arrow'));
  const sdir = join(dir, 'samples');
  const samples = existsSync(sdir) ? readdirSync(sdir).filter((f) => /\.png$/i.test(f)).sort().map((f) => join(sdir, f)) : [];
  const ds = json?.dataset && typeof json.dataset === 'object' ? (json.dataset as Json) : null;
  const p = prov(dir, 'gan-training', json, steps.length, 'training steps logged', null);
  if (ds) {
    p.dataset = str(ds.root);
    p.split = 'train';
  }
  return { kind: 'gan-training', dir, name: basename(dir), json, steps, samples, provenance: p };
}

function loadClassifierTraining(dir: string, json: Json | null): ClassifierTrainingRunData {
  const epochs = readArrowRows(join(dir, 'epochs.arrow'));
  return { kind: 'classifier-training', dir, name: basename(dir), json, epochs, provenance: prov(dir, 'classifier-training', json, epochs.length, 'epochs', classifierInfo(json?.classifier ?? json?.model)) };
}

const EVAL_KINDS = new Set(['emotion', 'emotion-training', 'attributes', 'identity']);

/** `ganon eval identity`'s run.json has no kind: it is known by its embedder and summary. */
function isIdentityJson(json: Json | null): boolean {
  return json !== null && json.kind === undefined && typeof json.embedder === 'object' && json.embedder !== null && Array.isArray(json.summary);
}

/** Whether `dir` holds anything loadRun recognises. */
export function looksLikeRun(dir: string): boolean {
  return ['identity.arrow', 'steps.arrow', 'epochs.arrow'].some((f) => existsSync(join(dir, f))) || hasKnownKind(dir);
}

function hasKnownKind(dir: string): boolean {
  try {
    const json = readJson(join(dir, 'run.json'));
    return (typeof json.kind === 'string' && EVAL_KINDS.has(json.kind)) || isIdentityJson(json);
  } catch {
    return false;
  }
}

/** Every part of one run directory (a directory may hold more than one, e.g. training logs and an evaluation). */
export function loadRun(dirIn: string): LoadedRuns {
  const dir = resolve(dirIn);
  const runs: RunData[] = [];
  const skipped: Skipped[] = [];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return { runs, skipped: [{ what: dirIn, reason: 'not a directory' }] };
  let json: Json | null = null;
  if (existsSync(join(dir, 'run.json'))) {
    try {
      json = readJson(join(dir, 'run.json'));
    } catch (e) {
      skipped.push({ what: `${dirIn}/run.json`, reason: `unreadable: ${(e as Error).message}` });
    }
  }
  const kind = typeof json?.kind === 'string' ? json.kind : null;
  const attempt = (what: string, f: () => RunData) => {
    try {
      runs.push(f());
    } catch (e) {
      skipped.push({ what: `${dirIn} (${what})`, reason: (e as Error).message });
    }
  };
  if (kind === 'emotion') attempt('emotion', () => loadEmotion(dir, json!));
  else if (kind === 'emotion-training') attempt('emotion-training', () => loadEmotionTraining(dir, json!));
  else if (kind === 'attributes') attempt('attributes', () => loadAttributes(dir, json!));
  else if (kind === 'identity' || (kind === null && (existsSync(join(dir, 'identity.arrow')) || isIdentityJson(json)))) attempt('identity', () => loadIdentity(dir, json));
  else if (kind !== null && !['gan-training', 'classifier-training', 'training'].includes(kind)) skipped.push({ what: dirIn, reason: `run.json kind '${kind}' is not one the report knows (${RUN_KINDS.join(', ')})` });
  if (existsSync(join(dir, 'steps.arrow'))) attempt('gan-training', () => loadGan(dir, json));
  if (existsSync(join(dir, 'epochs.arrow'))) attempt('classifier-training', () => loadClassifierTraining(dir, json));
  if (runs.length === 0 && skipped.length === 0) {
    skipped.push({ what: dirIn, reason: 'no run.json with a known kind, identity.arrow, steps.arrow or epochs.arrow' });
  }
  return { runs, skipped };
}

/**
 * Loads every directory; a directory that is no run itself but has run subdirectories
 * (the demo's output folder) is expanded one level, in name order.
 */
export function loadRuns(dirs: readonly string[]): LoadedRuns {
  const runs: RunData[] = [];
  const skipped: Skipped[] = [];
  for (const d of dirs) {
    const abs = resolve(d);
    if (existsSync(abs) && statSync(abs).isDirectory() && !looksLikeRun(abs)) {
      const subs = readdirSync(abs, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)).filter((s) => looksLikeRun(resolve(s))).sort();
      if (subs.length > 0) {
        for (const s of subs) {
          const r = loadRun(s);
          runs.push(...r.runs);
          skipped.push(...r.skipped);
        }
        continue;
      }
    }
    const r = loadRun(d);
    runs.push(...r.runs);
    skipped.push(...r.skipped);
  }
  return { runs, skipped };
}
