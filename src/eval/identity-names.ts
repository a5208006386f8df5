/**
 * How a method's files are matched to the originals in `ganon eval identity`
 * (`--name-map`). Every map yields, per original (relative path), the method
 * files that may hold its faces, each as a Candidate:
 *
 *  - `auto` (default): crop outputs `{dir}/{faceIndex}_{basename}` (the naming of
 *    `ganon anonymize --mode crop` and of the authors' tool; formats sharp cannot
 *    write get `.png` appended) for face `faceIndex`, else a full frame at the
 *    same relative path (or `rel.png`), cropped through each face's transform;
 *  - `same`: only the full frame at the same relative path (or `rel.png`);
 *  - `reference`: the authors' evaluation convention (GANonymization
 *    `lib/analysis.py`, `original_filename(f) = f.split('-')[-1]`, used for their
 *    DeepPrivacy2 folder too): a method file and an original match when the part
 *    of their file names after the last '-' is equal (within the same
 *    sub-directory), e.g. `ganonymization-000001.jpg` <-> `000001.jpg`;
 *  - `csv:FILE`: explicit pairs, a header row with `original` and `file` (or
 *    `method_file`) and an optional `face` column (the original's face index the
 *    file shows); paths relative to --original and to the method directory.
 *
 * A `reference` or `csv` file of unknown geometry is resolved when it is read: the
 * original's size -> a full frame (cropped through each face's transform); another
 * size -> a crop of its face (face 0 unless the CSV says which).
 * Files claimed by no original are extras; two files for one original and face,
 * or one key shared by several originals, are reported, never silently chosen.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import { InputError } from '../errors.js';
import { cropOutputName } from '../pipeline/anonymize.js';
import { parseCsv } from './paired.js';

export interface CsvPair { original: string; file: string; face: number | null; line: number }

export type NameMap =
  | { kind: 'auto' }
  | { kind: 'same' }
  | { kind: 'reference' }
  | { kind: 'csv'; path: string; pairs: CsvPair[] };

export const NAME_MAP_HELP = "auto: crop outputs {faceIndex}_{basename}, else the full frame at the same path; same: the same path only; reference: the authors' convention, the file name after the last '-' equals the original's (split('-')[-1]); csv:FILE: explicit pairs (header original,file[,face])";

/** A method file that may hold an original's face(s). */
export interface Candidate {
  file: string;
  /** The face it shows; null: every face (a full frame) or, for `either`, face 0 if it is a crop. */
  face: number | null;
  /** crop: embedded as it is; frame: must have the original's size; either: decided by its size. */
  how: 'crop' | 'frame' | 'either';
  /** Why it was chosen (for messages), e.g. "CSV line 3". */
  via: string;
}

export interface NameMatch {
  byOriginal: Map<string, Candidate[]>;
  /** Method files matched to no original, with the reason. */
  extra: { file: string; message: string }[];
  /** Originals that cannot be matched unambiguously, with the reason (their rows are errors). */
  problems: Map<string, string>;
  /** CSV rows naming a file the method directory lacks: original -> message (their rows are missing). */
  absent: Map<string, { face: number | null; message: string }[]>;
}

/** `auto` | `same` | `reference` | `csv:FILE` (the CSV is read and checked here). */
export function parseNameMap(text: string | undefined): NameMap {
  const t = (text ?? 'auto').trim();
  if (t === 'auto' || t === 'same' || t === 'reference') return { kind: t };
  if (t.startsWith('csv:') && t.length > 4) {
    const path = t.slice(4);
    let body: string;
    try {
      body = readFileSync(path, 'utf8');
    } catch (e) {
      throw new InputError(`--name-map csv: cannot read '${path}': ${(e as Error).message}`);
    }
    return { kind: 'csv', path, pairs: parseNameMapCsv(body, path) };
  }
  throw new InputError(`--name-map '${t}': expected auto, same, reference or csv:FILE`);
}

const clean = (p: string): string => posix.normalize(p.trim().replace(/\\/g, '/')).replace(/^\.\//, '');

/** Rows of a name-map CSV: header with original and file (or method_file), optional face. */
export function parseNameMapCsv(text: string, name: string): CsvPair[] {
  const t = parseCsv(text, name);
  const cols = t.columns.map((c) => c.trim());
  const oc = cols.indexOf('original');
  const fc = cols.indexOf('file') >= 0 ? cols.indexOf('file') : cols.indexOf('method_file');
  const face = cols.indexOf('face');
  if (oc < 0 || fc < 0) throw new InputError(`${name}: the header must name the columns original and file (or method_file), optionally face; got ${t.columns.join(',')}`);
  const key = (i: number) => t.columns[i]!;
  return t.rows.map((r, i) => {
    const line = i + 2;
    const original = clean(String(r[key(oc)] ?? ''));
    const file = clean(String(r[key(fc)] ?? ''));
    if (original === '' || original === '.' || file === '' || file === '.') throw new InputError(`${name}: line ${line}: empty original or file`);
    let f: number | null = null;
    if (face >= 0) {
      const v = String(r[key(face)] ?? '').trim();
      if (v !== '') {
        if (!/^\d+$/.test(v)) throw new InputError(`${name}: line ${line}: face must be a face index (0, 1, ...), got '${v}'`);
        f = Number(v);
      }
    }
    return { original, file, face: f, line };
  });
}

/** The authors' key: the file name after its last '-', in the file's own directory. */
export function referenceKey(rel: string): string {
  const dir = dirname(rel);
  const key = basename(rel).split('-').at(-1)!;
  return dir === '.' ? key : `${dir}/${key}`;
}

/** The crop output names `{k}_{basename}` a method file could be, for an original: face index or null. */
function cropFace(file: string, originals: ReadonlySet<string>): { original: string; face: number } | null {
  const base = basename(file);
  const m = /^(\d+)_(.+)$/.exec(base);
  if (!m) return null;
  const dir = dirname(file);
  const face = Number(m[1]);
  const rest = m[2]!;
  for (const cand of [rest, rest.replace(/\.png$/i, '')]) {
    const rel = dir === '.' ? cand : `${dir}/${cand}`;
    if (originals.has(rel) && cropOutputName(rel, face) === file) return { original: rel, face };
  }
  return null;
}

/** Matches a method directory's files (relative paths) to the originals. */
export function matchNames(map: NameMap, originals: readonly string[], methodFiles: readonly string[]): NameMatch {
  const byOriginal = new Map<string, Candidate[]>(originals.map((o) => [o, []]));
  const problems = new Map<string, string>();
  const absent = new Map<string, { face: number | null; message: string }[]>();
  const used = new Set<string>(); // files some candidate uses
  const silenced = new Set<string>(); // files of ambiguous originals: neither used nor extra
  const extraReason = new Map<string, string>();
  const files = new Set(methodFiles);
  const origSet = new Set(originals);
  const add = (o: string, c: Candidate) => {
    byOriginal.get(o)!.push(c);
    used.add(c.file);
  };
  const frameOf = (o: string): string | null => (files.has(o) ? o : files.has(`${o}.png`) ? `${o}.png` : null);

  if (map.kind === 'auto' || map.kind === 'same') {
    if (map.kind === 'auto') {
      for (const f of [...methodFiles].sort()) {
        const c = cropFace(f, origSet);
        if (c) add(c.original, { file: f, face: c.face, how: 'crop', via: 'crop name' });
      }
    }
    for (const o of originals) {
      const fr = frameOf(o);
      if (fr) add(o, { file: fr, face: null, how: 'frame', via: 'same path' });
    }
  } else if (map.kind === 'reference') {
    const origByKey = new Map<string, string[]>();
    for (const o of originals) origByKey.set(referenceKey(o), [...(origByKey.get(referenceKey(o)) ?? []), o]);
    for (const [k, os] of origByKey) {
      if (os.length > 1) for (const o of os) problems.set(o, `--name-map reference: key '${k}' is shared by originals ${os.join(', ')}`);
    }
    const fileByKey = new Map<string, string[]>();
    for (const f of [...methodFiles].sort()) fileByKey.set(referenceKey(f), [...(fileByKey.get(referenceKey(f)) ?? []), f]);
    for (const [k, fs] of fileByKey) {
      const os = origByKey.get(k);
      if (!os) continue;
      if (os.length > 1) {
        for (const f of fs) silenced.add(f);
        continue;
      }
      add(os[0]!, { file: fs[0]!, face: null, how: 'either', via: `reference key '${k}'` });
      for (const f of fs.slice(1)) extraReason.set(f, `--name-map reference: key '${k}' of '${os[0]}' is also '${fs[0]}', which is used`);
    }
  } else {
    const seen = new Map<string, CsvPair>();
    for (const p of map.pairs) {
      if (!origSet.has(p.original)) {
        if (files.has(p.file)) extraReason.set(p.file, `${map.path} line ${p.line}: original '${p.original}' is not under --original`);
        continue;
      }
      const k = `${p.original}\u0000${p.face ?? 'all'}`;
      const prev = seen.get(k);
      if (prev) {
        problems.set(p.original, `${map.path}: lines ${prev.line} and ${p.line} both map '${p.original}'${p.face === null ? '' : ` face ${p.face}`}`);
        if (files.has(p.file)) silenced.add(p.file);
        continue;
      }
      seen.set(k, p);
      if (!files.has(p.file)) {
        absent.set(p.original, [...(absent.get(p.original) ?? []), { face: p.face, message: `'${p.file}' (${map.path} line ${p.line}) is not in the method directory` }]);
        continue;
      }
      add(p.original, { file: p.file, face: p.face, how: 'either', via: `${map.path} line ${p.line}` });
    }
  }
  const extra = methodFiles.filter((f) => !used.has(f) && !silenced.has(f)).map((f) => ({ file: f, message: extraReason.get(f) ?? 'matches no original (extra file)' }));
  return { byOriginal, extra, problems, absent };
}
