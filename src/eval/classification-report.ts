/**
 * Classification reports and confusion matrices exactly as scikit-learn computes them
 * (sklearn.metrics.classification_report, confusion_matrix; checked against scikit-learn 1.9.1
 * fixtures in test/fixtures/sklearn/). Pure functions on arrays, no tensors.
 *
 * - `classificationReport(yTrue, yPred, opts)`: multi-class (or binary) labels, strings or integers.
 * - `multilabelReport(yTrue, yPred, opts)`: 0/1 indicator matrices, n_samples x n_labels.
 * - `reportDict(report)`: the report in the shape of classification_report(output_dict=True).
 * - `formatReport(report, digits)`: the text table classification_report prints (byte-identical).
 * - `formatReportMarkdown(report, digits)`: the same numbers as a markdown table.
 * - `confusionMatrix(yTrue, yPred, opts)`: counts or normalised rates, rows = true, columns = predicted.
 *
 * Bad input (length mismatch, empty input, mixed label types, non-0/1 indicators ...) is a ConfigError.
 */
import { ConfigError } from '../errors.js';

export type Label = string | number;
/** sklearn's zero_division: what a 0/0 precision, recall or F1 becomes ('warn': 0 and a warning). */
export type ZeroDivision = 'warn' | 0 | 1;
export const ZERO_DIVISIONS = ['warn', '0', '1'] as const;

export interface Scores {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}
export interface ClassRow extends Scores {
  /** The row's name: the target name, else String(label) (sklearn's "%s" % label). */
  name: string;
  /** The class label (multi-class) or the column index (multilabel). */
  label: Label;
}
export interface AverageRow extends Scores {
  name: 'micro avg' | 'macro avg' | 'weighted avg' | 'samples avg';
}

export interface ClassificationReport {
  kind: 'multiclass' | 'multilabel';
  /** The labels the report is over, in row order (multilabel: the column indices 0..k-1). */
  labels: Label[];
  /** Every target name (sklearn's target_names; the text table's first column is as wide as the longest). */
  targetNames: string[];
  /** One row per class; fewer than `labels` only when explicit labels and target names differ in length (as sklearn: zip). */
  classes: ClassRow[];
  /**
   * Accuracy, reported in place of the micro average when the report is multi-class and its labels cover
   * every label in yTrue and yPred; otherwise null and `averages` starts with the 'micro avg' row.
   */
  accuracy: number | null;
  /** 'micro avg' (only when `accuracy` is null), 'macro avg', 'weighted avg', and 'samples avg' (multilabel). */
  averages: AverageRow[];
  /** Total support over `labels` (the support column of the accuracy and average rows). */
  support: number;
  /** Number of samples. */
  samples: number;
  zeroDivision: ZeroDivision;
  /**
   * sklearn quirk, kept so the text is identical: when no sample at all is predicted right, its
   * counts become float arrays (the "pathological case" in multilabel_confusion_matrix) and the text
   * table prints supports as floats ('30.0'). The numbers are the same.
   */
  supportIsFloat: boolean;
  /** sklearn's warnings (UndefinedMetricWarning and the labels/target_names size warning), each once, in order. */
  warnings: string[];
}

export interface ReportOptions {
  /** The labels to report on, in this order (default: the sorted union of yTrue and yPred). */
  labels?: readonly Label[];
  /** Display names for the labels, in label order. */
  targetNames?: readonly string[];
  zeroDivision?: ZeroDivision;
}

export interface MultilabelOptions {
  /** Display names for the columns (default '0', '1', ...). */
  targetNames?: readonly string[];
  zeroDivision?: ZeroDivision;
}

export type Normalize = 'true' | 'pred' | 'all' | null;

export interface ConfusionMatrixOptions {
  /** Rows/columns in this order (default: the sorted union). Samples with another label are left out. */
  labels?: readonly Label[];
  /** 'true': rows sum to 1, 'pred': columns sum to 1, 'all': everything sums to 1; a zero sum gives 0. */
  normalize?: Normalize;
}

export interface ConfusionMatrix {
  /** The labels indexing rows (true) and columns (predicted). */
  labels: Label[];
  normalize: Normalize;
  /** matrix[i][j]: samples with true label labels[i] predicted as labels[j] (or that count normalised). */
  matrix: number[][];
  /** sklearn's warning for a 1x1 matrix. */
  warnings: string[];
}

// ------------------------------------------------------------------------------------------
// Validation
// ------------------------------------------------------------------------------------------

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** Checks a pair of label arrays; returns the label type ('string' | 'number'). */
function checkLabels(yTrue: readonly Label[], yPred: readonly Label[]): 'string' | 'number' {
  if (!Array.isArray(yTrue) || !Array.isArray(yPred)) throw new ConfigError('yTrue and yPred must be arrays of labels');
  if (yTrue.length !== yPred.length) {
    throw new ConfigError(`yTrue has ${yTrue.length} labels and yPred has ${yPred.length}: they must have the same length (one label per sample)`);
  }
  if (yTrue.length === 0) throw new ConfigError('empty input: yTrue and yPred have no samples (at least 1 is needed)');
  let kind: 'string' | 'number' | null = null;
  let first = '';
  for (const [name, y] of [['yTrue', yTrue], ['yPred', yPred]] as const) {
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      const where = `${name}[${i}]`;
      let k: 'string' | 'number';
      if (typeof v === 'string') {
        k = 'string';
      } else if (typeof v === 'number') {
        if (!Number.isInteger(v)) throw new ConfigError(`${where} = ${v} is not a class label: labels are integers or strings`);
        k = 'number';
      } else {
        throw new ConfigError(`${where} = ${String(v)} is not a class label: labels are integers or strings`);
      }
      if (kind === null) {
        kind = k;
        first = `${where} = ${show(v)}`;
      } else if (k !== kind) {
        throw new ConfigError(`labels mix strings and numbers (${first}, ${where} = ${show(v)}): use one type`);
      }
    }
  }
  return kind!;
}

function checkLabelOption(labels: readonly Label[], kind: 'string' | 'number', what: string): Label[] {
  if (!Array.isArray(labels) || labels.length === 0) throw new ConfigError(`${what}: give at least one label`);
  const seen = new Set<Label>();
  for (const l of labels) {
    if (typeof l !== kind || (typeof l === 'number' && !Number.isInteger(l))) {
      throw new ConfigError(`${what}: ${show(l)} is not ${kind === 'string' ? 'a string' : 'an integer'} label like those in yTrue and yPred`);
    }
    if (seen.has(l)) throw new ConfigError(`${what}: ${show(l)} is listed twice`);
    seen.add(l);
  }
  return labels.slice();
}

function checkZeroDivision(zd: unknown): ZeroDivision {
  if (zd === undefined) return 'warn';
  if (zd === 'warn' || zd === 0 || zd === 1) return zd;
  throw new ConfigError(`zeroDivision must be 'warn', 0 or 1 (got ${show(zd)})`);
}

/** Unicode code point order (numpy's order of str arrays). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** The sorted union of the labels in yTrue and yPred (sklearn's unique_labels). */
export function uniqueLabels(yTrue: readonly Label[], yPred: readonly Label[]): Label[] {
  const kind = checkLabels(yTrue, yPred);
  const u = [...new Set<Label>([...yTrue, ...yPred])];
  return kind === 'number'
    ? (u as number[]).sort((a, b) => a - b)
    : (u as string[]).sort(compareCodePoints);
}

// ------------------------------------------------------------------------------------------
// Scores from counts (sklearn's precision_recall_fscore_support)
// ------------------------------------------------------------------------------------------

interface Counts {
  tp: number[];
  pred: number[];
  true: number[];
}

type Average = null | 'micro' | 'macro' | 'weighted' | 'samples';

/** Appends sklearn's _warn_prf message (each message once). */
function warnPrf(warnings: string[], average: Average, modifier: string, metric: string, size: number): void {
  const [axis0, axis1] = average === 'samples' ? ['label', 'sample'] : ['sample', 'label'];
  const where = size === 1 ? 'due to' : `in ${axis1}s with`;
  const msg = `${metric} is ill-defined and being set to 0.0 ${where} no ${modifier} ${axis0}s. Use \`zero_division\` parameter to control this behavior.`;
  if (!warnings.includes(msg)) warnings.push(msg);
}

/** Per-entry precision, recall, F1 of counts, with sklearn's zero-division rule and warnings. */
function prf(c: Counts, zd: ZeroDivision, average: Average, warnings: string[]) {
  const zv = zd === 'warn' ? 0 : zd;
  const div = (num: number[], den: number[], metric: string, modifier: string): number[] => {
    let any = false;
    const out = num.map((v, i) => {
      if (den[i] === 0) {
        any = true;
        return zv;
      }
      return v / den[i]!;
    });
    if (any && zd === 'warn') warnPrf(warnings, average, modifier, metric, num.length);
    return out;
  };
  const precision = div(c.tp, c.pred, 'Precision', 'predicted');
  const recall = div(c.tp, c.true, 'Recall', 'true');
  // F1 = 2 tp / (true + pred): 0/0 only when the label is neither true nor predicted
  const f1 = div(c.tp.map((t) => 2 * t), c.true.map((t, i) => t + c.pred[i]!), 'F-score', 'true nor predicted');
  return { precision, recall, f1 };
}

function mean(a: number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

/** np.average(a, weights); all-zero weights: the plain mean (sklearn's _nanaverage). */
function weightedMean(a: number[], w: number[]): number {
  let sw = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    sw += w[i]!;
    s += a[i]! * w[i]!;
  }
  return sw === 0 ? mean(a) : s / sw;
}

function sum(a: number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/**
 * The report from per-label counts (and, for multilabel, per-sample counts), in the order
 * classification_report computes it: per class, then micro, macro, weighted (and samples).
 */
function buildReport(
  kind: ClassificationReport['kind'], labels: Label[], counts: Counts, sampleCounts: Counts | null,
  targetNames: string[], microIsAccuracy: boolean, zd: ZeroDivision, samples: number, warnings: string[],
  supportIsFloat: boolean,
): ClassificationReport {
  const per = prf(counts, zd, null, warnings);
  const support = sum(counts.true);
  const classes: ClassRow[] = [];
  const nRows = Math.min(targetNames.length, labels.length);
  for (let i = 0; i < nRows; i++) {
    classes.push({
      name: targetNames[i]!, label: labels[i]!,
      precision: per.precision[i]!, recall: per.recall[i]!, 'f1-score': per.f1[i]!, support: counts.true[i]!,
    });
  }
  const micro = prf({ tp: [sum(counts.tp)], pred: [sum(counts.pred)], true: [support] }, zd, 'micro', warnings);
  let accuracy: number | null = null;
  const averages: AverageRow[] = [];
  if (microIsAccuracy) {
    accuracy = micro.precision[0]!;
  } else {
    averages.push({ name: 'micro avg', precision: micro.precision[0]!, recall: micro.recall[0]!, 'f1-score': micro.f1[0]!, support });
  }
  const macro = prf(counts, zd, 'macro', warnings);
  averages.push({ name: 'macro avg', precision: mean(macro.precision), recall: mean(macro.recall), 'f1-score': mean(macro.f1), support });
  const weighted = prf(counts, zd, 'weighted', warnings);
  const w = counts.true;
  averages.push({
    name: 'weighted avg', precision: weightedMean(weighted.precision, w), recall: weightedMean(weighted.recall, w),
    'f1-score': weightedMean(weighted.f1, w), support,
  });
  if (sampleCounts) {
    const s = prf(sampleCounts, zd, 'samples', warnings);
    averages.push({ name: 'samples avg', precision: mean(s.precision), recall: mean(s.recall), 'f1-score': mean(s.f1), support });
  }
  return { kind, labels, targetNames, classes, accuracy, averages, support, samples, zeroDivision: zd, supportIsFloat, warnings };
}

// ------------------------------------------------------------------------------------------
// Public reports
// ------------------------------------------------------------------------------------------

/**
 * sklearn.metrics.classification_report for multi-class (or binary) labels. The rows are the
 * sorted union of yTrue and yPred unless `labels` is given (then those, in that order, including
 * labels that never occur). When `labels` does not cover every label in the data the accuracy
 * row becomes a 'micro avg' row over the given labels only.
 */
export function classificationReport(yTrue: readonly Label[], yPred: readonly Label[], opts: ReportOptions = {}): ClassificationReport {
  const kind = checkLabels(yTrue, yPred);
  const zd = checkZeroDivision(opts.zeroDivision);
  const present = uniqueLabels(yTrue, yPred);
  const labelsGiven = opts.labels !== undefined;
  const labels = labelsGiven ? checkLabelOption(opts.labels!, kind, 'labels') : present;
  const labelSet = new Set<Label>(labels);
  const microIsAccuracy = present.every((l) => labelSet.has(l));
  const warnings: string[] = [];
  let targetNames: string[];
  if (opts.targetNames !== undefined) {
    if (!Array.isArray(opts.targetNames) || opts.targetNames.some((t) => typeof t !== 'string')) {
      throw new ConfigError('targetNames must be an array of strings');
    }
    targetNames = opts.targetNames.slice();
    if (targetNames.length !== labels.length) {
      if (!labelsGiven) {
        throw new ConfigError(`targetNames has ${targetNames.length} names but there are ${labels.length} classes (${labels.map(show).join(', ')}); give one name per class, or give labels`);
      }
      warnings.push(`labels size, ${labels.length}, does not match size of target_names, ${targetNames.length}`);
    }
  } else {
    targetNames = labels.map(String);
  }
  const index = new Map<Label, number>(labels.map((l, i) => [l, i]));
  const k = labels.length;
  const counts: Counts = { tp: new Array<number>(k).fill(0), pred: new Array<number>(k).fill(0), true: new Array<number>(k).fill(0) };
  let anyRight = false;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] === yPred[i]) anyRight = true;
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined) counts.true[t]!++;
    if (p !== undefined) counts.pred[p]!++;
    if (t !== undefined && t === p) counts.tp[t]!++;
  }
  return buildReport('multiclass', labels, counts, null, targetNames, microIsAccuracy, zd, yTrue.length, warnings, !anyRight);
}

function checkIndicator(y: readonly (readonly number[])[], name: string, nLabels: number | null): number {
  if (!Array.isArray(y)) throw new ConfigError(`${name} must be an array of rows of 0/1`);
  let k = nLabels;
  for (let i = 0; i < y.length; i++) {
    const row = y[i];
    if (!Array.isArray(row)) throw new ConfigError(`${name}[${i}] is not a row of 0/1 values`);
    if (k === null) k = row.length;
    if (row.length !== k) throw new ConfigError(`${name}[${i}] has ${row.length} labels, expected ${k} (every row needs one 0/1 per label)`);
    for (let j = 0; j < row.length; j++) {
      const v = row[j];
      if (v !== 0 && v !== 1) throw new ConfigError(`${name}[${i}][${j}] = ${show(v)}: multilabel indicators must be 0 or 1`);
    }
  }
  return k ?? 0;
}

/**
 * sklearn.metrics.classification_report on multilabel indicator arrays (n_samples x n_labels,
 * 0/1): per label precision, recall, F1 and support, then micro, macro, weighted and samples
 * averages. Needs at least 2 labels (sklearn reads a single column as binary classes).
 */
export function multilabelReport(
  yTrue: readonly (readonly number[])[], yPred: readonly (readonly number[])[], opts: MultilabelOptions = {},
): ClassificationReport {
  if (!Array.isArray(yTrue) || !Array.isArray(yPred)) throw new ConfigError('yTrue and yPred must be arrays of rows of 0/1');
  if (yTrue.length !== yPred.length) {
    throw new ConfigError(`yTrue has ${yTrue.length} samples and yPred has ${yPred.length}: they must have the same length`);
  }
  if (yTrue.length === 0) throw new ConfigError('empty input: yTrue and yPred have no samples (at least 1 is needed)');
  const k = checkIndicator(yTrue, 'yTrue', null);
  checkIndicator(yPred, 'yPred', k);
  if (k < 2) {
    throw new ConfigError(`multilabel input needs at least 2 labels (columns), got ${k}; for one 0/1 label use classificationReport on its values`);
  }
  const zd = checkZeroDivision(opts.zeroDivision);
  const labels = Array.from({ length: k }, (_, j) => j);
  let targetNames: string[];
  if (opts.targetNames !== undefined) {
    if (!Array.isArray(opts.targetNames) || opts.targetNames.some((t) => typeof t !== 'string')) {
      throw new ConfigError('targetNames must be an array of strings');
    }
    if (opts.targetNames.length !== k) {
      throw new ConfigError(`targetNames has ${opts.targetNames.length} names but there are ${k} labels (columns); give one name per label`);
    }
    targetNames = opts.targetNames.slice();
  } else {
    targetNames = labels.map(String);
  }
  const n = yTrue.length;
  const counts: Counts = { tp: new Array<number>(k).fill(0), pred: new Array<number>(k).fill(0), true: new Array<number>(k).fill(0) };
  const sc: Counts = { tp: new Array<number>(n).fill(0), pred: new Array<number>(n).fill(0), true: new Array<number>(n).fill(0) };
  for (let i = 0; i < n; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    for (let j = 0; j < k; j++) {
      const both = t[j]! & p[j]!;
      counts.tp[j]! += both;
      counts.pred[j]! += p[j]!;
      counts.true[j]! += t[j]!;
      sc.tp[i]! += both;
      sc.pred[i]! += p[j]!;
      sc.true[i]! += t[j]!;
    }
  }
  return buildReport('multilabel', labels, counts, sc, targetNames, false, zd, n, [], false);
}

/**
 * The report as classification_report(output_dict=True) returns it: one entry per class name,
 * then 'accuracy' (a number) or 'micro avg', then 'macro avg', 'weighted avg' (and 'samples avg').
 * (A JavaScript object lists integer-like keys such as '3' first; the entries are the same.)
 */
export function reportDict(report: ClassificationReport): Record<string, Scores | number> {
  const out: Record<string, Scores | number> = {};
  const scores = (r: Scores): Scores => ({ precision: r.precision, recall: r.recall, 'f1-score': r['f1-score'], support: r.support });
  for (const c of report.classes) out[c.name] = scores(c);
  if (report.accuracy !== null) out.accuracy = report.accuracy;
  for (const a of report.averages) out[a.name] = scores(a);
  return out;
}

// ------------------------------------------------------------------------------------------
// Confusion matrix
// ------------------------------------------------------------------------------------------

/**
 * sklearn.metrics.confusion_matrix: rows are true labels, columns predicted, in the order of
 * `labels` (default: the sorted union). Samples whose true or predicted label is not among
 * `labels` are left out. Normalising divides by row ('true'), column ('pred') or total ('all')
 * sums; where such a sum is 0 the entries are 0 (sklearn's nan_to_num).
 */
export function confusionMatrix(yTrue: readonly Label[], yPred: readonly Label[], opts: ConfusionMatrixOptions = {}): ConfusionMatrix {
  const kind = checkLabels(yTrue, yPred);
  const normalize = opts.normalize ?? null;
  if (!(normalize === null || normalize === 'true' || normalize === 'pred' || normalize === 'all')) {
    throw new ConfigError(`normalize must be 'true', 'pred', 'all' or null (got ${show(normalize)})`);
  }
  let labels: Label[];
  if (opts.labels !== undefined) {
    labels = checkLabelOption(opts.labels, kind, 'labels');
    const inTrue = new Set<Label>(yTrue);
    if (!labels.some((l) => inTrue.has(l))) throw new ConfigError(`labels: at least one of ${labels.map(show).join(', ')} must occur in yTrue`);
  } else {
    labels = uniqueLabels(yTrue, yPred);
  }
  const k = labels.length;
  const index = new Map<Label, number>(labels.map((l, i) => [l, i]));
  const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined && p !== undefined) cm[t]![p]!++;
  }
  // x / 0 only happens with x = 0 (counts are >= 0): 0/0 -> NaN -> 0, as nan_to_num
  const div = (x: number, d: number) => (d === 0 ? 0 : x / d);
  let matrix = cm;
  if (normalize === 'true') {
    matrix = cm.map((row) => {
      const s = sum(row);
      return row.map((v) => div(v, s));
    });
  } else if (normalize === 'pred') {
    const col = labels.map((_, j) => sum(cm.map((row) => row[j]!)));
    matrix = cm.map((row) => row.map((v, j) => div(v, col[j]!)));
  } else if (normalize === 'all') {
    const s = sum(cm.map(sum));
    matrix = cm.map((row) => row.map((v) => div(v, s)));
  }
  const warnings = k === 1
    ? ["A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have the correct shape, use the 'labels' parameter to pass all known labels."]
    : [];
  return { labels, normalize, matrix, warnings };
}

// ------------------------------------------------------------------------------------------
// Text
// ------------------------------------------------------------------------------------------

const TWO52 = 2n ** 52n;

/**
 * x with `digits` decimals as Python's '{:.Nf}' writes it: the exact binary value rounded half
 * to even (JavaScript's toFixed rounds exact ties such as 0.125 away from zero: '0.13' vs '0.12').
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) throw new ConfigError(`digits must be an integer from 0 to 100 (got ${digits})`);
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, Math.abs(x));
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) {
    e = -1074;
  } else {
    m += TWO52;
    e = biased - 1075;
  }
  // |x| * 10^digits = m * 10^digits * 2^e, rounded half to even
  const num = m * 10n ** BigInt(digits);
  let q: bigint;
  if (e >= 0) {
    q = num << BigInt(e);
  } else {
    const den = 1n << BigInt(-e);
    q = num / den;
    const twice = 2n * (num - q * den);
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  }
  let s = q.toString();
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
  }
  return neg ? `-${s}` : s;
}

/** Length in code points (Python's len of a str). */
function cpLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function padLeft(s: string, width: number): string {
  const n = cpLength(s);
  return n >= width ? s : ' '.repeat(width - n) + s;
}

function checkDigits(digits: number): void {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) throw new ConfigError(`digits must be an integer from 0 to 100 (got ${digits})`);
}

/**
 * The text table sklearn.metrics.classification_report(..., digits) returns, character for
 * character (including the trailing newline).
 */
export function formatReport(report: ClassificationReport, digits = 2): string {
  checkDigits(digits);
  const headers = ['precision', 'recall', 'f1-score', 'support'];
  const width = Math.max(...report.targetNames.map(cpLength), 'weighted avg'.length, digits);
  const num = (v: number) => ` ${padLeft(formatFixed(v, digits), 9)}`;
  // Python's str() of an integer (or, see supportIsFloat, of an integral float: '30.0')
  const sup = (v: number) => padLeft(report.supportIsFloat && Math.abs(v) < 1e16 ? `${v}.0` : String(v), 9);
  const row = (name: string, r: Scores) => `${padLeft(name, width)} ${num(r.precision)}${num(r.recall)}${num(r['f1-score'])} ${sup(r.support)}\n`;
  let out = `${' '.repeat(width)} ${headers.map((h) => ` ${padLeft(h, 9)}`).join('')}\n\n`;
  for (const c of report.classes) out += row(c.name, c);
  out += '\n';
  if (report.accuracy !== null) {
    out += `${padLeft('accuracy', width)} ${' '.repeat(10)}${' '.repeat(10)}${num(report.accuracy)} ${sup(report.support)}\n`;
  }
  for (const a of report.averages) out += row(a.name, a);
  return out;
}

function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

/**
 * The same rows and rounding as formatReport, as a markdown (GFM) table for a paper or README;
 * the accuracy row leaves precision and recall empty, as sklearn's text does.
 */
export function formatReportMarkdown(report: ClassificationReport, digits = 2): string {
  checkDigits(digits);
  const f = (v: number) => formatFixed(v, digits);
  const lines = ['| | precision | recall | f1-score | support |', '|:---|---:|---:|---:|---:|'];
  const row = (name: string, r: Scores) => `| ${mdCell(name)} | ${f(r.precision)} | ${f(r.recall)} | ${f(r['f1-score'])} | ${r.support} |`;
  for (const c of report.classes) lines.push(row(c.name, c));
  if (report.accuracy !== null) lines.push(`| accuracy | | | ${f(report.accuracy)} | ${report.support} |`);
  for (const a of report.averages) lines.push(row(a.name, a));
  return `${lines.join('\n')}\n`;
}
