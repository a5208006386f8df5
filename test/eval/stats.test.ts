import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  bonferroni, effectSizeR, holm, shapiro, signedRankPmf, stars, twoSidedNormalP, wilcoxon,
  type WilcoxonMethod, type ZeroMethod,
} from '../../src/eval/stats.js';
import { fixtureDir } from '../helpers/fixtures.js';

/** Made by test/fixtures/stats/make_fixtures.py with scipy 1.17.1. */
interface WCase {
  zeroMethod: ZeroMethod; correction: boolean; method: WilcoxonMethod; methodUsed: string;
  statistic: number | null; rPlus: number | null; rMinus: number | null; z: number | null; pvalue: number | null;
  nUsed: number; nZero: number;
  raw_float32?: { statistic: number; z: number; pvalue: number };
}
interface Dataset { description: string; n: number; nZero: number; x: number[]; y: number[]; wilcoxon: WCase[] }
interface Fixture {
  scipy_version: string;
  datasets: Record<string, Dataset>;
  float32: Dataset;
  normal_tail: { z: number; p: number | null }[];
  shapiro: { name: string; n: number; x: number[]; w: number; pvalue: number }[];
}
const fx = JSON.parse(readFileSync(`${fixtureDir}stats/scipy_stats.json`, 'utf8')) as Fixture;

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}
/** z and W: 1e-9 relative. */
function expectRel(a: number | null, b: number, tol: number, what: string): void {
  expect(a, what).not.toBeNull();
  if (b === 0) expect(Math.abs(a!), what).toBeLessThan(tol);
  else expect(relErr(a!, b), `${what}: ${a} vs scipy ${b}`).toBeLessThan(tol);
}
/** p: 1e-7 relative; below 1e-300 on log10; scipy's 0 (underflow) accepts any p < 1e-300. */
function expectP(p: number, ref: number | null, what: string): void {
  if (ref === null) {
    expect(p, what).toBeNaN();
  } else if (ref === 0) {
    expect(p, what).toBeLessThan(1e-300);
  } else if (ref < 1e-300) {
    expect(p, what).toBeGreaterThan(0);
    expect(relErr(Math.log10(p), Math.log10(ref)), `${what}: ${p} vs scipy ${ref}`).toBeLessThan(1e-7);
  } else {
    expect(relErr(p, ref), `${what}: ${p} vs scipy ${ref}`).toBeLessThan(1e-7);
  }
}

function checkCase(ds: Dataset, c: WCase, label: string, float32 = false): void {
  const r = wilcoxon(ds.x, ds.y, { zeroMethod: c.zeroMethod, correction: c.correction, method: c.method, float32 });
  const what = `${label} ${c.zeroMethod} correction=${c.correction} method=${c.method}`;
  expect(r.statistic, what).toBe(c.statistic);
  expect(r.rPlus, what).toBe(c.rPlus);
  expect(r.rMinus, what).toBe(c.rMinus);
  expect(r.n, what).toBe(ds.n);
  expect(r.nUsed, what).toBe(c.nUsed);
  expect(r.nZero, what).toBe(c.nZero);
  expect(r.method, what).toBe(c.methodUsed);
  if (c.z !== null) expectRel(r.z, c.z, 1e-9, `${what} z`);
  if (r.method !== 'approx') expect(r.z, what).toBeNull();
  expectP(r.pvalue, c.pvalue, `${what} p`);
}

describe('wilcoxon vs scipy fixtures', () => {
  it(`were made with scipy 1.17.1`, () => {
    expect(fx.scipy_version).toBe('1.17.1');
  });
  for (const [name, ds] of Object.entries(fx.datasets)) {
    it(`${name}: ${ds.description}`, () => {
      expect(ds.x).toHaveLength(ds.n);
      for (const c of ds.wilcoxon) checkCase(ds, c, name);
    });
  }
  it('covers ties, zeros, every method, and the paper scale', () => {
    const all = Object.values(fx.datasets).flatMap((d) => d.wilcoxon);
    expect(new Set(all.map((c) => c.methodUsed))).toEqual(new Set(['approx', 'exact', 'permutation']));
    expect(Object.values(fx.datasets).some((d) => d.nZero > 100)).toBe(true);
    const ns = new Set(Object.values(fx.datasets).map((d) => d.n));
    for (const n of [10, 30, 68, 214, 2744]) expect(ns.has(n)).toBe(true);
    const paper = fx.datasets.paper2744!.wilcoxon.find((c) => c.method === 'approx' && c.zeroMethod === 'wilcox' && !c.correction)!;
    expect(paper.z).toBeLessThan(-26);
    expect(paper.pvalue).toBeGreaterThan(0);
    const r = wilcoxon(fx.datasets.paper2744!.x, fx.datasets.paper2744!.y, { method: 'approx' });
    expect(r.pvalue).toBeGreaterThan(0);
    expect(r.pvalue).toBeLessThan(1e-100);
  });
  it('float32 inputs: d = fround(x - y) matches scipy on the float32 differences', () => {
    const ds = fx.float32;
    for (const c of ds.wilcoxon) {
      checkCase(ds, c, 'float32', true);
      // scipy on the raw float32 arrays computes z in float32: same statistic, z to ~1e-6
      if (c.raw_float32) {
        const r = wilcoxon(ds.x, ds.y, { zeroMethod: c.zeroMethod, correction: c.correction, method: 'approx', float32: true });
        expect(r.statistic).toBe(c.raw_float32.statistic);
        expectRel(r.z, c.raw_float32.z, 1e-5, 'raw float32 z');
      }
    }
    // without float32 the double differences of float32 values differ from numpy's float32 ones
    const d64 = wilcoxon(ds.x, ds.y, { method: 'approx' });
    const d32 = wilcoxon(ds.x, ds.y, { method: 'approx', float32: true });
    expect(d32.nZero).toBe(ds.nZero);
    expect(d64.nZero).toBe(ds.nZero);
  });
  it('normal tail p via erfc: finite far in the tail', () => {
    for (const { z, p } of fx.normal_tail) {
      expectP(twoSidedNormalP(z), p, `z = ${z}`);
      expectP(twoSidedNormalP(-z), p, `z = ${-z}`);
    }
    // paper: Z = -33.365141 -> p = 4.394045e-244 (STATS.md)
    expect(relErr(twoSidedNormalP(-33.365141), 4.394045e-244)).toBeLessThan(1e-5);
  });
});

describe('wilcoxon, small cases worked by hand', () => {
  // x = [5, 7, 3, 10, 6], y = [3, 6, 6, 4, 6]  ->  d = [2, 1, -3, 6, 0]
  // wilcox: drop the zero; |d| = 2 1 3 6 -> ranks 2 1 3 4; R+ = 2 + 1 + 4 = 7, R- = 3, T = min = 3, n = 4.
  //   approx: mean n(n+1)/4 = 5, var n(n+1)(2n+1)/24 = 7.5, z = (7 - 5)/sqrt(7.5) = 0.730297 -> -0.730297,
  //   p = 2 sf(0.730297) = 0.465209; with correction z = 0.730297 - 0.5/sqrt(7.5) = 0.547723, p = 0.583882.
  //   exact (n = 4, 16 equally likely sign patterns): P(R+ >= 7) = 5/16 -> p = 2 * 5/16 = 0.625.
  //   auto: a zero and n <= 13 -> all 2^5 sign flips (the zero flips onto itself): again 0.625.
  // pratt: rank with the zero: |d| = 2 1 3 6 0 -> ranks 3 2 4 5 1; R+ = 3 + 2 + 5 = 10, R- = 4.
  //   mean 5*6/4 - 1*2/4 = 7, var (5*6*11 - 1*2*3)/24 = 13.5, z = 3/sqrt(13.5) = 0.816497, p = 0.414216.
  //   auto (permutation): subsets of ranks {2,3,4,5} with sum >= 10: {2,3,5} {2,4,5} {3,4,5} {2,3,4,5}
  //   -> 4/16, p = 0.5. exact uses n = 5 (zeros kept): P(R+ >= 10 | n = 5) = 10/32 -> p = 0.625.
  // zsplit: the zero's rank 1 is split: R+ = 10.5, R- = 4.5; mean 7.5, var 330/24 = 13.75,
  //   z = 3/sqrt(13.75) = 0.809040, p = 0.418492. (All as scipy 1.17.1 prints.)
  const x = [5, 7, 3, 10, 6];
  const y = [3, 6, 6, 4, 6];
  it('a 5-pair example', () => {
    const w = wilcoxon(x, y, { method: 'approx' });
    expect([w.rPlus, w.rMinus, w.statistic, w.nUsed, w.nZero, w.n]).toEqual([7, 3, 3, 4, 1, 5]);
    expect(w.z).toBeCloseTo(-2 / Math.sqrt(7.5), 14);
    expect(w.pvalue).toBeCloseTo(0.4652088184521418, 14);
    expect(wilcoxon(x, y, { method: 'approx', correction: true }).pvalue).toBeCloseTo(0.5838824207703652, 14);
    expect(wilcoxon(x, y, { method: 'exact' }).pvalue).toBe(0.625);
    const auto = wilcoxon(x, y);
    expect([auto.method, auto.pvalue, auto.z]).toEqual(['permutation', 0.625, null]);

    const p = wilcoxon(x, y, { zeroMethod: 'pratt', method: 'approx' });
    expect([p.rPlus, p.rMinus, p.statistic, p.nUsed]).toEqual([10, 4, 4, 5]);
    expect(p.z).toBeCloseTo(-3 / Math.sqrt(13.5), 14);
    expect(p.pvalue).toBeCloseTo(0.4142161782425252, 14);
    expect(wilcoxon(x, y, { zeroMethod: 'pratt' }).pvalue).toBe(0.5);
    expect(wilcoxon(x, y, { zeroMethod: 'pratt', method: 'exact' }).pvalue).toBe(0.625);

    const z = wilcoxon(x, y, { zeroMethod: 'zsplit', method: 'approx' });
    expect([z.rPlus, z.rMinus, z.statistic]).toEqual([10.5, 4.5, 4.5]);
    expect(z.z).toBeCloseTo(-3 / Math.sqrt(13.75), 14);
    expect(z.pvalue).toBeCloseTo(0.41849223344681985, 14);
    // swapping x and y swaps R+ and R- and keeps the two-sided p
    const s = wilcoxon(y, x, { method: 'approx' });
    expect([s.rPlus, s.rMinus, s.pvalue]).toEqual([3, 7, w.pvalue]);
  });

  it('n = 0: NaN statistic and p, as scipy', () => {
    for (const method of ['auto', 'exact', 'approx'] as const) {
      const r = wilcoxon([], [], { method });
      expect(r.statistic).toBeNaN();
      expect(r.pvalue).toBeNaN();
      expect(r.n).toBe(0);
    }
  });

  it('n = 1', () => {
    // d = [1]: R+ = 1, R- = 0. exact: P(R+ = 0) = P(R+ = 1) = 1/2 -> p = 1.
    // approx: z = (1 - 0.5)/sqrt(1*2*3/24) = 1 -> p = 2 sf(1) = 0.3173105; with correction z = 0, p = 1.
    expect(wilcoxon([1], [0])).toMatchObject({ statistic: 0, rPlus: 1, pvalue: 1, method: 'exact', z: null });
    const a = wilcoxon([1], [0], { method: 'approx' });
    expect(a.z).toBe(-1);
    expect(a.pvalue).toBeCloseTo(0.31731050786291415, 15);
    expect(wilcoxon([1], [0], { method: 'approx', correction: true }).pvalue).toBe(1);
    // a single zero difference: scipy's auto runs a permutation test and raises
    expect(() => wilcoxon([1], [1])).toThrow(InputError);
    expect(wilcoxon([1], [1], { method: 'exact' })).toMatchObject({ statistic: 0, pvalue: 1, nUsed: 0, nZero: 1 });
    const az = wilcoxon([1], [1], { method: 'approx' });
    expect(az.z).toBeNaN();
    expect(az.pvalue).toBeNaN();
    expect(wilcoxon([1], [1], { method: 'approx', zeroMethod: 'zsplit' })).toMatchObject({ statistic: 0.5, pvalue: 1 });
  });

  it('n = 2', () => {
    // d = [1, 2]: ranks 1, 2, R+ = 3, R- = 0; exact n = 2: P(R+ = 0) = 1/4 -> p = 0.5.
    // approx: mean 1.5, var 2*3*5/24 = 1.25, z = 1.5/sqrt(1.25) = 1.341641 -> p = 0.1797125.
    expect(wilcoxon([1, 2], [0, 0])).toMatchObject({ statistic: 0, rPlus: 3, rMinus: 0, pvalue: 0.5, method: 'exact' });
    const a = wilcoxon([1, 2], [0, 0], { method: 'approx' });
    expect(a.z).toBeCloseTo(-1.5 / Math.sqrt(1.25), 15);
    expect(a.pvalue).toBeCloseTo(0.17971249487899976, 15);
    // d = [1, -1]: tied ranks 1.5, 1.5: R+ = R- = 1.5; z = 0 -> p = 1 (auto: ties -> permutation, p = 1)
    expect(wilcoxon([1, -1], [0, 0])).toMatchObject({ statistic: 1.5, pvalue: 1, method: 'permutation' });
    expect(wilcoxon([1, -1], [0, 0], { method: 'approx' })).toMatchObject({ statistic: 1.5, pvalue: 1 });
  });

  it('all differences zero', () => {
    const x = [1, 1, 1, 1, 1];
    // wilcox/pratt: no ranks left, variance 0 -> z and p NaN for approx (scipy), p = 1 for auto/exact
    for (const zeroMethod of ['wilcox', 'pratt'] as const) {
      const a = wilcoxon(x, x, { zeroMethod, method: 'approx' });
      expect(a.statistic).toBe(0);
      expect(a.z).toBeNaN();
      expect(a.pvalue).toBeNaN();
      expect(wilcoxon(x, x, { zeroMethod })).toMatchObject({ statistic: 0, pvalue: 1, method: 'permutation', nZero: 5 });
    }
    // pratt + exact keeps the zeros in n (= 5) with R+ = 0: p = 2 P(R+ = 0 | n = 5) = 2/32, as scipy
    expect(wilcoxon(x, x, { zeroMethod: 'pratt', method: 'exact' }).pvalue).toBe(0.0625);
    // zsplit: the five tied zero ranks (3 each) split evenly: R+ = R- = 7.5, z = 0, p = 1
    expect(wilcoxon(x, x, { zeroMethod: 'zsplit', method: 'approx' })).toMatchObject({ statistic: 7.5, rPlus: 7.5, pvalue: 1 });
  });

  it('all differences tied', () => {
    // d = [1, 1, 1, 1, 1]: ranks all 3, R+ = 15, R- = 0.
    // approx: mean 7.5, var (5*6*11 - (5^3 - 5)/2)/24 = (330 - 60)/24 = 11.25, z = 7.5/sqrt(11.25) = 2.236068,
    //   p = 0.0253473; with correction z = (7.5 - 0.5)/sqrt(11.25) = 2.086997, p = 0.0368884.
    // auto (ties, n <= 13 -> permutation): R+ = 3k, k ~ Bin(5, 1/2); P(R+ >= 15) = 1/32 -> p = 1/16.
    const x = [2, 2, 2, 2, 2];
    const y = [1, 1, 1, 1, 1];
    const a = wilcoxon(x, y, { method: 'approx' });
    expect([a.rPlus, a.rMinus, a.statistic]).toEqual([15, 0, 0]);
    expect(a.z).toBeCloseTo(-Math.sqrt(5), 14);
    expect(a.pvalue).toBeCloseTo(0.025347318677468252, 15);
    expect(wilcoxon(x, y, { method: 'approx', correction: true }).pvalue).toBeCloseTo(0.03688842570704982, 15);
    expect(wilcoxon(x, y)).toMatchObject({ pvalue: 0.0625, method: 'permutation' });
    expect(wilcoxon(x, y, { method: 'exact' }).pvalue).toBe(0.0625);
  });

  it('rejects bad input', () => {
    expect(() => wilcoxon([1, 2], [1])).toThrow(/same length/);
    expect(() => wilcoxon([1, NaN], [1, 2])).toThrow(/pair 2 is not finite/);
    expect(() => wilcoxon([1], [2], { method: 'nope' as WilcoxonMethod })).toThrow(InputError);
    expect(() => wilcoxon([1], [2], { zeroMethod: 'nope' as ZeroMethod })).toThrow(InputError);
  });

  it('the exact null distribution', () => {
    // n = 3: R+ in 0..6 with counts 1 1 1 2 1 1 1 over 8 sign patterns
    expect(Array.from(signedRankPmf(3))).toEqual([1, 1, 1, 2, 1, 1, 1].map((c) => c / 8));
    const p = signedRankPmf(20);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
    expect(Array.from(signedRankPmf(20, 30))).toEqual(Array.from(p.subarray(0, 31)));
  });
});

describe('shapiro vs scipy fixtures', () => {
  for (const s of fx.shapiro) {
    it(`${s.name} (n = ${s.n})`, () => {
      const r = shapiro(s.x);
      expectRel(r.w, s.w, 1e-9, 'W');
      expectP(r.pvalue, s.pvalue, 'p');
    });
  }
  it('input order does not matter beyond rounding', () => {
    const s = fx.shapiro.find((c) => c.name === 'normal30')!;
    const r = shapiro([...s.x].reverse());
    expectRel(r.w, s.w, 1e-12, 'W');
  });
  it('n = 3 is exact: W = 1 for an arithmetic progression, p = 1', () => {
    // W for (-1, 0, 1) is 1, p = 1 - (6/pi) acos(1) = 1
    expect(shapiro([-1, 0, 1])).toMatchObject({ w: 1, pvalue: 1 });
  });
  it('zero range: W = 1, p = 1 with a warning (scipy warns)', () => {
    const r = shapiro([2, 2, 2, 2]);
    expect([r.w, r.pvalue]).toEqual([1, 1]);
    expect(r.warning).toMatch(/zero range/);
  });
  it('n outside 3..5000 and non-finite values: InputError', () => {
    expect(() => shapiro([1, 2])).toThrow(InputError);
    expect(() => shapiro(new Array(5001).fill(0).map((_, i) => Math.sin(i)))).toThrow(/at most 5000/);
    expect(() => shapiro([1, 2, Infinity])).toThrow(/value 3 is not finite/);
  });
});

describe('p-value adjustment, effect size, stars', () => {
  // ps = [0.01, 0.04, 0.03, 0.005, 0.5], m = 5 (statsmodels is not installed; by hand, as R's p.adjust):
  // bonferroni: 5p capped at 1 -> [0.05, 0.2, 0.15, 0.025, 1]
  // holm: sorted 0.005 0.01 0.03 0.04 0.5 times 5 4 3 2 1 -> 0.025 0.04 0.09 0.08 0.5,
  //       running max -> 0.025 0.04 0.09 0.09 0.5; back in input order -> [0.04, 0.09, 0.09, 0.025, 0.5]
  const ps = [0.01, 0.04, 0.03, 0.005, 0.5];
  it('bonferroni', () => {
    const b = bonferroni(ps);
    [0.05, 0.2, 0.15, 0.025, 1].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 15));
    expect(bonferroni([])).toEqual([]);
    expect(bonferroni([0.3, NaN])).toEqual([0.6, NaN]);
    expect(() => bonferroni([1.5])).toThrow(InputError);
  });
  it('holm', () => {
    const h = holm(ps);
    [0.04, 0.09, 0.09, 0.025, 0.5].forEach((v, i) => expect(h[i]).toBeCloseTo(v, 15));
    // capped at 1 and monotone in the sorted order
    expect(holm([0.4, 0.25, 0.6])).toEqual([0.8, 0.75, 0.8]);
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
    // NaN stays NaN and counts in m (R's default)
    const n = holm([0.01, NaN, 0.02]);
    expect(n[0]).toBeCloseTo(0.03, 15);
    expect(n[1]).toBeNaN();
    expect(n[2]).toBeCloseTo(0.04, 15);
    expect(() => holm([-0.1])).toThrow(InputError);
  });
  it('effect size r = z / sqrt(N): the paper\'s example', () => {
    expect(effectSizeR(-26.149391, 2744)).toBeCloseTo(-0.4992, 4);
    expect(effectSizeR(-26.149391, 2744)).toBeCloseTo(-0.499194, 6); // Table 3 prints -0.499194
    expect(() => effectSizeR(1, 0)).toThrow(InputError);
  });
  it('stars', () => {
    expect([0.0001, 0.000999, 0.001, 0.005, 0.0099, 0.01, 0.04, 0.049999, 0.05, 0.5, 1, NaN].map(stars))
      .toEqual(['***', '***', '**', '**', '**', '*', '*', '*', '', '', '', '']);
  });
});
