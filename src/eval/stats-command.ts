/**
 * `ganon stats ...`: paired-sample statistics (`paired`) and classification reports (`report`).
 * src/cli.ts mounts it with `.command('stats', ..., statsCommand)`.
 */
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import {
  classificationReport, formatReport, multilabelReport, reportDict, ZERO_DIVISIONS,
  type ClassificationReport, type Label, type ZeroDivision,
} from './classification-report.js';
import { formatPairedTable, pairedReport, readPairedTable, type Cell } from './paired.js';
import { WILCOXON_METHODS, ZERO_METHODS } from './stats.js';

function requireColumns(columns: string[], wanted: [string, string][]): void {
  for (const [flag, col] of wanted) {
    if (!columns.includes(col)) throw new InputError(`${flag}: no column '${col}' (columns: ${columns.join(', ')})`);
  }
}

function textCell(v: Cell | undefined, row: number, col: string): string | number {
  if (typeof v === 'number') return v;
  const s = (v ?? '').trim();
  if (s === '') throw new InputError(`row ${row}, column '${col}': missing value`);
  return s;
}

const INT_RE = /^[+-]?\d+$/;

/**
 * Multi-class labels from two columns, one row per sample. CSV text that is an integer in every
 * cell of both columns becomes numbers (as pandas.read_csv would give sklearn int64 labels,
 * sorted 0, 1, 2, ..., 10); anything else stays text. Arrow numbers are numbers.
 */
export function multiclassColumns(rows: readonly Record<string, Cell>[], trueCol: string, predCol: string): { yTrue: Label[]; yPred: Label[] } {
  if (rows.length === 0) throw new InputError('the table has no rows');
  requireColumns(Object.keys(rows[0]!), [['--true', trueCol], ['--pred', predCol]]);
  const yTrue = rows.map((r, i) => textCell(r[trueCol], i + 1, trueCol));
  const yPred = rows.map((r, i) => textCell(r[predCol], i + 1, predCol));
  const all = [...yTrue, ...yPred];
  if (all.every((v) => typeof v === 'number' || INT_RE.test(v))) {
    return { yTrue: yTrue.map(Number), yPred: yPred.map(Number) };
  }
  return { yTrue, yPred };
}

function indicatorCell(v: Cell | undefined, row: number, col: string): 0 | 1 {
  const s = typeof v === 'number' ? String(v) : (v ?? '').trim().toLowerCase();
  if (s === '') throw new InputError(`row ${row}, column '${col}': missing value`);
  if (s === '1' || s === 'true' || s === '1.0') return 1;
  if (s === '0' || s === 'false' || s === '0.0') return 0;
  throw new InputError(`row ${row}, column '${col}': '${String(v)}' is not 0 or 1`);
}

/**
 * Multilabel indicators from a long table: one row per image and label with columns `image`,
 * `label` and the 0/1 columns trueCol and predCol. Labels and images are in first-seen order;
 * every image needs exactly one row per label.
 */
export function multilabelColumns(rows: readonly Record<string, Cell>[], trueCol: string, predCol: string): {
  images: string[]; labels: string[]; yTrue: number[][]; yPred: number[][];
} {
  if (rows.length === 0) throw new InputError('the table has no rows');
  requireColumns(Object.keys(rows[0]!), [['--multilabel', 'image'], ['--multilabel', 'label'], ['--true', trueCol], ['--pred', predCol]]);
  const labelIndex = new Map<string, number>();
  const byImage = new Map<string, Map<number, { t: 0 | 1; p: 0 | 1; row: number }>>();
  rows.forEach((r, i) => {
    const row = i + 1;
    const image = String(textCell(r.image, row, 'image'));
    const label = String(textCell(r.label, row, 'label'));
    const t = indicatorCell(r[trueCol], row, trueCol);
    const p = indicatorCell(r[predCol], row, predCol);
    let j = labelIndex.get(label);
    if (j === undefined) labelIndex.set(label, (j = labelIndex.size));
    let m = byImage.get(image);
    if (!m) byImage.set(image, (m = new Map()));
    const prev = m.get(j);
    if (prev) throw new InputError(`row ${row}: image '${image}' has a second row for label '${label}' (the first is row ${prev.row})`);
    m.set(j, { t, p, row });
  });
  const labels = [...labelIndex.keys()];
  const images = [...byImage.keys()];
  const yTrue: number[][] = [];
  const yPred: number[][] = [];
  for (const image of images) {
    const m = byImage.get(image)!;
    const missing = labels.filter((_, j) => !m.has(j));
    if (missing.length > 0) {
      const list = missing.slice(0, 5).map((l) => `'${l}'`).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
      throw new InputError(`image '${image}' has no row for label${missing.length === 1 ? '' : 's'} ${list} (every image needs one row per label)`);
    }
    yTrue.push(labels.map((_, j) => m.get(j)!.t));
    yPred.push(labels.map((_, j) => m.get(j)!.p));
  }
  return { images, labels, yTrue, yPred };
}

/** What `ganon stats report --json` prints. */
export interface ReportJson {
  kind: ClassificationReport['kind'];
  samples: number;
  labels: Label[];
  zeroDivision: ZeroDivision;
  /** classification_report(output_dict=True). */
  report: ReturnType<typeof reportDict>;
  warnings: string[];
}

export function statsCommand(y: Argv) {
  return y
    .command('paired', 'Wilcoxon signed-rank of column a vs b (per group, Bonferroni across groups), Shapiro-Wilk, effect size r', (a) => a
      .option('input', { type: 'string', demandOption: true, describe: 'table: .csv with a header row, or an Arrow IPC file (.arrow)' })
      .option('a', { type: 'string', demandOption: true, describe: 'column of the first measurement (x in scipy.stats.wilcoxon(x, y))' })
      .option('b', { type: 'string', demandOption: true, describe: 'column of the second measurement' })
      .option('group', { type: 'string', describe: 'column to group by: one test per value, Bonferroni across the groups' })
      .option('zero-method', { type: 'string', choices: ZERO_METHODS, default: 'wilcox' as const, describe: 'zero differences: wilcox drops them, pratt ranks them, zsplit splits their ranks (scipy)' })
      .option('correction', { type: 'boolean', default: false, describe: 'continuity correction of z (normal approximation)' })
      .option('method', { type: 'string', choices: WILCOXON_METHODS, default: 'auto' as const, describe: 'p-value: auto (as scipy 1.17), exact, approx (normal, reports z)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
    async (a) => {
      const table = await readPairedTable(a.input);
      const report = pairedReport(table.rows, {
        a: a.a, b: a.b, group: a.group, zeroMethod: a.zeroMethod, correction: a.correction, method: a.method,
      });
      process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPairedTable(report)}\n`);
    })
    .command('report', 'classification report (precision, recall, F1, support; accuracy and averages) as scikit-learn prints it', (a) => a
      .option('input', { type: 'string', demandOption: true, describe: 'table: .csv with a header row, or an Arrow IPC file (.arrow)' })
      .option('true', { type: 'string', demandOption: true, describe: 'column of the true labels (with --multilabel: 0/1)' })
      .option('pred', { type: 'string', demandOption: true, describe: 'column of the predicted labels (with --multilabel: 0/1)' })
      .option('multilabel', { type: 'boolean', default: false, describe: 'long format: one row per image and label, columns image, label and the 0/1 --true/--pred columns' })
      .option('digits', { type: 'number', default: 2, describe: 'decimals in the text table' })
      .option('zero-division', { type: 'string', choices: ZERO_DIVISIONS, default: 'warn' as const, describe: 'value of a 0/0 precision, recall or F1: warn (0 and a warning), 0 or 1' })
      .option('json', { type: 'boolean', default: false, describe: 'print classification_report(output_dict=True) and the warnings as JSON' }),
    async (a) => {
      if (!Number.isInteger(a.digits) || a.digits < 0 || a.digits > 100) throw new InputError(`--digits: an integer from 0 to 100 (got ${a.digits})`);
      const zeroDivision: ZeroDivision = a.zeroDivision === 'warn' ? 'warn' : (Number(a.zeroDivision) as 0 | 1);
      const table = await readPairedTable(a.input);
      let report: ClassificationReport;
      if (a.multilabel) {
        const m = multilabelColumns(table.rows, a.true, a.pred);
        report = multilabelReport(m.yTrue, m.yPred, { targetNames: m.labels, zeroDivision });
      } else {
        const m = multiclassColumns(table.rows, a.true, a.pred);
        report = classificationReport(m.yTrue, m.yPred, { zeroDivision });
      }
      if (a.json) {
        const out: ReportJson = {
          kind: report.kind, samples: report.samples,
          labels: report.kind === 'multilabel' ? report.targetNames : report.labels,
          zeroDivision, report: reportDict(report), warnings: report.warnings,
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        process.stdout.write(formatReport(report, a.digits));
        for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
      }
    })
    .demandCommand(1, 'name a stats subcommand: paired, report');
}
