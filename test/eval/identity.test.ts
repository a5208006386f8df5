/** Identity metrics (src/eval/identity.ts) on small hand-made vectors. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { cosineDistance } from '../../src/eval/embed.js';
import { bootstrapMeanCI, chanceTopK, computeIdentity, formatTable1, median, probeRanks, rankOfTrue, type KeyedEmbedding } from '../../src/eval/identity.js';
import { resampleCrop, cropOutputName, parseMethodArg } from '../../src/eval/identity-run.js';
import { effectSizeR, wilcoxon } from '../../src/eval/stats.js';
import { seededValues } from '../helpers/tensors.js';

const v = (...x: number[]) => Float32Array.from(x);
const PROXY = { name: 'proxy-faceres', proxy: true };

describe('cosineDistance', () => {
  it('matches 1 - a.b/(|a||b|) on hand-worked vectors', () => {
    expect(cosineDistance(v(1, 0), v(0, 1))).toBeCloseTo(1, 12);
    expect(cosineDistance(v(1, 0), v(-1, 0))).toBeCloseTo(2, 12);
    expect(cosineDistance(v(1, 1), v(2, 2))).toBeCloseTo(0, 7);
    expect(cosineDistance(v(3, 4), v(4, 3))).toBeCloseTo(1 - 24 / 25, 7);
  });
  it('rejects non-finite values, zero vectors and unequal lengths with InputError', () => {
    expect(() => cosineDistance(v(NaN, 1), v(1, 1))).toThrow(InputError);
    expect(() => cosineDistance(v(Infinity, 1), v(1, 1))).toThrow(InputError);
    expect(() => cosineDistance(v(0, 0), v(1, 1))).toThrow(InputError);
    expect(() => cosineDistance(v(1, 0, 0), v(1, 1))).toThrow(InputError);
  });
});

describe('re-identification ranks', () => {
  const originals: KeyedEmbedding[] = [
    { key: 'o1', embedding: v(1, 0, 0) }, { key: 'o2', embedding: v(0, 1, 0) }, { key: 'o3', embedding: v(0, 0, 1) },
  ];
  it('rank by hand: closest original first, impostor ties count against', () => {
    expect(rankOfTrue(v(0.9, 0.1, 0), originals, 'o1').rank).toBe(1);
    expect(rankOfTrue(v(0.8, 0.2, 0), originals, 'o2').rank).toBe(2); // o1 is closer
    expect(rankOfTrue(v(0, 0, -1), originals, 'o3').rank).toBe(3); // o1, o2 at distance 1 < 2
    expect(rankOfTrue(v(1, 1, 0), originals, 'o2').rank).toBe(2); // tie with o1
    expect(() => rankOfTrue(v(1, 1, 0), originals, 'nope')).toThrow(InputError);
  });
  it('rank-1 / rank-5 rates and chance levels', () => {
    const r = computeIdentity({
      embedder: PROXY, threshold: null, originals,
      methods: [{ name: 'A', faces: [{ key: 'o1', embedding: v(0.9, 0.1, 0) }, { key: 'o2', embedding: v(0.8, 0.2, 0) }, { key: 'o3', embedding: v(0, 0.1, 1) }] }],
    });
    const a = r.methods[0]!;
    expect(a.n).toBe(3);
    expect(a.rank1).toBeCloseTo(2 / 3, 12);
    expect(a.rank5).toBe(1);
    expect(r.chance.rank1).toBeCloseTo(1 / 3, 12);
    expect(r.chance.rank5).toBe(1);
    expect(a.shareAbove).toBeNull();
    const d = [cosineDistance(v(0.9, 0.1, 0), v(1, 0, 0)), cosineDistance(v(0.8, 0.2, 0), v(0, 1, 0)), cosineDistance(v(0, 0.1, 1), v(0, 0, 1))];
    expect(a.mean).toBeCloseTo((d[0]! + d[1]! + d[2]!) / 3, 12);
    expect(a.median).toBeCloseTo(median(d), 12);
    expect(r.comparisons).toEqual([]);
  });
});

describe('bootstrap CI', () => {
  const x = Array.from(seededValues(40, 7), (t) => 0.5 + 0.3 * t);
  it('is deterministic for a seed and brackets the mean', () => {
    const a = bootstrapMeanCI(x, 3, 2000);
    expect(bootstrapMeanCI(x, 3, 2000)).toEqual(a);
    expect(bootstrapMeanCI(x, 4, 2000)).not.toEqual(a);
    const m = x.reduce((s, t) => s + t, 0) / x.length;
    expect(a[0]).toBeLessThan(m);
    expect(a[1]).toBeGreaterThan(m);
    // about 1.96 standard errors either side
    const sd = Math.sqrt(x.reduce((s, t) => s + (t - m) ** 2, 0) / (x.length - 1));
    expect((a[1] - a[0]) / 2).toBeGreaterThan(1.5 * sd / Math.sqrt(x.length));
    expect((a[1] - a[0]) / 2).toBeLessThan(2.5 * sd / Math.sqrt(x.length));
  });
  it('constant data: a zero-width interval; empty: NaN', () => {
    const c = bootstrapMeanCI([0.2, 0.2, 0.2]);
    expect(c[0]).toBeCloseTo(0.2, 14);
    expect(c[1]).toBe(c[0]);
    expect(bootstrapMeanCI([]).every(Number.isNaN)).toBe(true);
  });
});

/** n unit-ish vectors and two "methods": small and large perturbations of them. */
function scenario(n: number) {
  const originals: KeyedEmbedding[] = [];
  const small: KeyedEmbedding[] = [];
  const large: KeyedEmbedding[] = [];
  for (let i = 0; i < n; i++) {
    const o = seededValues(16, 100 + i);
    const ns = seededValues(16, 500 + i);
    const nl = seededValues(16, 900 + i);
    originals.push({ key: `f${i}`, embedding: o });
    small.push({ key: `f${i}`, embedding: o.map((t, k) => t + 0.2 * ns[k]!) });
    large.push({ key: `f${i}`, embedding: o.map((t, k) => t + 1.5 * nl[k]!) });
  }
  return { originals, small, large };
}

describe('Wilcoxon between methods', () => {
  const { originals, small, large } = scenario(30);
  const r = computeIdentity({
    embedder: PROXY, threshold: 0.3, originals, reference: 'gan',
    methods: [{ name: 'gan', faces: large }, { name: 'blur', faces: small }, { name: 'partial', faces: small.slice(0, 20) }],
  });
  it('paired over matched faces, approx + wilcox zeros, Bonferroni over the comparisons, r = z / sqrt(N)', () => {
    expect(r.comparisons.map((c) => c.method)).toEqual(['blur', 'partial']);
    const dl = r.methods[0]!.pairs.map((p) => p.distance);
    const ds = r.methods[1]!.pairs.map((p) => p.distance);
    const w = wilcoxon(dl, ds, { zeroMethod: 'wilcox', method: 'approx' });
    const c = r.comparisons[0]!;
    expect(c.n).toBe(30);
    expect(c.z).toBeCloseTo(w.z!, 12);
    expect(c.pvalue).toBeCloseTo(w.pvalue, 15);
    expect(c.pBonferroni).toBeCloseTo(Math.min(1, 2 * w.pvalue), 15);
    expect(c.r).toBeCloseTo(effectSizeR(w.z!, 30), 12);
    expect(c.meanDiff).toBeGreaterThan(0); // large perturbation: farther from the original
    expect(c.pvalue).toBeLessThan(0.001);
    const p = r.comparisons[1]!;
    expect(p.n).toBe(20);
    expect(p.z).toBeCloseTo(wilcoxon(dl.slice(0, 20), ds.slice(0, 20), { method: 'approx' }).z!, 12);
  });
  it('share above the threshold', () => {
    const d = r.methods[1]!.pairs.map((p) => p.distance);
    expect(r.methods[1]!.shareAbove).toBeCloseTo(d.filter((t) => t > 0.3).length / d.length, 12);
  });
  it('Table 1 markdown names the embedder, says proxy, has both tables and stars', () => {
    const t = formatTable1(r);
    expect(t).toContain('proxy-faceres (proxy; not Facenet512)');
    expect(t).toContain('| Method | mean cosine distance (proxy) | median | 95% CI (bootstrap) | share > 0.3 | rank-1 | rank-5 | N |');
    const gan = t.split('\n').find((l) => l.startsWith('| gan |'))!;
    const m = r.methods[0]!;
    expect(gan).toBe(`| gan | ${m.mean.toFixed(4)} | ${m.median.toFixed(4)} | [${m.ci95[0].toFixed(4)}, ${m.ci95[1].toFixed(4)}] | ${(100 * m.shareAbove!).toFixed(1)}% | ${(100 * m.rank1).toFixed(1)}% | ${(100 * m.rank5).toFixed(1)}% | 30 |`);
    expect(t).toContain('chance level rank-1 3.3%, rank-5 16.7%');
    expect(t).toMatch(/\| gan \| blur \| 30 \| 0 \| [0-9.]+ \| [0-9.]+ \| -[0-9.]+ \| [0-9.e-]+ \| <0\.001\*\*\* \| -0\.[0-9]+ \|/);
    expect(t).toContain('Bonferroni over 2');
    const noThr = formatTable1(computeIdentity({ embedder: { name: 'facenet512', proxy: false }, threshold: null, originals, methods: [{ name: 'gan', faces: large }] }));
    expect(noThr).toContain('| n/a |');
    expect(noThr).not.toContain('proxy');
  });
  it('rejects duplicate keys and method names and an unknown reference', () => {
    expect(() => computeIdentity({ embedder: PROXY, threshold: null, originals: [...originals, originals[0]!], methods: [] })).toThrow(InputError);
    expect(() => computeIdentity({ embedder: PROXY, threshold: null, originals, methods: [{ name: 'a', faces: [] }, { name: 'a', faces: [] }] })).toThrow(InputError);
    expect(() => computeIdentity({ embedder: PROXY, threshold: null, originals, reference: 'x', methods: [{ name: 'a', faces: [] }] })).toThrow(InputError);
  });
});

describe('harness helpers', () => {
  it('resampleCrop: identity transform copies, a half-pixel shift averages neighbours, outside is black', () => {
    const img = { width: 3, height: 2, data: Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 10, 10, 10, 20, 20, 20, 30, 30, 30]) };
    expect(resampleCrop(img, { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 }, 2).data).toEqual(Uint8Array.from([0, 0, 0, 100, 100, 100, 10, 10, 10, 20, 20, 20]));
    const half = resampleCrop(img, { a: 1, b: 0, c: 0, d: 1, tx: 0.5, ty: 0 }, 2).data;
    expect(Array.from(half.subarray(0, 6))).toEqual([50, 50, 50, 150, 150, 150]);
    const out = resampleCrop(img, { a: 1, b: 0, c: 0, d: 1, tx: 10, ty: 10 }, 2).data;
    expect(out.every((t) => t === 0)).toBe(true);
  });
  it('crop naming and NAME=DIR parsing', () => {
    // the reference's {faceIndex}_{basename}; formats sharp cannot write get .png appended
    expect(cropOutputName('a.jpg', 0)).toBe('0_a.jpg');
    expect(cropOutputName('sub/b.png', 2)).toBe('sub/2_b.png');
    expect(cropOutputName('c.bmp', 0)).toBe('0_c.bmp.png');
    expect(parseMethodArg('ganon=out/x=y')).toEqual({ name: 'ganon', dir: 'out/x=y' });
    expect(() => parseMethodArg('nodir')).toThrow(InputError);
    expect(() => parseMethodArg('=dir')).toThrow(InputError);
  });
});

describe('re-identification by person (hand-worked, 2-d unit vectors by angle)', () => {
  const at = (deg: number) => v(Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180));
  // o1, o2: person A; o3: person B; o4: unknown person
  const gallery: KeyedEmbedding[] = [{ key: 'o1', embedding: at(0) }, { key: 'o2', embedding: at(90) }, { key: 'o3', embedding: at(30) }, { key: 'o4', embedding: at(60) }];
  const ids = new Map([['o1', 'A'], ['o2', 'A'], ['o3', 'B']]);

  it('chance of a same-person face in the first k: 1 - C(g-m, k) / C(g, k)', () => {
    expect(chanceTopK(10, 2, 5)).toBeCloseTo(1 - 56 / 252, 12);
    expect(chanceTopK(10, 1, 1)).toBeCloseTo(0.1, 12);
    expect(chanceTopK(4, 2, 1)).toBeCloseTo(0.5, 12);
    expect(chanceTopK(3, 1, 5)).toBe(1);
    expect(chanceTopK(3, 0, 1)).toBe(0);
  });

  it('image, person and other-images ranks of single probes', () => {
    // probe of o2 at 20 deg: distances o1 1-cos20, o2 1-cos70, o3 1-cos10, o4 1-cos40
    expect(probeRanks(at(20), gallery, 'o2', ids)).toMatchObject({ rank: 4, personRank: 2, otherRank: 2 });
    expect(probeRanks(at(20), gallery, 'o2', ids).distance).toBeCloseTo(1 - Math.cos((70 * Math.PI) / 180), 6);
    // probe of o1 at 0 deg: itself nearest; without it the nearest A face (o2, d = 1) is behind o3 and o4
    expect(probeRanks(at(0), gallery, 'o1', ids)).toMatchObject({ rank: 1, personRank: 1, otherRank: 3 });
    // B has no other face: otherRank 0 (not counted); an unknown person: both 0
    expect(probeRanks(at(40), gallery, 'o3', ids)).toMatchObject({ rank: 1, personRank: 1, otherRank: 0 });
    expect(probeRanks(at(60), gallery, 'o4', ids)).toMatchObject({ rank: 1, personRank: 0, otherRank: 0 });
    expect(probeRanks(at(60), gallery, 'o4')).toMatchObject({ rank: 1, personRank: 0, otherRank: 0 });
  });

  it('per-method rates, chance levels and the table', () => {
    const r = computeIdentity({
      embedder: PROXY, threshold: null, originals: gallery, identities: ids,
      methods: [{ name: 'M', faces: [{ key: 'o1', embedding: at(0) }, { key: 'o2', embedding: at(20) }, { key: 'o3', embedding: at(40) }, { key: 'o4', embedding: at(60) }] }],
    });
    const m = r.methods[0]!;
    expect(m.rank1).toBeCloseTo(3 / 4, 12);
    expect(m.person!.n).toBe(3);
    expect(m.person!.rank1).toBeCloseTo(2 / 3, 12);
    expect(m.person!.rank5).toBe(1);
    expect(m.person!.chance.rank1).toBeCloseTo((0.5 + 0.5 + 0.25) / 3, 12);
    expect(m.person!.chance.rank5).toBe(1);
    expect(m.otherImages).toMatchObject({ n: 2, rank1: 0, rank5: 1 });
    expect(m.otherImages!.chance.rank1).toBeCloseTo(1 / 3, 12);
    expect(r.persons).toEqual({ faces: 3, persons: 2 });
    const t = formatTable1(r);
    expect(t).toContain('### Re-identification by person (3 of 4 original faces have a known person; 2 persons)');
    expect(t).toContain('| M | 75.0% | 4 | 66.7% (chance 41.7%) | 100.0% (chance 100.0%) | 3 | 0.0% (chance 33.3%) | 100.0% (chance 100.0%) | 2 |');
    const without = computeIdentity({ embedder: PROXY, threshold: null, originals: gallery, methods: [{ name: 'M', faces: [{ key: 'o1', embedding: at(0) }] }] });
    expect(without.methods[0]!.person).toBeNull();
    expect(without.persons).toBeNull();
    expect(formatTable1(without)).not.toContain('by person');
  });
});
