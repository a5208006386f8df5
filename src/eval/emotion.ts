/**
 * Emotion preservation, the inference scenario (paper section 4.2, Tables 2 and 3),
 * on per-image class probabilities of the originals and of each method's output:
 * - Table 2: per class and method, the mean of |p_anon - p_orig| over the images
 *   that method has (lower = the emotion is better preserved);
 * - Table 3: per class, the paired Wilcoxon signed-rank test of the reference
 *   method's |dp| against each other method's, on the images both have, with the
 *   reference code's scipy settings (method 'approx', zero_method 'wilcox', no
 *   continuity correction); z, r = z / sqrt(N) with N the number of pairs
 *   (zero differences included, as the reference), raw p and Bonferroni-corrected
 *   p over all tests of the table (the reference only logged the corrected ones);
 *   Shapiro-Wilk of the concatenated samples, as the reference logged it.
 * Pure functions; rows are joined by image id, never by position.
 */
import { InputError } from '../errors.js';
import { bonferroni, effectSizeR, shapiro, stars, wilcoxon } from './stats.js';

export interface EmotionRow {
  image: string;
  method: string;
  class: string;
  p_orig: number;
  p_anon: number;
}

export interface Table2 {
  classes: string[];
  methods: string[];
  /** mean[method][class] */
  mean: Record<string, Record<string, number>>;
  /** Images per method. */
  n: Record<string, number>;
}

export interface Table3Row {
  class: string;
  method: string;
  reference: string;
  n: number;
  zeros: number;
  statistic: number;
  z: number;
  r: number;
  p: number;
  pBonferroni: number;
  stars: string;
  starsBonferroni: string;
  shapiro: { w: number; p: number };
}

export function table2(rows: readonly EmotionRow[], classes: readonly string[], methods: readonly string[]): Table2 {
  const sum = new Map<string, number>();
  const cnt = new Map<string, number>();
  const images = new Map<string, Set<string>>();
  for (const r of rows) {
    const key = `${r.method}\u0000${r.class}`;
    sum.set(key, (sum.get(key) ?? 0) + Math.abs(r.p_anon - r.p_orig));
    cnt.set(key, (cnt.get(key) ?? 0) + 1);
    if (!images.has(r.method)) images.set(r.method, new Set());
    images.get(r.method)!.add(r.image);
  }
  const mean: Table2['mean'] = {};
  const n: Table2['n'] = {};
  for (const m of methods) {
    mean[m] = {};
    n[m] = images.get(m)?.size ?? 0;
    for (const c of classes) {
      const k = cnt.get(`${m}\u0000${c}`) ?? 0;
      mean[m]![c] = k > 0 ? sum.get(`${m}\u0000${c}`)! / k : Number.NaN;
    }
  }
  return { classes: [...classes], methods: [...methods], mean, n };
}

/** |dp| per image for one method and class. */
function absDiffs(rows: readonly EmotionRow[], method: string, cls: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) if (r.method === method && r.class === cls) m.set(r.image, Math.abs(r.p_anon - r.p_orig));
  return m;
}

export function table3(rows: readonly EmotionRow[], classes: readonly string[], methods: readonly string[], reference: string): Table3Row[] {
  if (!methods.includes(reference)) throw new InputError(`reference method '${reference}' is not one of ${methods.join(', ')}`);
  const others = methods.filter((m) => m !== reference);
  const out: Omit<Table3Row, 'pBonferroni' | 'starsBonferroni'>[] = [];
  for (const c of classes) {
    const ref = absDiffs(rows, reference, c);
    for (const m of others) {
      const other = absDiffs(rows, m, c);
      const ids = [...ref.keys()].filter((id) => other.has(id)).sort();
      const x = ids.map((id) => ref.get(id)!);
      const y = ids.map((id) => other.get(id)!);
      const base = { class: c, method: m, reference, n: ids.length };
      if (ids.length === 0) {
        out.push({ ...base, zeros: 0, statistic: Number.NaN, z: Number.NaN, r: Number.NaN, p: Number.NaN, stars: '', shapiro: { w: Number.NaN, p: Number.NaN } });
        continue;
      }
      const w = wilcoxon(x, y, { method: 'approx', zeroMethod: 'wilcox', correction: false });
      const z = w.z ?? Number.NaN;
      const both = [...x, ...y];
      const sw = both.length >= 3 ? shapiro(both) : { w: Number.NaN, pvalue: Number.NaN };
      out.push({ ...base, zeros: w.nZero, statistic: w.statistic, z, r: effectSizeR(z, ids.length), p: w.pvalue, stars: stars(w.pvalue), shapiro: { w: sw.w, p: sw.pvalue } });
    }
  }
  // Bonferroni over the tests that have a p-value (a NaN p stays NaN and does not count).
  const finite = out.map((r, i) => [r.p, i] as const).filter(([p]) => Number.isFinite(p));
  const adj = bonferroni(finite.map(([p]) => p));
  const pb = new Array<number>(out.length).fill(Number.NaN);
  finite.forEach(([, i], k) => (pb[i] = adj[k]!));
  return out.map((r, i) => ({ ...r, pBonferroni: pb[i]!, starsBonferroni: stars(pb[i]!) }));
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

/** Table 2: classes as rows, methods as columns, three decimals; the best (lowest) per row in bold. */
export function formatTable2(t: Table2, caption: string): string {
  const lines = [`${caption}`, '', `| emotion | ${t.methods.join(' | ')} |`, `|---|${t.methods.map(() => '---:').join('|')}|`];
  for (const c of t.classes) {
    const vals = t.methods.map((m) => t.mean[m]![c]!);
    const best = Math.min(...vals.filter(Number.isFinite));
    lines.push(`| ${c} | ${vals.map((v) => (v === best ? `**${f3(v)}**` : f3(v))).join(' | ')} |`);
  }
  lines.push(`| N (images) | ${t.methods.map((m) => t.n[m]).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

function fmtP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

/** Table 3 in the paper's layout: p, Z, r, N per class and method; raw and Bonferroni-corrected p. */
export function formatTable3(rows: readonly Table3Row[], caption: string): string {
  const lines = [
    caption, '',
    '| emotion | method vs reference | p | p (Bonferroni) | Z | r | N | zeros | Shapiro W (p) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.class} | ${r.method} vs ${r.reference} | ${fmtP(r.p)}${r.stars} | ${fmtP(r.pBonferroni)}${r.starsBonferroni} | ${Number.isFinite(r.z) ? r.z.toFixed(3) : 'n/a'} | ${Number.isFinite(r.r) ? r.r.toFixed(3) : 'n/a'} | ${r.n} | ${r.zeros} | ${Number.isFinite(r.shapiro.w) ? `${r.shapiro.w.toFixed(3)} (${fmtP(r.shapiro.p)})` : 'n/a'} |`);
  }
  lines.push('', 'Wilcoxon signed-rank, two-sided, normal approximation, zero differences dropped, no continuity correction (scipy defaults with method=approx, as the reference). r = Z / sqrt(N), N = pairs. Stars: * p < 0.05, ** p < 0.01, *** p < 0.001.');
  return `${lines.join('\n')}\n`;
}
