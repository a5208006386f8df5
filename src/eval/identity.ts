/**
 * Identity metrics of the paper's Table 1 (section 4.1), pure functions on
 * embeddings: per (original, anonymized) pair the cosine distance
 * 1 - a.b / (|a||b|); per method the mean, median, a seeded percentile
 * bootstrap 95% CI of the mean, the share of pairs above a threshold (null
 * without one), and re-identification: each anonymized embedding ranked
 * against ALL original embeddings by cosine distance, rank-1 and rank-5 rates
 * with the chance levels 1/n and min(1, 5/n) (n = originals in the gallery).
 * Between the reference method and every other method: paired Wilcoxon
 * signed-rank (zero method 'wilcox', normal approximation) over the faces both
 * methods scored, Bonferroni across the comparisons, r = z / sqrt(N).
 *
 * Ranks: rank = 1 + the number of OTHER originals at a distance <= the true
 * original's, so a tie with an impostor never counts as a hit (conservative
 * for the re-identifier).
 *
 * Where identities are known (`identities`: face key -> person), two more
 * re-identification levels per probe whose source face has a person:
 *  - person: a hit when the nearest original is ANY face of the same person,
 *    the source included: rank = 1 + the number of originals of other persons
 *    (or of unknown person) at a distance <= the nearest same-person original's;
 *  - other images: the source face removed from the gallery, a hit when the
 *    nearest remaining original is another face of the same person (probes
 *    whose person has no other original are not counted).
 * Chance levels: the mean over the counted probes of the probability that a
 * random order puts a same-person original in the first k, 1 - C(g-m, k)/C(g, k)
 * (g gallery size, m same-person originals in it).
 *
 * Every result carries the embedder's name and proxy flag; a proxy embedder's
 * numbers are labelled "proxy" wherever they are printed.
 */
import { InputError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { cosineDistance } from './embed.js';
import { bonferroni, effectSizeR, stars, wilcoxon } from './stats.js';

export interface EmbedderInfo { name: string; proxy: boolean }

/** One embedded face, keyed by a face id shared between originals and methods (e.g. `rel/path.png#0`). */
export interface KeyedEmbedding { key: string; embedding: Float32Array }

export interface IdentityInput {
  embedder: EmbedderInfo;
  /** Share-above threshold on the cosine distance; null: not reported. */
  threshold: number | null;
  originals: KeyedEmbedding[];
  methods: { name: string; faces: KeyedEmbedding[] }[];
  /** Method the others are tested against; default the first method. */
  reference?: string;
  /** Bootstrap seed (default 0) and resamples (default 2000). */
  seed?: number;
  resamples?: number;
  /** Person of each original face key (faces without one are distinct unknown persons). */
  identities?: ReadonlyMap<string, string>;
}

export interface PairDistance {
  key: string;
  distance: number;
  rank: number;
  /** Rank of the nearest same-person original (source included); 0 when the source has no person. */
  personRank: number;
  /** Same, the source face left out of the gallery; 0 when not counted (no person, or no other face of the person). */
  otherRank: number;
}

/** Re-identification by person: counted probes, hit rates and chance levels. */
export interface PersonReid { n: number; rank1: number; rank5: number; chance: { rank1: number; rank5: number } }

export interface MethodSummary {
  name: string;
  n: number;
  mean: number;
  median: number;
  ci95: [number, number];
  /** Share of pairs with distance > threshold; null without a threshold. */
  shareAbove: number | null;
  rank1: number;
  rank5: number;
  /** With identities: any face of the same person counts (source included); null without identities. */
  person: PersonReid | null;
  /** With identities: the source face left out; only probes whose person has another original. */
  otherImages: PersonReid | null;
  pairs: PairDistance[];
}

export interface Comparison {
  reference: string;
  method: string;
  /** Faces scored by both methods. */
  n: number;
  nZero: number;
  meanDiff: number;
  statistic: number;
  z: number | null;
  pvalue: number;
  pBonferroni: number;
  r: number;
}

export interface IdentityResult {
  embedder: EmbedderInfo;
  threshold: number | null;
  /** Originals in the re-identification gallery. */
  gallery: number;
  /** Gallery faces with a known person, and the number of persons; null without identities. */
  persons: { faces: number; persons: number } | null;
  chance: { rank1: number; rank5: number };
  reference: string | null;
  methods: MethodSummary[];
  comparisons: Comparison[];
  seed: number;
  resamples: number;
}

export function mean(x: readonly number[]): number {
  if (x.length === 0) return NaN;
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

export function median(x: readonly number[]): number {
  if (x.length === 0) return NaN;
  const s = [...x].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Linear-interpolated quantile of sorted values (numpy's default). */
function quantileSorted(s: readonly number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Percentile bootstrap CI of the mean: `resamples` resamples with replacement from a seeded generator. */
export function bootstrapMeanCI(x: readonly number[], seed = 0, resamples = 2000, level = 0.95): [number, number] {
  if (x.length === 0) return [NaN, NaN];
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new InputError(`bootstrap: resamples must be a positive integer (got ${resamples})`);
  const rng = new Rng(seed);
  const n = x.length;
  const means = new Array<number>(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[Math.min(n - 1, Math.floor(rng.uniform() * n))]!;
    means[b] = s / n;
  }
  means.sort((a, c) => a - c);
  const alpha = (1 - level) / 2;
  return [quantileSorted(means, alpha), quantileSorted(means, 1 - alpha)];
}

/** 1-based rank of the true original among all originals (ties with impostors count against). */
export function rankOfTrue(query: Float32Array, gallery: readonly KeyedEmbedding[], trueKey: string): { distance: number; rank: number } {
  const own = gallery.find((g) => g.key === trueKey);
  if (!own) throw new InputError(`re-identification: original '${trueKey}' is not in the gallery`);
  const d = cosineDistance(query, own.embedding);
  let rank = 1;
  for (const g of gallery) if (g.key !== trueKey && cosineDistance(query, g.embedding) <= d) rank++;
  return { distance: d, rank };
}

/** Chance that k of g gallery items drawn in random order include one of m targets: 1 - C(g-m, k)/C(g, k). */
export function chanceTopK(g: number, m: number, k: number): number {
  if (m <= 0 || g <= 0) return 0;
  let miss = 1;
  for (let i = 0; i < Math.min(k, g); i++) miss *= Math.max(0, g - m - i) / (g - i);
  return 1 - miss;
}

/** The three ranks of one probe against the gallery (distances computed once). */
export function probeRanks(query: Float32Array, gallery: readonly KeyedEmbedding[], trueKey: string, identities?: ReadonlyMap<string, string>): Omit<PairDistance, 'key'> {
  const d = gallery.map((g) => cosineDistance(query, g.embedding));
  const t = gallery.findIndex((g) => g.key === trueKey);
  if (t < 0) throw new InputError(`re-identification: original '${trueKey}' is not in the gallery`);
  let rank = 1;
  for (let j = 0; j < d.length; j++) if (j !== t && d[j]! <= d[t]!) rank++;
  const person = identities?.get(trueKey);
  let personRank = 0;
  let otherRank = 0;
  if (person !== undefined) {
    const same = (j: number) => identities!.get(gallery[j]!.key) === person;
    let best = Infinity;
    let bestOther = Infinity;
    for (let j = 0; j < d.length; j++) {
      if (!same(j)) continue;
      best = Math.min(best, d[j]!);
      if (j !== t) bestOther = Math.min(bestOther, d[j]!);
    }
    personRank = 1;
    for (let j = 0; j < d.length; j++) if (!same(j) && d[j]! <= best) personRank++;
    if (bestOther < Infinity) {
      otherRank = 1;
      for (let j = 0; j < d.length; j++) if (j !== t && !same(j) && d[j]! <= bestOther) otherRank++;
    }
  }
  return { distance: d[t]!, rank, personRank, otherRank };
}

function personReid(pairs: readonly PairDistance[], field: 'personRank' | 'otherRank', chance: (key: string) => [number, number]): PersonReid {
  const counted = pairs.filter((p) => p[field] > 0);
  const n = counted.length;
  const c = counted.map((p) => chance(p.key));
  return {
    n,
    rank1: n === 0 ? NaN : counted.filter((p) => p[field] <= 1).length / n,
    rank5: n === 0 ? NaN : counted.filter((p) => p[field] <= 5).length / n,
    chance: { rank1: n === 0 ? NaN : mean(c.map((x) => x[0])), rank5: n === 0 ? NaN : mean(c.map((x) => x[1])) },
  };
}

export function computeIdentity(input: IdentityInput): IdentityResult {
  const seed = input.seed ?? 0;
  const resamples = input.resamples ?? 2000;
  const keys = new Set<string>();
  for (const o of input.originals) {
    if (keys.has(o.key)) throw new InputError(`original face '${o.key}' is listed twice`);
    keys.add(o.key);
  }
  const names = input.methods.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new InputError(`method names must be unique (got ${names.join(', ')})`);
  const g = input.originals.length;
  const ids = input.identities && input.identities.size > 0 ? input.identities : undefined;
  // gallery faces per person
  const perPerson = new Map<string, number>();
  if (ids) for (const o of input.originals) { const p = ids.get(o.key); if (p !== undefined) perPerson.set(p, (perPerson.get(p) ?? 0) + 1); }
  const chanceWith = (key: string): [number, number] => { const m = perPerson.get(ids!.get(key)!) ?? 0; return [chanceTopK(g, m, 1), chanceTopK(g, m, 5)]; };
  const chanceOther = (key: string): [number, number] => { const m = (perPerson.get(ids!.get(key)!) ?? 0) - 1; return [chanceTopK(g - 1, m, 1), chanceTopK(g - 1, m, 5)]; };
  const methods: MethodSummary[] = input.methods.map((m) => {
    const pairs = m.faces.map((f) => ({ key: f.key, ...probeRanks(f.embedding, input.originals, f.key, ids) }));
    const d = pairs.map((p) => p.distance);
    const n = d.length;
    return {
      name: m.name, n, mean: mean(d), median: median(d), ci95: bootstrapMeanCI(d, seed, resamples),
      shareAbove: input.threshold === null || n === 0 ? (input.threshold === null ? null : NaN) : d.filter((v) => v > input.threshold!).length / n,
      rank1: n === 0 ? NaN : pairs.filter((p) => p.rank <= 1).length / n,
      rank5: n === 0 ? NaN : pairs.filter((p) => p.rank <= 5).length / n,
      person: ids ? personReid(pairs, 'personRank', chanceWith) : null,
      otherImages: ids ? personReid(pairs, 'otherRank', chanceOther) : null,
      pairs,
    };
  });
  const reference = input.reference ?? methods[0]?.name ?? null;
  if (reference !== null && !names.includes(reference)) throw new InputError(`reference method '${reference}' is not one of ${names.join(', ')}`);
  const comparisons = reference === null ? [] : compareToReference(methods, reference);
  const persons = ids ? { faces: [...perPerson.values()].reduce((a, b) => a + b, 0), persons: perPerson.size } : null;
  return { embedder: { name: input.embedder.name, proxy: input.embedder.proxy }, threshold: input.threshold, gallery: g, persons, chance: { rank1: g > 0 ? 1 / g : NaN, rank5: g > 0 ? Math.min(1, 5 / g) : NaN }, reference, methods, comparisons, seed, resamples };
}

/** Wilcoxon (wilcox zeros, approx) of reference vs each other method over common faces; Bonferroni across them. */
export function compareToReference(methods: readonly MethodSummary[], reference: string): Comparison[] {
  const ref = methods.find((m) => m.name === reference);
  if (!ref) throw new InputError(`reference method '${reference}' not found`);
  const refByKey = new Map(ref.pairs.map((p) => [p.key, p.distance]));
  const raw = methods.filter((m) => m.name !== reference).map((m) => {
    const x: number[] = [];
    const y: number[] = [];
    for (const p of m.pairs) {
      const r = refByKey.get(p.key);
      if (r !== undefined) { x.push(r); y.push(p.distance); }
    }
    const w = wilcoxon(x, y, { zeroMethod: 'wilcox', method: 'approx' });
    const z = w.z;
    return {
      reference, method: m.name, n: x.length, nZero: w.nZero, meanDiff: x.length ? mean(x) - mean(y) : NaN,
      statistic: w.statistic, z, pvalue: w.pvalue, pBonferroni: NaN,
      r: z === null || Number.isNaN(z) || x.length === 0 ? NaN : effectSizeR(z, x.length),
    };
  });
  const adj = bonferroni(raw.map((c) => c.pvalue));
  return raw.map((c, i) => ({ ...c, pBonferroni: adj[i]! }));
}

/** How the embedder is named in every output: 'proxy-faceres (proxy; not Facenet512)'. */
export function embedderLabel(e: EmbedderInfo): string {
  return e.proxy ? `${e.name} (proxy; not Facenet512)` : e.name;
}

const f4 = (v: number | null) => (v === null || Number.isNaN(v) ? '-' : v.toFixed(4));
const pct = (v: number | null) => (v === null || Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);
const fp = (p: number) => (Number.isNaN(p) ? '-' : p === 0 ? '0' : p < 1e-4 ? p.toExponential(3) : p.toFixed(4));

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Table 1 in markdown (Method | mean | median | 95% CI | share > t | rank-1 | rank-5 | N), then the statistics table. */
export function formatTable1(r: IdentityResult): string {
  const proxy = r.embedder.proxy ? ' (proxy)' : '';
  const out: string[] = [];
  out.push(`## Identity: cosine distance to the original face, embedder ${embedderLabel(r.embedder)}`);
  if (r.embedder.proxy) out.push('', `Proxy embedder: these numbers are NOT the paper's Facenet512 distances and are not comparable with DeepFace's 0.30 threshold.`);
  out.push('');
  const thr = r.threshold === null ? 'share > threshold' : `share > ${r.threshold}`;
  out.push(mdTable(
    ['Method', `mean cosine distance${proxy}`, 'median', '95% CI (bootstrap)', thr, 'rank-1', 'rank-5', 'N'],
    r.methods.map((m) => [m.name, f4(m.mean), f4(m.median), Number.isNaN(m.ci95[0]) ? '-' : `[${f4(m.ci95[0])}, ${f4(m.ci95[1])}]`, m.shareAbove === null ? 'n/a' : pct(m.shareAbove), pct(m.rank1), pct(m.rank5), String(m.n)]),
  ));
  out.push('', `Re-identification: each anonymized face ranked against all ${r.gallery} originals by ${r.embedder.name}${proxy} cosine distance; chance level rank-1 ${pct(r.chance.rank1)}, rank-5 ${pct(r.chance.rank5)}. Bootstrap: ${r.resamples} resamples, seed ${r.seed}.`);
  if (r.persons) {
    out.push('', `### Re-identification by person (${r.persons.faces} of ${r.gallery} original faces have a known person; ${r.persons.persons} persons)`, '');
    const cell = (p: PersonReid | null, k: 'rank1' | 'rank5') => (p === null ? '-' : `${pct(p[k])} (chance ${pct(p.chance[k])})`);
    out.push(mdTable(
      ['Method', 'image rank-1', 'N', 'person rank-1', 'person rank-5', 'N (person known)', 'other images rank-1', 'other images rank-5', 'N (person has other images)'],
      r.methods.map((m) => [m.name, pct(m.rank1), String(m.n), cell(m.person, 'rank1'), cell(m.person, 'rank5'), String(m.person?.n ?? 0), cell(m.otherImages, 'rank1'), cell(m.otherImages, 'rank5'), String(m.otherImages?.n ?? 0)]),
    ));
    out.push('', 'Image: the nearest original is the source face itself. Person: the nearest original is any face of the same person (the source included). Other images: the source face is left out of the gallery and the nearest original is another face of the same person. Ties with other persons count as misses.');
  }
  if (r.comparisons.length > 0) {
    out.push('', `### Paired Wilcoxon signed-rank vs ${r.reference} (zero method wilcox, normal approximation, Bonferroni over ${r.comparisons.length}; embedder ${r.embedder.name}${proxy})`, '');
    out.push(mdTable(
      ['Reference', 'Method', 'N', 'zeros', 'mean diff (ref - method)', 'T', 'z', 'p', 'p (Bonf.)', 'r'],
      r.comparisons.map((c) => [c.reference, c.method, String(c.n), String(c.nZero), f4(c.meanDiff), Number.isNaN(c.statistic) ? '-' : c.statistic.toFixed(1), c.z === null || Number.isNaN(c.z) ? '-' : c.z.toFixed(4), fp(c.pvalue), Number.isNaN(c.pBonferroni) ? '-' : `${c.pBonferroni < 0.001 ? '<0.001' : c.pBonferroni.toFixed(3)}${stars(c.pBonferroni)}`, f4(c.r)]),
    ));
    out.push('', 'Stars on the Bonferroni-corrected p: * < 0.05, ** < 0.01, *** < 0.001.');
  }
  return `${out.join('\n')}\n`;
}
