/**
 * The paper's tables, built from loaded runs (src/report/runs.ts) in the paper's layouts:
 * Table 1 (identity: cosine distance per method, plus its Wilcoxon table), Table 2 (mean |dp| per
 * emotion and method), Table 3 (p, Z, r, N, stars per emotion and compared method, raw and
 * Bonferroni-corrected p; with the Shapiro-Wilk table beside it), Table 4 (classification reports
 * of the classifiers trained on each method's data), Table 5 (the attribute classifier's multilabel
 * report), Table 6 (share of each attribute removed per method).
 *
 * A table is data: typed columns (numbers stay numbers for CSV / Parquet) and a display format per
 * column for markdown and HTML. Every table carries the Provenance of the run it comes from.
 */
import { stars as starsOf } from '../eval/stats.js';
import type { AttributesRunData, EmotionRunData, EmotionTrainingRunData, IdentityRunData, Provenance, ReportDict, RunData } from './runs.js';

export type Cell = string | number | null;
/** How a column is printed: 'p' is the paper's p (<0.001, else 3 decimals), 'pct' a percentage. */
export type Format = 'text' | 'int' | 'f2' | 'f3' | 'f4' | 'pct' | 'p';
export interface Column { name: string; type: 'string' | 'float64' | 'int32'; format: Format }

export type Section = 'identity' | 'emotion' | 'emotion-training' | 'attributes' | 'training' | 'samples';

export interface ReportTable {
  /** File stem: tables/<id>.csv, .parquet. */
  id: string;
  /** 'Table 2' etc. (paper numbering), or a descriptive name for supplementary tables. */
  paper: string;
  title: string;
  caption: string;
  section: Section;
  columns: Column[];
  rows: Cell[][];
  inputs: Provenance;
  notes: string[];
}

const text = (name: string): Column => ({ name, type: 'string', format: 'text' });
const int = (name: string): Column => ({ name, type: 'int32', format: 'int' });
const float = (name: string, format: Format = 'f4'): Column => ({ name, type: 'float64', format });

export function formatCell(v: Cell, format: Format): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '-';
  if (typeof v === 'string') return v;
  switch (format) {
    case 'int': return String(Math.round(v));
    case 'f2': return v.toFixed(2);
    case 'f3': return v.toFixed(3);
    case 'f4': return v.toFixed(4);
    case 'pct': return `${(100 * v).toFixed(1)}%`;
    case 'p': return v < 0.001 ? '<0.001' : v.toFixed(3);
    default: return String(v);
  }
}

/** Stars of a p-value as the paper flags it (* < 0.05, ** < 0.01, *** < 0.001); '' for none or no p. */
export function stars(p: number | null): string {
  return p === null || !Number.isFinite(p) ? '' : starsOf(p);
}

function modelSuffix(p: Provenance): string {
  return p.model?.proxy ? ' (proxy)' : '';
}

/** A short, file-name-safe label of a run: its dataset if it names one, else the directory name. */
export function runLabel(r: RunData): string {
  const base = r.provenance.dataset && r.kind !== 'gan-training' ? r.provenance.dataset : r.name;
  return base.toLowerCase().replace(/\+/g, 'plus').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'run';
}

// ------------------------------------------------------------------------------------------
// Table 1
// ------------------------------------------------------------------------------------------

export function table1(run: IdentityRunData, label = runLabel(run)): ReportTable[] {
  const p = run.provenance;
  const proxy = modelSuffix(p);
  const thr = run.threshold;
  const notes: string[] = [];
  if (p.model?.proxy) notes.push(`Proxy embedder (${run.embedderLabel}): these are not the paper's Facenet512 distances, and the paper's 0.30 threshold does not apply to them.`);
  const gallery = typeof (run.json?.counts as Record<string, unknown> | undefined)?.faces === 'number' ? ((run.json!.counts as Record<string, number>).faces) : null;
  if (gallery) notes.push(`Re-identification: each anonymized face ranked against all ${gallery} originals; chance rank-1 ${formatCell(1 / gallery, 'pct')}, rank-5 ${formatCell(Math.min(1, 5 / gallery), 'pct')}.`);
  const out: ReportTable[] = [{
    id: `table1-${label}`, paper: 'Table 1', section: 'identity',
    title: `Identity: cosine distance between original and anonymized faces${proxy}`,
    caption: `Mean cosine distance between the embeddings of each original face and its anonymized version, per method (higher: less identity left).${thr === null ? '' : ` Share above: faces with a distance above ${thr}.`}`,
    columns: [text('Method'), float(`mean cosine distance${proxy}`), float('median'), float('95% CI low'), float('95% CI high'), float(thr === null ? 'share above threshold' : `share > ${thr}`, 'pct'), float('rank-1', 'pct'), float('rank-5', 'pct'), int('N')],
    rows: run.summary.map((s) => [s.name, s.mean, s.median, s.ci95[0], s.ci95[1], thr === null ? null : s.shareAbove, s.rank1, s.rank5, s.n]),
    inputs: p, notes,
  }];
  if (run.comparisons.length > 0) {
    out.push({
      id: `table1-stats-${label}`, paper: 'Table 1 (statistics)', section: 'identity',
      title: `Identity: paired Wilcoxon signed-rank tests against ${run.reference ?? run.comparisons[0]!.reference}${proxy}`,
      caption: `Cosine distances of each method against the reference method on the faces both scored: zero method wilcox, normal approximation, Bonferroni over ${run.comparisons.length} comparisons, r = Z / sqrt(N). Stars on the Bonferroni-corrected p: * < 0.05, ** < 0.01, *** < 0.001.`,
      columns: [text('Reference'), text('Method'), int('N'), int('zeros'), float('mean diff (ref - method)'), float('T', 'f2'), float('Z'), float('p', 'p'), float('p (Bonferroni)', 'p'), text('stars'), float('r')],
      rows: run.comparisons.map((c) => [c.reference, c.method, c.n, c.nZero, c.meanDiff, c.statistic, c.z, c.pvalue, c.pBonferroni, stars(c.pBonferroni), c.r]),
      inputs: p, notes: [],
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Tables 2 and 3
// ------------------------------------------------------------------------------------------

export function table2(run: EmotionRunData, label = runLabel(run)): ReportTable {
  const t = run.table2;
  const p = run.provenance;
  const ds = p.dataset ?? run.name;
  const notes = [`N per method: ${t.methods.map((m) => `${m} ${t.n[m] ?? '-'}`).join(', ')}.`];
  if (run.unavailable.length) notes.push(`Classes the classifier cannot predict (left out): ${run.unavailable.join(', ')}.`);
  if (p.model?.proxy) notes.push(`Proxy classifier (${p.model.name}): not the paper's ConvNeXt emotion model.`);
  return {
    id: `table2-${label}`, paper: 'Table 2', section: 'emotion',
    title: `Emotion: mean class-probability distance |dp| per emotion and method, ${ds}${modelSuffix(p)}`,
    caption: 'Mean absolute difference between the classifier\'s probability of each emotion on the original and on the anonymized image (lower: expression better kept).',
    columns: [text('Emotion'), ...t.methods.map((m) => float(m))],
    rows: t.classes.map((c) => [c, ...t.methods.map((m) => t.mean[m]?.[c] ?? null)]),
    inputs: p, notes,
  };
}

export function table3(run: EmotionRunData, label = runLabel(run)): ReportTable[] {
  const p = run.provenance;
  const ds = p.dataset ?? run.name;
  const rows = run.table3;
  const methods = [...new Set(rows.map((r) => r.method))];
  const classes = run.table2.classes.filter((c) => rows.some((r) => r.class === c));
  for (const r of rows) if (!classes.includes(r.class)) classes.push(r.class);
  const reference = run.reference ?? rows[0]?.reference ?? '?';
  const get = (c: string, m: string) => rows.find((r) => r.class === c && r.method === m);
  // one N column when every compared method has the same N for a class (the paper's layout)
  const sameN = classes.every((c) => new Set(methods.map((m) => get(c, m)?.n)).size <= 1);
  const columns: Column[] = [text('Emotion')];
  for (const m of methods) columns.push(float(`${m} p`, 'p'), text(`${m} stars`), float(`${m} p (Bonferroni)`, 'p'), text(`${m} stars (Bonferroni)`), float(`${m} Z`), float(`${m} r`), ...(sameN ? [] : [int(`${m} N`)]));
  if (sameN) columns.push(int('N'));
  const table: ReportTable = {
    id: `table3-${label}`, paper: 'Table 3', section: 'emotion',
    title: `Emotion: ${reference} vs each method, Wilcoxon signed-rank per emotion, ${ds}${modelSuffix(p)}`,
    caption: `Paired Wilcoxon signed-rank tests of |dp| of ${reference} against each other method, per emotion; Bonferroni over the dataset's tests; r = Z / sqrt(N). Stars: * p < 0.05, ** p < 0.01, *** p < 0.001 (raw and corrected p each with their own stars).`,
    columns,
    rows: classes.map((c) => {
      const row: Cell[] = [c];
      for (const m of methods) {
        const r = get(c, m);
        row.push(r?.p ?? null, r ? r.stars || stars(r.p) : null, r?.pBonferroni ?? null, r ? r.starsBonferroni || stars(r.pBonferroni) : null, r?.z ?? null, r?.r ?? null);
        if (!sameN) row.push(r?.n ?? null);
      }
      if (sameN) row.push(methods.map((m) => get(c, m)?.n).find((n) => n !== undefined) ?? null);
      return row;
    }),
    inputs: p, notes: [],
  };
  const out = [table];
  if (rows.some((r) => r.shapiro)) {
    out.push({
      id: `table3-shapiro-${label}`, paper: 'Table 3 (normality)', section: 'emotion',
      title: `Emotion: Shapiro-Wilk test of the paired differences, ${ds}`,
      caption: 'Why the paper uses Wilcoxon: Shapiro-Wilk W and p of the paired |dp| differences per emotion and method (p < 0.05: not normal).',
      columns: [text('Emotion'), text('Method'), float('W'), float('p', 'p'), int('N'), int('zeros')],
      rows: classes.flatMap((c) => methods.map((m) => get(c, m)).filter((r) => r !== undefined).map((r) => [c, r.method, r.shapiro?.w ?? null, r.shapiro?.p ?? null, r.n, r.zeros])),
      inputs: p, notes: [],
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Tables 4 and 5: classification reports side by side
// ------------------------------------------------------------------------------------------

const AVG_ROWS = ['accuracy', 'micro avg', 'macro avg', 'weighted avg', 'samples avg'];

/**
 * Classification reports (sklearn output_dict) of several methods side by side, the paper's
 * layout: one row per class then accuracy / averages, P R F1 per method, then N. Rows follow
 * `classes` (or the first report's order); the accuracy row has only F1 (= accuracy).
 */
export function reportsTable(reports: Record<string, ReportDict>, classes: readonly string[] = [], rowHeader = 'Class'): { columns: Column[]; rows: Cell[][] } {
  const methods = Object.keys(reports);
  const first = reports[methods[0] ?? ''] ?? {};
  const classRows = classes.length ? [...classes] : Object.keys(first).filter((k) => !AVG_ROWS.includes(k));
  for (const m of methods) for (const k of Object.keys(reports[m]!)) if (!AVG_ROWS.includes(k) && !classRows.includes(k)) classRows.push(k);
  const avgRows = AVG_ROWS.filter((a) => methods.some((m) => a in reports[m]!));
  const support = (m: string, row: string): number | null => {
    const v = reports[m]?.[row];
    if (typeof v === 'object') return v.support;
    if (row === 'accuracy') {
      const macro = reports[m]?.['macro avg'];
      return typeof macro === 'object' ? macro.support : null;
    }
    return null;
  };
  const allRows = [...classRows, ...avgRows];
  const sameN = allRows.every((r) => new Set(methods.map((m) => support(m, r)).filter((v) => v !== null)).size <= 1);
  const label = (m: string) => (m === '' ? '' : `${m} `);
  const columns: Column[] = [text(rowHeader)];
  for (const m of methods) columns.push(float(`${label(m)}P`, 'f2'), float(`${label(m)}R`, 'f2'), float(`${label(m)}F1`, 'f2'), ...(sameN ? [] : [int(`${label(m)}N`)]));
  if (sameN) columns.push(int('N'));
  const rows = allRows.map((r) => {
    const row: Cell[] = [r];
    for (const m of methods) {
      const v = reports[m]?.[r];
      if (typeof v === 'number') row.push(null, null, v);
      else if (v) row.push(v.precision, v.recall, v['f1-score']);
      else row.push(null, null, null);
      if (!sameN) row.push(support(m, r));
    }
    if (sameN) row.push(methods.map((m) => support(m, r)).find((v) => v !== null) ?? null);
    return row;
  });
  return { columns, rows };
}

export function table4(run: EmotionTrainingRunData, label = runLabel(run)): ReportTable {
  const p = run.provenance;
  const reports: Record<string, ReportDict> = {};
  for (const m of run.methods) if (run.reports[m]) reports[m] = run.reports[m]!;
  const { columns, rows } = reportsTable(reports, run.classes, 'Emotion');
  return {
    id: `table4-${label}`, paper: 'Table 4', section: 'emotion-training',
    title: `Emotion classifiers trained on each method's data: classification reports on the validation set, ${p.dataset ?? run.name}`,
    caption: 'One classifier per column group, trained on the training split as the method leaves it (Original: untouched), scored on the validation split. (P) precision, (R) recall, (F1) F1-score, (N) support.',
    columns, rows, inputs: p, notes: run.methods.filter((m) => !run.reports[m]).map((m) => `No report for ${m}.`),
  };
}

export function table5(run: AttributesRunData, label = runLabel(run)): ReportTable | null {
  if (!run.table5) return null;
  const p = run.provenance;
  const { columns, rows } = reportsTable(run.table5, run.attributes, 'Attribute');
  return {
    id: `table5-${label}`, paper: 'Table 5', section: 'attributes',
    title: `Attribute classifier: multilabel classification report${modelSuffix(p)}`,
    caption: 'Per-attribute precision (P), recall (R), F1 and support (N) of the attribute classifier, with micro, macro, weighted and samples averages.',
    columns, rows, inputs: p, notes: p.model?.proxy ? [`Proxy classifier (${p.model.name}).`] : [],
  };
}

export function table6(run: AttributesRunData, label = runLabel(run)): ReportTable {
  const p = run.provenance;
  const methods = run.methods.filter((m) => run.table6.some((r) => r.method === m));
  const get = (a: string, m: string) => run.table6.find((r) => r.attribute === a && r.method === m);
  const attrs = [...run.attributes.filter((a) => run.table6.some((r) => r.attribute === a))];
  for (const r of run.table6) if (!attrs.includes(r.attribute)) attrs.push(r.attribute);
  const sortBy = methods[0];
  // sorted by the first method's removal rate, highest first, attributes without a rate last
  const order = attrs.map((a, i) => ({ a, i, v: sortBy ? get(a, sortBy)?.rate ?? null : null }))
    .sort((x, y) => (x.v === null ? (y.v === null ? x.i - y.i : 1) : y.v === null ? -1 : y.v - x.v || x.i - y.i)).map((x) => x.a);
  return {
    id: `table6-${label}`, paper: 'Table 6', section: 'attributes',
    title: `Attributes removed by each method, ${p.dataset ?? run.name}${modelSuffix(p)}`,
    caption: `Of the images where the classifier predicts an attribute on the original (probability > 0.5), the share where it no longer predicts it on the anonymized image. N: images with the attribute on the original. Sorted by ${sortBy ?? 'attribute'}.`,
    columns: [text('Attribute'), ...methods.flatMap((m) => [float(`${m} removed`, 'pct'), int(`${m} N`)])],
    rows: order.map((a) => [a, ...methods.flatMap((m) => {
      const r = get(a, m);
      return [r?.rate ?? null, r ? r.kept + r.removed : null];
    })]),
    inputs: p, notes: [],
  };
}

/** A label per run, unique per kind: runLabel, with -2, -3 ... for repeats (shared by tables and figures). */
export function runLabels(runs: readonly RunData[]): Map<RunData, string> {
  const used = new Map<string, number>();
  const out = new Map<RunData, string>();
  for (const r of runs) {
    const base = runLabel(r);
    const key = `${r.kind}:${base}`;
    const k = (used.get(key) ?? 0) + 1;
    used.set(key, k);
    out.set(r, k === 1 ? base : `${base}-${k}`);
  }
  return out;
}

/** Every table the runs allow, in paper order. */
export function buildTables(runs: readonly RunData[], labels = runLabels(runs)): ReportTable[] {
  const out: ReportTable[] = [];
  for (const r of runs) if (r.kind === 'identity') out.push(...table1(r, labels.get(r)));
  for (const r of runs) if (r.kind === 'emotion') out.push(table2(r, labels.get(r)));
  for (const r of runs) if (r.kind === 'emotion') out.push(...table3(r, labels.get(r)));
  for (const r of runs) if (r.kind === 'emotion-training') out.push(table4(r, labels.get(r)));
  for (const r of runs) {
    if (r.kind !== 'attributes') continue;
    const t5 = table5(r, labels.get(r));
    if (t5) out.push(t5);
  }
  for (const r of runs) if (r.kind === 'attributes') out.push(table6(r, labels.get(r)));
  return out;
}
