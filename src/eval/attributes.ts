/**
 * Facial attribute removal (paper section 4.3, Table 6 and Figure 9), pure functions.
 *
 * For each attribute and method: among the images whose ORIGINAL the classifier
 * predicts the attribute on (p > 0.5), an anonymized version is
 *   - `kept`    when the classifier still predicts it (p_anon > 0.5),
 *   - `removed` when it does not (p_anon <= 0.5);
 * rate = removed / (kept + removed), and `null` (n/a) when the attribute is
 * predicted on none of the originals the method has a pair for.
 *
 * Pairs are joined by image id (the keys of the maps), never by position: the
 * reference's `facial_traits_analysis` zipped two datasets by index and then
 * read its counts back from side files (REFERENCE.md section 4); neither is
 * copied here. An image in a method's predictions without an original is not
 * a pair (the harness reports it as an extra file).
 */
import { InputError } from '../errors.js';

/** The decision threshold: predicted means p > THRESHOLD (p exactly 0.5 is not predicted). */
export const THRESHOLD = 0.5;

export interface RemovalCell {
  kept: number;
  removed: number;
  /** removed / (kept + removed); null when kept + removed = 0 (n/a). */
  rate: number | null;
}

export interface MethodPredictions {
  name: string;
  /** Image id -> probability vector (one entry per attribute, in `attributes` order). */
  predictions: ReadonlyMap<string, ArrayLike<number>>;
}

export interface RemovalInput {
  attributes: readonly string[];
  /** Image id -> probability vector of the original image. */
  original: ReadonlyMap<string, ArrayLike<number>>;
  methods: readonly MethodPredictions[];
}

export interface MethodRemoval {
  name: string;
  /** Images of the method that have an original (the pairs counted). */
  pairs: number;
  /** Attribute -> counts and rate. */
  cells: Record<string, RemovalCell>;
}

export interface RemovalResult {
  attributes: string[];
  methods: MethodRemoval[];
  /** Attributes in Table 6 order (see `table6Order`). */
  order: string[];
}

function checkVector(v: ArrayLike<number>, k: number, what: string): void {
  if (v.length !== k) throw new InputError(`${what}: ${v.length} probabilities, expected ${k} (one per attribute)`);
  for (let j = 0; j < k; j++) {
    const p = v[j]!;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
      throw new InputError(`${what}: probability ${j} is ${String(p)}, expected a number in [0, 1]`);
    }
  }
}

/** kept/removed/rate for every method and attribute; see the file comment for the definition. */
export function removalRates(input: RemovalInput): RemovalResult {
  const attributes = [...input.attributes];
  const k = attributes.length;
  if (k === 0) throw new InputError('no attributes');
  if (new Set(attributes).size !== k) throw new InputError(`attribute names must be unique (got ${attributes.join(', ')})`);
  const names = input.methods.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new InputError(`method names must be unique (got ${names.join(', ')})`);
  for (const [id, v] of input.original) checkVector(v, k, `original '${id}'`);
  const methods: MethodRemoval[] = input.methods.map((m) => {
    const kept = new Array<number>(k).fill(0);
    const removed = new Array<number>(k).fill(0);
    let pairs = 0;
    for (const [id, anon] of m.predictions) {
      checkVector(anon, k, `method '${m.name}', image '${id}'`);
      const orig = input.original.get(id);
      if (orig === undefined) continue;
      pairs++;
      for (let j = 0; j < k; j++) {
        if (!(orig[j]! > THRESHOLD)) continue;
        if (anon[j]! > THRESHOLD) kept[j]!++;
        else removed[j]!++;
      }
    }
    const cells: Record<string, RemovalCell> = {};
    attributes.forEach((a, j) => {
      const n = kept[j]! + removed[j]!;
      cells[a] = { kept: kept[j]!, removed: removed[j]!, rate: n === 0 ? null : removed[j]! / n };
    });
    return { name: m.name, pairs, cells };
  });
  return { attributes, methods, order: table6Order(attributes, methods) };
}

/**
 * Table 6 row order: by the FIRST method's removal rate, highest first (the paper's layout);
 * n/a attributes last; ties keep the attributes' own order (the classifier's / file's).
 */
export function table6Order(attributes: readonly string[], methods: readonly MethodRemoval[]): string[] {
  const first = methods[0];
  const idx = new Map(attributes.map((a, i) => [a, i]));
  if (!first) return [...attributes];
  const key = (a: string) => first.cells[a]?.rate ?? -1;
  return [...attributes].sort((a, b) => key(b) - key(a) || idx.get(a)! - idx.get(b)!);
}

/** A rate as the paper prints it (6 decimals), or n/a. */
export function formatRate(rate: number | null): string {
  return rate === null ? 'n/a' : rate.toFixed(6);
}

export interface Table6Options {
  /** Classifier description for the caption, e.g. 'convnext_base (runs/attr)' or 'predictions file'. */
  classifier?: string;
}

/**
 * Table 6 as markdown: one row per attribute in `order`, per method its removal rate and
 * `removed / n` (n = originals predicting the attribute that the method has a pair for).
 */
export function formatTable6(result: RemovalResult, opts: Table6Options = {}): string {
  const head = ['Attribute'];
  const align = [':---'];
  for (const m of result.methods) {
    head.push(`${m.name} removed`, `${m.name} removed / n`);
    align.push('---:', '---:');
  }
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${head.map(cell).join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const a of result.order) {
    const cells = [a];
    for (const m of result.methods) {
      const c = m.cells[a]!;
      cells.push(formatRate(c.rate), `${c.removed} / ${c.kept + c.removed}`);
    }
    lines.push(`| ${cells.map(cell).join(' | ')} |`);
  }
  const first = result.methods[0]?.name;
  const notes = [
    '',
    `Share of the originals on which the classifier predicts the attribute (p > ${THRESHOLD}) whose anonymized version it does not predict (p <= ${THRESHOLD}); `
      + `n = kept + removed; n/a: the attribute is predicted on none of the originals.`
      + (first ? ` Sorted by the removal rate of ${first}.` : ''),
    `Pairs: ${result.methods.map((m) => `${m.name} ${m.pairs}`).join(', ')}.${opts.classifier ? ` Classifier: ${opts.classifier}.` : ''}`,
  ];
  return `${lines.join('\n')}\n${notes.join('\n')}\n`;
}

/** The `--json` structure: method -> attribute -> {kept, removed, rate}, attributes in Table 6 order. */
export function removalJson(result: RemovalResult): Record<string, Record<string, RemovalCell>> {
  const out: Record<string, Record<string, RemovalCell>> = {};
  for (const m of result.methods) {
    const cells: Record<string, RemovalCell> = {};
    for (const a of result.order) cells[a] = { ...m.cells[a]! };
    out[m.name] = cells;
  }
  return out;
}

/** run.json's flat list: one entry per (attribute, method), rows in Table 6 order. */
export function table6Rows(result: RemovalResult): { attribute: string; method: string; kept: number; removed: number; rate: number | null }[] {
  const out = [];
  for (const a of result.order) for (const m of result.methods) out.push({ attribute: a, method: m.name, ...m.cells[a]! });
  return out;
}

/**
 * The clear error for classifier/predictions attribute names that are not the labels' names:
 * both lists, and what is only in each. Returns nothing when the two name the same set.
 */
export function checkAttributeNames(predicted: readonly string[], labelled: readonly string[], predictedWhat: string, labelledWhat: string): void {
  const a = new Set(predicted);
  const b = new Set(labelled);
  const onlyA = predicted.filter((x) => !b.has(x));
  const onlyB = labelled.filter((x) => !a.has(x));
  if (onlyA.length === 0 && onlyB.length === 0) return;
  throw new InputError(
    `attribute names differ between ${predictedWhat} and ${labelledWhat}:\n`
    + `  ${predictedWhat} (${predicted.length}): ${predicted.join(', ')}\n`
    + `  ${labelledWhat} (${labelled.length}): ${labelled.join(', ')}\n`
    + `  only in ${predictedWhat}: ${onlyA.join(', ') || '-'}; only in ${labelledWhat}: ${onlyB.join(', ') || '-'}`,
  );
}
