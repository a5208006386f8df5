/**
 * Paired-sample statistics over a table (the library behind `ganon stats paired`):
 * read a CSV or Arrow IPC file, split it by an optional group column, and for each group
 * report Shapiro-Wilk of a, b and a - b, the Wilcoxon signed-rank test of a vs b, the effect
 * size r = z / sqrt(n), and Bonferroni-corrected p-values across the groups (the paper's
 * Table 3 layout: p, Z, r, N, stars on the corrected p).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { InputError } from '../errors.js';
import {
  bonferroni, effectSizeR, shapiro, stars, wilcoxon,
  type ShapiroResult, type WilcoxonMethod, type WilcoxonResult, type ZeroMethod,
} from './stats.js';

export type Cell = string | number;
export interface PairedTable {
  columns: string[];
  /** One record per data row. CSV cells stay text; Arrow numbers are numbers; a missing cell is ''. */
  rows: Record<string, Cell>[];
}

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

/** Parses CSV text with a header row: comma separated, "double quotes" with "" escapes (may span lines), CRLF or LF. */
export function parseCsv(text: string, name = 'CSV'): PairedTable {
  const records: { fields: string[]; line: number }[] = [];
  let field = '';
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let wasQuoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    fields.push(field);
    // skip blank lines
    if (!(fields.length === 1 && fields[0]!.trim() === '' && !wasQuoted)) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    wasQuoted = false;
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field !== '') throw new InputError(`${name}: line ${line}: a quote inside an unquoted field`);
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new InputError(`${name}: line ${recordLine}: unterminated quoted field`);
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();

  const header = records.shift();
  if (!header) throw new InputError(`${name}: empty file (expected a header row)`);
  const columns = header.fields.map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === '') throw new InputError(`${name}: the header has an empty column name`);
    if (seen.has(c)) throw new InputError(`${name}: column '${c}' appears twice in the header`);
    seen.add(c);
  }
  const rows = records.map(({ fields: f, line: ln }) => {
    if (f.length !== columns.length) {
      throw new InputError(`${name}: line ${ln} has ${f.length} fields, the header has ${columns.length}`);
    }
    const row: Record<string, Cell> = {};
    columns.forEach((c, k) => { row[c] = f[k]!; });
    return row;
  });
  return { columns, rows };
}

function arrowCell(v: unknown): Cell {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Reads an Arrow IPC file (or stream) into rows. */
export function parseArrow(bytes: Uint8Array, name = 'Arrow file'): PairedTable {
  let table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new InputError(`${name}: not a readable Arrow IPC file (${(e as Error).message})`);
  }
  const columns = table.schema.fields.map((f) => f.name);
  const data = columns.map((c) => table.getChild(c)!);
  const rows: Record<string, Cell>[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, Cell> = {};
    columns.forEach((c, k) => { row[c] = arrowCell(data[k]!.get(i)); });
    rows.push(row);
  }
  return { columns, rows };
}

const ARROW_MAGIC = 'ARROW1';

/**
 * Reads a table for `stats paired`: `.csv` (header row, simple quoting), `.arrow` / `.feather` /
 * `.ipc` (Arrow IPC via apache-arrow's tableFromIPC). Other extensions are sniffed (Arrow magic
 * bytes, else CSV).
 */
export async function readPairedTable(path: string): Promise<PairedTable> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError(`cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  const isArrow = ['.arrow', '.feather', '.ipc', '.arrows'].includes(ext)
    || (ext !== '.csv' && bytes.subarray(0, 6).toString('latin1') === ARROW_MAGIC);
  return isArrow ? parseArrow(bytes, `'${path}'`) : parseCsv(bytes.toString('utf8'), `'${path}'`);
}

// ------------------------------------------------------------------------------------------
// The report
// ------------------------------------------------------------------------------------------

export interface PairedOptions {
  /** Column of the first measurement (x in scipy.stats.wilcoxon(x, y)). */
  a: string;
  /** Column of the second measurement. */
  b: string;
  /** Optional grouping column: one test per distinct value, Bonferroni across them. */
  group?: string;
  zeroMethod?: ZeroMethod;
  correction?: boolean;
  method?: WilcoxonMethod;
}

export interface GroupReport {
  /** The group's value, or null when there is no group column. */
  group: string | null;
  /** Pairs in the group. */
  n: number;
  /** Pairs with a - b = 0. */
  nZero: number;
  /** Shapiro-Wilk of a, b and a - b; null when n < 3 or n > 5000. */
  shapiro: { a: ShapiroResult | null; b: ShapiroResult | null; diff: ShapiroResult | null };
  /** Wilcoxon signed-rank, scipy's definitions (see stats.ts). */
  statistic: number;
  rPlus: number;
  rMinus: number;
  /** -|z| of the normal approximation; null when p is exact or a permutation p. */
  z: number | null;
  pvalue: number;
  nUsed: number;
  method: WilcoxonResult['method'];
  /** Effect size r = z / sqrt(n), n = pairs in the group (the paper's N). */
  r: number;
  /** The z that r is computed from: `z`, or, for an exact/permutation p, the normal-approximation z of the same data. */
  rZ: number;
  /** p times the number of groups, capped at 1. */
  pBonferroni: number;
}

export interface PairedReport {
  a: string;
  b: string;
  group: string | null;
  zeroMethod: ZeroMethod;
  correction: boolean;
  method: WilcoxonMethod;
  groups: GroupReport[];
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function numberCell(v: Cell | undefined, row: number, col: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError(`row ${row}, column '${col}': ${v} is not a finite number`);
    return v;
  }
  const s = (v ?? '').trim();
  if (s === '') throw new InputError(`row ${row}, column '${col}': missing value`);
  if (!NUMBER_RE.test(s)) throw new InputError(`row ${row}, column '${col}': '${s}' is not a number`);
  return Number(s);
}

function shapiroOrNull(x: number[]): ShapiroResult | null {
  return x.length >= 3 && x.length <= 5000 ? shapiro(x) : null;
}

/**
 * Per group (or for all rows): n, zeros, Shapiro-Wilk of a, b and a - b, Wilcoxon (a vs b),
 * r and Bonferroni-corrected p across the groups. Rows are numbered from 1 (data rows, the
 * CSV header not counted) in error messages.
 */
export function pairedReport(rows: readonly Record<string, Cell>[], opts: PairedOptions): PairedReport {
  const zeroMethod = opts.zeroMethod ?? 'wilcox';
  const correction = opts.correction ?? false;
  const method = opts.method ?? 'auto';
  if (rows.length === 0) throw new InputError('the table has no rows');
  const columns = Object.keys(rows[0]!);
  for (const [flag, col] of [['--a', opts.a], ['--b', opts.b], ['--group', opts.group]] as const) {
    if (col !== undefined && !columns.includes(col)) {
      throw new InputError(`${flag}: no column '${col}' (columns: ${columns.join(', ')})`);
    }
  }

  const byGroup = new Map<string | null, { a: number[]; b: number[] }>();
  rows.forEach((row, i) => {
    const rowNo = i + 1;
    let key: string | null = null;
    if (opts.group !== undefined) {
      const g = row[opts.group];
      key = String(g ?? '').trim();
      if (key === '') throw new InputError(`row ${rowNo}, column '${opts.group}': missing value`);
    }
    const a = numberCell(row[opts.a], rowNo, opts.a);
    const b = numberCell(row[opts.b], rowNo, opts.b);
    let entry = byGroup.get(key);
    if (!entry) byGroup.set(key, (entry = { a: [], b: [] }));
    entry.a.push(a);
    entry.b.push(b);
  });

  const groups: Omit<GroupReport, 'pBonferroni'>[] = [];
  for (const [group, { a, b }] of byGroup) {
    const where = group === null ? '' : ` (group '${group}')`;
    let w: WilcoxonResult;
    let rZ: number;
    try {
      w = wilcoxon(a, b, { zeroMethod, correction, method });
      rZ = w.z ?? wilcoxon(a, b, { zeroMethod, correction, method: 'approx' }).z!;
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${e.message}${where}`);
      throw e;
    }
    const diff = a.map((v, i) => v - b[i]!);
    groups.push({
      group, n: a.length, nZero: w.nZero,
      shapiro: { a: shapiroOrNull(a), b: shapiroOrNull(b), diff: shapiroOrNull(diff) },
      statistic: w.statistic, rPlus: w.rPlus, rMinus: w.rMinus, z: w.z, pvalue: w.pvalue,
      nUsed: w.nUsed, method: w.method,
      r: effectSizeR(rZ, a.length), rZ,
    });
  }
  const adj = bonferroni(groups.map((g) => g.pvalue));
  return {
    a: opts.a, b: opts.b, group: opts.group ?? null, zeroMethod, correction, method,
    groups: groups.map((g, i) => ({ ...g, pBonferroni: adj[i]! })),
  };
}

// ------------------------------------------------------------------------------------------
// The table
// ------------------------------------------------------------------------------------------

function fmtNum(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  return v.toFixed(digits);
}

/** p as the paper prints it: '<0.001***', '0.013*', '0.119'. */
export function formatP(p: number): string {
  if (Number.isNaN(p)) return '-';
  return `${p < 0.001 ? '<0.001' : p.toFixed(3)}${stars(p)}`;
}

function fmtRawP(p: number): string {
  if (Number.isNaN(p)) return '-';
  if (p === 0) return '0';
  return p < 1e-4 ? p.toExponential(3) : p.toFixed(4);
}

function fmtShapiro(s: ShapiroResult | null): string {
  if (!s) return '-';
  return `${s.w.toFixed(4)} (${s.pvalue < 0.001 ? '<0.001' : s.pvalue.toFixed(3)})`;
}

/**
 * A plain-text table of a report: one row per group with n, zeros, Shapiro-Wilk W (p) of a, b
 * and a - b, the Wilcoxon statistic, z, p, Bonferroni p with the paper's stars
 * (* < 0.05, ** < 0.01, *** < 0.001) and r.
 */
export function formatPairedTable(report: PairedReport): string {
  const head = ['group', 'n', 'zeros', `SW ${report.a}`, `SW ${report.b}`, 'SW a-b', 'T', 'z', 'p', 'p (Bonf.)', 'r', 'test'];
  const body = report.groups.map((g) => [
    g.group ?? '(all)',
    String(g.n),
    String(g.nZero),
    fmtShapiro(g.shapiro.a),
    fmtShapiro(g.shapiro.b),
    fmtShapiro(g.shapiro.diff),
    fmtNum(g.statistic, 1),
    g.z === null ? `(${fmtNum(g.rZ, 6)})` : fmtNum(g.z, 6),
    fmtRawP(g.pvalue),
    formatP(g.pBonferroni),
    fmtNum(g.r, 6),
    g.method,
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const numeric = new Set([1, 2, 6, 7, 8, 10]);
  const line = (cells: string[]) => cells.map((c, k) => (numeric.has(k) ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join('  ').trimEnd();
  const groups = report.groups.length;
  const notes = [
    `Wilcoxon signed-rank, ${report.a} vs ${report.b}, two-sided; zero method ${report.zeroMethod}, `
      + `continuity correction ${report.correction ? 'on' : 'off'}, method ${report.method}.`,
    `SW: Shapiro-Wilk W (p). T = min(R+, R-). r = z / sqrt(n)${report.groups.some((g) => g.z === null) ? '; z in parentheses: normal approximation, used only for r (p is exact)' : ''}.`,
    `Bonferroni over ${groups} group${groups === 1 ? '' : 's'}. * p < 0.05, ** p < 0.01, *** p < 0.001.`,
  ];
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), '', ...notes].join('\n');
}
