/**
 * Shared pieces of the dataset readers: the root and option checks, required
 * files with a layout hint, a streaming line reader (AffectNet's CSVs are
 * hundreds of MB), a sorted recursive image walk, and the seeded subject split.
 * All message text of the readers is built here or next to the check.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ConfigError, DatasetError } from '../../errors.js';
import type { Split } from '../../io/manifest.js';
import { Rng } from '../../util/rng.js';
import type { DatasetItem, ListOptions } from './types.js';

/** Extensions listed as images (case-insensitive); undecodable ones become error rows downstream. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.gif', '.tif', '.tiff'] as const;

/** A reader's context: its name (for messages), the absolute root and the expected layout (one line). */
export interface Ctx {
  name: string;
  root: string;
  layout: string;
}

/** Plain UTF-16 code-unit order: the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith('.') && IMAGE_EXTENSIONS.some((e) => lower.endsWith(e) && lower.length > e.length);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0] ?? 'unknown error';
}

/** Checks the options and the root directory; returns the context every other helper takes. */
export function openDataset(name: string, root: string, opts: ListOptions, layout: string): Ctx {
  if (!Number.isSafeInteger(opts.seed)) throw new ConfigError(`seed must be an integer, got ${opts.seed}`);
  if (!(Number.isFinite(opts.valFraction) && opts.valFraction >= 0 && opts.valFraction < 1)) {
    throw new ConfigError(`valFraction must be in [0, 1), got ${opts.valFraction}`);
  }
  const abs = resolve(root);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new DatasetError(`${name}: input folder '${root}' does not exist; expected ${layout} (see datasets/${name}/README.md)`);
  }
  if (!isDir) throw new DatasetError(`${name}: input '${root}' is not a folder; expected ${layout} (see datasets/${name}/README.md)`);
  return { name, root: abs, layout };
}

export function pathKind(ctx: Ctx, rel: string): 'file' | 'dir' | null {
  try {
    const st = statSync(join(ctx.root, rel));
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Throws a DatasetError naming `rel` and the expected layout unless it exists with the right kind. */
export function requirePath(ctx: Ctx, rel: string, kind: 'file' | 'dir'): string {
  if (pathKind(ctx, rel) !== kind) {
    const what = kind === 'dir' ? `folder '${rel}/'` : `file '${rel}'`;
    throw new DatasetError(`${ctx.name}: missing ${what} in '${ctx.root}'; expected ${ctx.layout} (see datasets/${ctx.name}/README.md)`);
  }
  return join(ctx.root, rel);
}

/** "<name>: <file> line <n>: <what>, got '<line>'" */
export function malformed(ctx: Ctx, rel: string, lineNo: number, what: string, line: string): DatasetError {
  const shown = line.length > 80 ? `${line.slice(0, 77)}...` : line;
  return new DatasetError(`${ctx.name}: malformed ${rel} line ${lineNo}: ${what}, got '${shown}'`);
}

/**
 * Calls fn for every line of ROOT/rel (1-based numbers), streaming in 1 MiB
 * chunks; '\r\n' and a UTF-8 BOM are accepted. Returns the number of lines.
 */
export function forEachLine(ctx: Ctx, rel: string, fn: (line: string, lineNo: number) => void): number {
  const path = join(ctx.root, rel);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DatasetError(`${ctx.name}: cannot read '${rel}' in '${ctx.root}': ${errCode(e)}`);
  }
  const buf = Buffer.allocUnsafe(1 << 20);
  const dec = new StringDecoder('utf8');
  let n = 0;
  const emit = (raw: string) => {
    n++;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (n === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    fn(line, n);
  };
  try {
    let rest = '';
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new DatasetError(`${ctx.name}: cannot read '${rel}' in '${ctx.root}': ${errCode(e)}`);
      }
      if (got === 0) {
        rest += dec.end();
        if (rest !== '') emit(rest);
        return n;
      }
      rest += dec.write(buf.subarray(0, got));
      let start = 0;
      for (let i = rest.indexOf('\n'); i !== -1; i = rest.indexOf('\n', start)) {
        emit(rest.slice(start, i));
        start = i + 1;
      }
      rest = rest.slice(start);
    }
  } finally {
    closeSync(fd);
  }
}

/** Entries of ROOT/rel (dot entries skipped), sorted by name; symlinks resolved to what they point at. */
export function listDir(ctx: Ctx, rel: string): { name: string; kind: 'file' | 'dir' }[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(ctx.root, rel), { withFileTypes: true });
  } catch (e) {
    throw new DatasetError(`${ctx.name}: cannot list '${rel || '.'}' in '${ctx.root}': ${errCode(e)}`);
  }
  const out: { name: string; kind: 'file' | 'dir' }[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    let kind: 'file' | 'dir' | null = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : null;
    // A broken link stays a 'file': it becomes an error row downstream rather than vanishing.
    if (e.isSymbolicLink()) kind = pathKind(ctx, rel ? `${rel}/${e.name}` : e.name) ?? 'file';
    if (kind) out.push({ name: e.name, kind });
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

/** Image files under ROOT/rel, recursively, as '/'-separated paths relative to ROOT, sorted. */
export function walkImages(ctx: Ctx, rel: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (dir: string) => {
    const real = realpathSync(join(ctx.root, dir));
    if (seen.has(real)) return; // a symlink loop
    seen.add(real);
    for (const e of listDir(ctx, dir)) {
      const child = dir ? `${dir}/${e.name}` : e.name;
      if (e.kind === 'dir') visit(child);
      else if (isImageName(e.name)) out.push(child);
    }
  };
  visit(rel);
  return out.sort(compareStrings);
}

export function makeItem(ctx: Ctx, source: string, split: Split, labels: Record<string, unknown>, identity?: string): DatasetItem {
  const item: DatasetItem = { source, absPath: join(ctx.root, ...source.split('/')), split, labels };
  if (identity !== undefined) item.identity = identity;
  return item;
}

/** Sorts by source and refuses an empty result. */
export function finish(ctx: Ctx, items: DatasetItem[], what: string): DatasetItem[] {
  if (items.length === 0) {
    throw new DatasetError(`${ctx.name}: no ${what} found in '${ctx.root}'; expected ${ctx.layout} (see datasets/${ctx.name}/README.md)`);
  }
  return items.sort((a, b) => compareStrings(a.source, b.source));
}

/** Number of subjects held out: 0 when fraction is 0 or n < 2, else round(n f) clamped to [1, n-1]. */
export function valCount(n: number, fraction: number): number {
  if (fraction <= 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/**
 * The subject-level validation split (CK+, FACES). Changing this changes every split, so it is fixed:
 * 1. the distinct subject ids, sorted in UTF-16 code-unit order;
 * 2. p = new Rng(seed).permutation(n) (mulberry32 Fisher-Yates, src/util/rng.ts);
 * 3. the subjects at sorted positions p[0], ..., p[k-1], k = valCount(n, fraction), are 'val'.
 * Returns the set of validation subjects.
 */
export function subjectSplit(subjects: Iterable<string>, seed: number, fraction: number): Set<string> {
  const sorted = [...new Set(subjects)].sort(compareStrings);
  const p = new Rng(seed).permutation(sorted.length);
  return new Set(p.slice(0, valCount(sorted.length, fraction)).map((i) => sorted[i]!));
}

/** Assigns 'val' to the items of the validation subjects, 'train' to the rest. */
export function splitBySubject(items: DatasetItem[], opts: ListOptions): DatasetItem[] {
  const val = subjectSplit(items.map((it) => it.identity ?? ''), opts.seed, opts.valFraction);
  for (const it of items) it.split = val.has(it.identity ?? '') ? 'val' : 'train';
  return items;
}
