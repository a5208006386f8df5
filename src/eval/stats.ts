/**
 * The statistics engine: paired Wilcoxon signed-rank test, Shapiro-Wilk, p-value
 * adjustment, effect size r and significance stars. Pure functions on number
 * arrays, no I/O.
 *
 * `wilcoxon` and `shapiro` mirror scipy 1.17 (scipy.stats.wilcoxon two-sided,
 * scipy.stats.shapiro with its double-precision port of Royston's AS R94) and are
 * checked against golden fixtures in test/fixtures/stats/. Normal tail p-values
 * come from erfc, so z = -33 still gives p = 4.4e-244 instead of 0.
 */
import erfc from '@stdlib/math-base-special-erfc';
import { InputError } from '../errors.js';

// ------------------------------------------------------------------------------------------
// Normal tail
// ------------------------------------------------------------------------------------------

/** Upper tail of the standard normal, P(Z > z) = erfc(z / sqrt 2) / 2; accurate far in the tail. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Two-sided normal p-value 2 P(Z > |z|) (scipy: 2 * ndtr(-|z|)). NaN in, NaN out. */
export function twoSidedNormalP(z: number): number {
  return 2 * normalSf(Math.abs(z));
}

// ------------------------------------------------------------------------------------------
// Wilcoxon signed-rank test
// ------------------------------------------------------------------------------------------

export type ZeroMethod = 'wilcox' | 'pratt' | 'zsplit';
export type WilcoxonMethod = 'auto' | 'exact' | 'approx';
export const ZERO_METHODS: readonly ZeroMethod[] = ['wilcox', 'pratt', 'zsplit'];
export const WILCOXON_METHODS: readonly WilcoxonMethod[] = ['auto', 'exact', 'approx'];

export interface WilcoxonOptions {
  /** How zero differences are treated (scipy's zero_method); default 'wilcox' (dropped). */
  zeroMethod?: ZeroMethod;
  /** Continuity correction of z (approx only); default false, as scipy. */
  correction?: boolean;
  /** 'auto' (default) as scipy 1.17, 'exact' null distribution, 'approx' normal approximation. */
  method?: WilcoxonMethod;
  /** Inputs are numpy float32: d = Math.fround(x - y), so ties and zeros match numpy's float32 differences. */
  float32?: boolean;
}

export interface WilcoxonResult {
  /** min(R+, R-), scipy's two-sided statistic. NaN for n = 0. */
  statistic: number;
  /** Sum of ranks of positive differences (plus half the zero ranks for zsplit). */
  rPlus: number;
  /** Sum of ranks of negative differences (plus half the zero ranks for zsplit). */
  rMinus: number;
  /** -|z| (continuity-corrected if asked) for the normal approximation; null for exact and permutation p-values. NaN when the variance is 0 (all differences zero). */
  z: number | null;
  /** Two-sided p-value. NaN where scipy gives NaN (no pairs; approx with all differences zero). */
  pvalue: number;
  /** Pairs given. */
  n: number;
  /** Pairs used for the ranks and the null distribution: n minus the zeros for 'wilcox', else n. */
  nUsed: number;
  /** Zero differences. */
  nZero: number;
  /** What computed p: 'approx', 'exact', or 'permutation' (scipy 1.17's 'auto' for n <= 13 with ties or zeros: all 2^n sign flips). */
  method: 'approx' | 'exact' | 'permutation';
  zeroMethod: ZeroMethod;
  correction: boolean;
}

/** Average ranks (1-based) of `v` and the sizes of its groups of equal values. */
function averageRanks(v: Float64Array): { ranks: Float64Array; groups: number[] } {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => v[i]! - v[j]! || i - j);
  const ranks = new Float64Array(n);
  const groups: number[] = [];
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && v[order[j]!] === v[order[i]!]) j++;
    const r = i + 1 + (j - i - 1) / 2;
    for (let k = i; k < j; k++) ranks[order[k]!] = r;
    groups.push(j - i);
    i = j;
  }
  return { ranks, groups };
}

/**
 * pmf of R+ under H0 for n untied non-zero differences, P(R+ = r) for r = 0 .. min(upTo, n(n+1)/2):
 * scipy's _get_wilcoxon_distr recursion c_k[r] = c_{k-1}[r]/2 + c_{k-1}[r-k]/2, done in place and
 * truncated at `upTo` (a lower tail needs only its own entries), so the values are bit-identical.
 */
export function signedRankPmf(n: number, upTo = (n * (n + 1)) / 2): Float64Array {
  const K = Math.min(upTo, (n * (n + 1)) / 2);
  const c = new Float64Array(K + 1);
  c[0] = 1;
  for (let k = 1; k <= n; k++) {
    const top = Math.min(K, (k * (k + 1)) / 2);
    for (let r = top; r >= k; r--) c[r] = c[r]! * 0.5 + c[r - k]! * 0.5;
    for (let r = Math.min(k - 1, top); r >= 0; r--) c[r] = c[r]! * 0.5;
  }
  return c;
}

/**
 * Two-sided exact p as scipy: 2 min(sf(floor R+), cdf(ceil R+)) clipped to [0, 1], where
 * WilcoxonDistribution.cdf(k) = sum pmf[0..k] for k <= mean, else 1 - sum pmf[k+1..]; and
 * sf(k) = 1 - sum pmf[0..k-1] for k <= mean, else sum pmf[k..]. Upper-tail sums are taken as
 * lower-tail sums by the symmetry pmf[r] = pmf[M - r] (exact: the pmf values are dyadic).
 */
function exactTwoSidedP(rPlus: number, count: number): number {
  const M = (count * (count + 1)) / 2;
  const mean = M / 2;
  const kf = Math.floor(rPlus);
  const kc = Math.ceil(rPlus);
  const jCdf = kc <= mean ? kc : M - kc - 1; // cdf(kc) = S(jCdf) or 1 - S(jCdf)
  const jSf = kf <= mean ? kf - 1 : M - kf; // sf(kf) = 1 - S(jSf) or S(jSf)
  const pmf = signedRankPmf(count, Math.max(0, jCdf, jSf));
  const lowerSum = (j: number) => {
    let s = 0;
    for (let i = 0; i <= j && i < pmf.length; i++) s += pmf[i]!;
    return s;
  };
  const cdf = kc <= mean ? lowerSum(jCdf) : 1 - lowerSum(jCdf);
  const sf = kf <= mean ? 1 - lowerSum(jSf) : lowerSum(jSf);
  // non-integral R+ (ties/zeros with method 'exact') is rounded conservatively, as scipy (gh-19872)
  const p = 2 * Math.min(sf, cdf);
  return Math.min(1, Math.max(0, p));
}

/**
 * Paired Wilcoxon signed-rank test, two-sided, as scipy.stats.wilcoxon(x, y, zero_method,
 * correction, method) in scipy 1.17:
 * - ranks of |d| (average ranks for ties); 'wilcox' drops zero differences, 'pratt' ranks them
 *   but leaves them out of R+/R- (and adjusts mean and variance), 'zsplit' splits their ranks.
 * - approx: z = (R+ - n(n+1)/4) / sqrt((n(n+1)(2n+1) - sum(t^3 - t)/2) / 24), minus
 *   sign(z)/(2 se) with `correction`; reported as -|z|; p = 2 P(Z > |z|) via erfc.
 * - exact: the exact null distribution of R+ for nUsed pairs, p = 2 min(sf(floor R+), cdf(ceil R+)).
 * - auto: n > 50 -> approx; else exact when there are no ties and no zeros; else for n <= 13 a
 *   complete sign-flip permutation test (scipy uses PermutationMethod there); else approx.
 * Degenerate inputs give what scipy gives: n = 0 -> NaN statistic and p; approx with every
 * difference zero ('wilcox'/'pratt') -> z and p NaN. Where scipy raises (auto with a single pair
 * whose difference is zero) this throws InputError. Non-finite inputs throw InputError.
 */
export function wilcoxon(x: ArrayLike<number>, y: ArrayLike<number>, opts: WilcoxonOptions = {}): WilcoxonResult {
  const zeroMethod = opts.zeroMethod ?? 'wilcox';
  const correction = opts.correction ?? false;
  const requested = opts.method ?? 'auto';
  if (!ZERO_METHODS.includes(zeroMethod)) throw new InputError(`wilcoxon: zeroMethod must be one of ${ZERO_METHODS.join(', ')} (got '${String(zeroMethod)}')`);
  if (!WILCOXON_METHODS.includes(requested)) throw new InputError(`wilcoxon: method must be one of ${WILCOXON_METHODS.join(', ')} (got '${String(requested)}')`);
  if (x.length !== y.length) throw new InputError(`wilcoxon: x and y must have the same length (got ${x.length} and ${y.length})`);
  const n = x.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const yi = y[i]!;
    if (!Number.isFinite(xi) || !Number.isFinite(yi)) {
      throw new InputError(`wilcoxon: pair ${i + 1} is not finite (x = ${xi}, y = ${yi})`);
    }
    d[i] = opts.float32 ? Math.fround(xi - yi) : xi - yi;
  }
  let nZero = 0;
  for (let i = 0; i < n; i++) if (d[i] === 0) nZero++;
  const base = { n, nZero, zeroMethod, correction };

  if (n === 0) {
    return {
      ...base, statistic: NaN, rPlus: NaN, rMinus: NaN, pvalue: NaN, nUsed: 0,
      z: requested === 'approx' ? NaN : null, method: requested === 'exact' ? 'exact' : 'approx',
    };
  }

  // ranks of |d| over the differences that take part ('wilcox': the non-zero ones)
  const used: number[] = [];
  for (let i = 0; i < n; i++) if (zeroMethod !== 'wilcox' || d[i] !== 0) used.push(i);
  const count = used.length;
  const absd = Float64Array.from(used, (i) => Math.abs(d[i]!));
  const { ranks, groups } = averageRanks(absd);
  const hasTies = groups.some((g) => g > 1);

  let rPlus = 0;
  let rMinus = 0;
  let rZero = 0;
  used.forEach((i, k) => {
    const v = d[i]!;
    if (v > 0) rPlus += ranks[k]!;
    else if (v < 0) rMinus += ranks[k]!;
    else rZero += ranks[k]!;
  });
  if (zeroMethod === 'zsplit') {
    rPlus += rZero / 2;
    rMinus += rZero / 2;
  }

  let method: WilcoxonResult['method'];
  if (requested === 'approx') method = 'approx';
  else if (requested === 'exact') method = 'exact';
  else if (n > 50) method = 'approx';
  else if (!(hasTies || nZero > 0)) method = 'exact';
  else if (n <= 13) method = 'permutation';
  else method = 'approx';

  const statistic = Math.min(rPlus, rMinus);
  if (method === 'exact') {
    return { ...base, statistic, rPlus, rMinus, z: null, pvalue: exactTwoSidedP(rPlus, count), nUsed: count, method };
  }
  if (method === 'permutation') {
    if (n < 2) {
      throw new InputError('wilcoxon: a single pair with a zero difference has no permutation test (scipy raises); use method approx or exact');
    }
    return { ...base, statistic, rPlus, rMinus, z: null, pvalue: permutationP(d, used, ranks, rPlus, rZero, zeroMethod), nUsed: count, method };
  }

  // normal approximation
  let mn = count * (count + 1) * 0.25;
  let se = count * (count + 1) * (2 * count + 1);
  let tieSum = 0;
  // the first group is the zeros when there are any (they have the smallest |d|); pratt leaves it out
  groups.forEach((t, g) => {
    if (g === 0 && zeroMethod === 'pratt' && nZero > 0) return;
    tieSum += t * t * t - t;
  });
  if (zeroMethod === 'pratt') {
    mn -= nZero * (nZero + 1) * 0.25;
    se -= nZero * (nZero + 1) * (2 * nZero + 1);
  }
  se = Math.sqrt((se - tieSum / 2) / 24);
  let z = (rPlus - mn) / se;
  if (correction) z -= (Math.sign(z) * 0.5) / se;
  const pvalue = twoSidedNormalP(z);
  return { ...base, statistic, rPlus, rMinus, z: -Math.abs(z), pvalue, nUsed: count, method };
}

/**
 * Exact permutation p-value over all 2^n sign flips of d (scipy.stats.permutation_test with
 * permutation_type='samples' and the statistic R+, which is exact for n <= 13). Ranks of |d| do
 * not change under a flip; zeros stay zeros.
 */
function permutationP(
  d: Float64Array, used: number[], ranks: Float64Array, observed: number, rZero: number, zeroMethod: ZeroMethod,
): number {
  const n = d.length;
  // rank of each pair's |d| (0 for a zero under 'wilcox'/'pratt': it never adds to R+)
  const r = new Float64Array(n);
  used.forEach((i, k) => { if (d[i] !== 0) r[i] = ranks[k]!; });
  const constant = zeroMethod === 'zsplit' ? rZero / 2 : 0;
  const total = 2 ** n;
  const gamma = Math.abs(2.220446049250313e-16 * 100 * observed);
  let less = 0;
  let greater = 0;
  for (let mask = 0; mask < total; mask++) {
    // bit i set: pair i keeps its sign; clear: flipped. R+ = ranks of pairs positive after the flip.
    let s = constant;
    for (let i = 0; i < n; i++) {
      const v = d[i]!;
      if (v === 0) continue;
      const positive = (mask & (1 << i)) !== 0 ? v > 0 : v < 0;
      if (positive) s += r[i]!;
    }
    if (s <= observed + gamma) less++;
    if (s >= observed - gamma) greater++;
  }
  const p = Math.min(less / total, greater / total) * 2;
  return Math.min(1, Math.max(0, p));
}

// ------------------------------------------------------------------------------------------
// Shapiro-Wilk (Royston 1995, AS R94; scipy's double-precision Cython port)
// ------------------------------------------------------------------------------------------

export interface ShapiroResult {
  /** W statistic. */
  w: number;
  /** p-value. */
  pvalue: number;
  n: number;
  /** Set when scipy would warn: the sample has zero range (W = 1, p = 1 are placeholders). */
  warning?: string;
}

/** AS R94's polynomial: c[0] + c[1] x + ... with the coefficients stored as [c0, cn, ..., c1] as in scipy. */
function poly(c: readonly number[], nord: number, x: number): number {
  let res = c[0]!;
  if (nord === 1) return res;
  let p = x * c[nord - 1]!;
  if (nord === 2) return res + p;
  for (let i = nord - 2; i > 0; i--) p = (p + c[i]!) * x;
  res += p;
  return res;
}

/** AS 111 normal quantile (PPND, ~7 digits): what AS R94 uses for its coefficients. */
function ppnd(p: number): number {
  const A0 = 2.50662823884, A1 = -18.61500062529, A2 = 41.39119773534, A3 = -25.44106049637;
  const B1 = -8.4735109309, B2 = 23.08336743743, B3 = -21.06224101826, B4 = 3.13082909833;
  const C0 = -2.78718931138, C1 = -2.29796479134, C2 = 4.85014127135, C3 = 2.32121276858;
  const D1 = 3.54388924762, D2 = 1.63706781897;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.42) {
    const r = q * q;
    return (q * (((A3 * r + A2) * r + A1) * r + A0)) / ((((B4 * r + B3) * r + B2) * r + B1) * r + 1);
  }
  let r = q > 0 ? 1 - p : p;
  if (!(r > 0)) return 0;
  r = Math.sqrt(-Math.log(r));
  const t = ((C3 * r + C2) * r + C1) * r + C0;
  const v = t / ((D2 * r + D1) * r + 1);
  return q < 0 ? -v : v;
}

/** AS 66 normal tail (alnorm, upper tail when `upper`), as in scipy's swilk. */
function alnorm(x: number, upperIn: boolean): number {
  let upper = upperIn;
  let z = x;
  if (!(z > 0)) {
    upper = false;
    z = -z;
  }
  if (!(z <= 7 || (upper && z <= 38))) return upper ? 0 : 1;
  const y = 0.5 * z * z;
  let temp: number;
  if (z <= 1.28) {
    temp = 0.5 - z * (0.398942280444 - (0.399903438504 * y) / (y + 5.75885480458 - 29.8213557808 / (y + 2.62433121679 + 48.6959930692 / (y + 5.92885724438))));
  } else {
    temp = (0.398942280385 * Math.exp(-y)) / (z - 3.8052e-8 + 1.00000615302 / (z + 3.98064794e-4 + 1.98615381364 / (z - 0.151679116635 + 5.29330324926 / (z + 4.8385912808 - 15.1508972451 / (z + 0.742380924027 + 30.789933034 / (z + 3.99019417011))))));
  }
  return upper ? temp : 1 - temp;
}

const C1 = [0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
const C2 = [0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
const C3 = [0.544, -0.39978, 0.025054, -0.0006714];
const C4 = [1.3822, -0.77857, 0.062767, -0.0020322];
const C5 = [-1.5861, -0.31082, -0.083751, 0.0038915];
const C6 = [-0.4803, -0.082676, 0.0030302];
const G = [-2.273, 0.459];
const SMALL = 1e-19;

/**
 * Shapiro-Wilk test for normality, as scipy.stats.shapiro (1.17): AS R94 in double precision
 * with its AS 111 quantiles and AS 66 tail. n from 3 to 5000 (outside: InputError; scipy
 * warns above 5000 that p may be inaccurate). A sample with zero range gives W = 1, p = 1 and a
 * warning, as scipy.
 */
export function shapiro(xIn: ArrayLike<number>): ShapiroResult {
  const n = xIn.length;
  if (n < 3) throw new InputError(`shapiro: needs at least 3 values (got ${n})`);
  if (n > 5000) throw new InputError(`shapiro: at most 5000 values (got ${n}); the AS R94 p-value is not valid beyond`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(xIn[i]!)) throw new InputError(`shapiro: value ${i + 1} is not finite (${xIn[i]})`);
  }
  // scipy: sort, then subtract x[n // 2] of the *unsorted* input (a value near the median, gh-15777)
  const shift = xIn[Math.floor(n / 2)]!;
  const x = Float64Array.from(xIn).sort();
  for (let i = 0; i < n; i++) x[i] = x[i]! - shift;

  const nn2 = Math.floor(n / 2);
  const a = new Float64Array(nn2);
  const an = n;
  if (n === 3) {
    a[0] = Math.SQRT2 / 2;
  } else {
    const an25 = an + 0.25;
    let summ2 = 0;
    for (let i = 0; i < nn2; i++) {
      const t = ppnd((i + 1 - 0.375) / an25);
      a[i] = t;
      summ2 += t * t;
    }
    summ2 *= 2;
    const ssumm2 = Math.sqrt(summ2);
    const rsn = 1 / Math.sqrt(an);
    const a1 = poly(C1, 6, rsn) - a[0]! / ssumm2;
    let i1: number;
    let fac: number;
    if (n > 5) {
      i1 = 2;
      const a2 = -a[1]! / ssumm2 + poly(C2, 6, rsn);
      fac = Math.sqrt((summ2 - 2 * a[0]! * a[0]! - 2 * a[1]! * a[1]!) / (1 - 2 * a1 * a1 - 2 * a2 * a2));
      a[1] = a2;
    } else {
      i1 = 1;
      fac = Math.sqrt((summ2 - 2 * a[0]! * a[0]!) / (1 - 2 * a1 * a1));
    }
    a[0] = a1;
    for (let i = i1; i < nn2; i++) a[i] = a[i]! * (-1 / fac);
  }

  const range = x[n - 1]! - x[0]!;
  if (range < SMALL) {
    return { w: 1, pvalue: 1, n, warning: 'input has zero range; W and p are not meaningful' };
  }
  let sx = x[0]! / range;
  let sa = -a[0]!;
  let ind2 = n - 2;
  for (let i = 1; i < n; i++) {
    sx += x[i]! / range;
    if (i !== ind2) sa += (i < ind2 ? -1 : 1) * a[Math.min(i, ind2)]!;
    ind2--;
  }
  sa /= n;
  sx /= n;
  let ssa = 0;
  let ssx = 0;
  let sax = 0;
  ind2 = n - 1;
  for (let i = 0; i < n; i++) {
    const asa = i !== ind2 ? (i < ind2 ? -1 : 1) * a[Math.min(i, ind2)]! - sa : -sa;
    const xsx = x[i]! / range - sx;
    ssa += asa * asa;
    ssx += xsx * xsx;
    sax += asa * xsx;
    ind2--;
  }
  // w1 = 1 - W, computed so as to avoid rounding error for W near 1
  const ssassx = Math.sqrt(ssa * ssx);
  const w1 = ((ssassx - sax) * (ssassx + sax)) / (ssa * ssx);
  const w = 1 - w1;

  if (n === 3) {
    // exact for n = 3; W >= 0.75 in theory, clamped as scipy (gh-18322)
    if (w < 0.75) return { w: 0.75, pvalue: 0, n };
    return { w, pvalue: 1 - (6 / Math.PI) * Math.acos(Math.sqrt(w)), n };
  }
  let y = Math.log(w1);
  const lxx = Math.log(an);
  let m: number;
  let s: number;
  if (n <= 11) {
    const gamma = poly(G, 2, an);
    if (y >= gamma) return { w, pvalue: SMALL, n };
    y = -Math.log(gamma - y);
    m = poly(C3, 4, an);
    s = Math.exp(poly(C4, 4, an));
  } else {
    m = poly(C5, 4, lxx);
    s = Math.exp(poly(C6, 3, lxx));
  }
  return { w, pvalue: alnorm((y - m) / s, true), n };
}

// ------------------------------------------------------------------------------------------
// p-value adjustment, effect size, stars
// ------------------------------------------------------------------------------------------

function checkPs(ps: ArrayLike<number>, what: string): void {
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (!Number.isNaN(p) && !(p >= 0 && p <= 1)) throw new InputError(`${what}: p-value ${i + 1} is ${p}, not in [0, 1]`);
  }
}

/**
 * Bonferroni-adjusted p-values min(1, m p). m is the number of p-values given, NaN ones
 * included (as R's p.adjust); a NaN p stays NaN.
 */
export function bonferroni(ps: ArrayLike<number>): number[] {
  checkPs(ps, 'bonferroni');
  const m = ps.length;
  return Array.from(ps, (p) => Math.min(1, p * m));
}

/**
 * Holm's step-down adjusted p-values: sorted ascending, p_(i) (m - i + 1) made monotone
 * (running maximum) and capped at 1; returned in the input order. NaN p-values stay NaN and
 * count in m (as R's p.adjust).
 */
export function holm(ps: ArrayLike<number>): number[] {
  checkPs(ps, 'holm');
  const m = ps.length;
  const out = Array.from(ps, () => NaN);
  const idx: number[] = [];
  for (let i = 0; i < m; i++) if (!Number.isNaN(ps[i]!)) idx.push(i);
  idx.sort((i, j) => ps[i]! - ps[j]! || i - j);
  let running = 0;
  idx.forEach((i, k) => {
    running = Math.max(running, Math.min(1, (m - k) * ps[i]!));
    out[i] = running;
  });
  return out;
}

/** Effect size r = z / sqrt(N), N the number of pairs (paper: Z = -26.149391, N = 2744 -> r = -0.4992). */
export function effectSizeR(z: number, n: number): number {
  if (!(n > 0)) throw new InputError(`effect size r: N must be positive (got ${n})`);
  return z / Math.sqrt(n);
}

/** The paper's significance stars: '***' p < 0.001, '**' p < 0.01, '*' p < 0.05, '' otherwise (and for NaN). */
export function stars(p: number): string {
  if (p < 0.001) return '***';
  if (p < 0.01) return '**';
  if (p < 0.05) return '*';
  return '';
}
