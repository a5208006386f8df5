/**
 * Who is in each original image, for re-identification by person
 * (`ganon eval identity --identities FILE`):
 *  - CelebA's `identity_CelebA.txt`: `000001.jpg 2880` per line (whitespace separated, no header);
 *  - a CSV with a header naming `image` (or `file`/`original`) and `identity` (or `person`), and
 *    optionally `face` (the face index in the original the person is).
 * A name in the file matches an original by its relative path, else by its file name, else by
 * its file name without the extension (CelebA's 000001.jpg <-> a re-encoded 000001.png); a name
 * that matches several originals, or an original named twice with different persons, is reported.
 * Without a face column the person is the file's only face, or, in a file with several faces,
 * the one with the largest detector box (the portrait's subject); the other faces are unknown
 * persons (each distinct from everybody).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import { parseCsv } from './paired.js';

export interface IdentityEntry { name: string; person: string; face: number | null; line: number }

export function parseIdentities(text: string, source: string): IdentityEntry[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = body.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  if (first.includes(',')) {
    const t = parseCsv(body, source);
    const cols = t.columns.map((c) => c.trim().toLowerCase());
    const pick = (...names: string[]) => { for (const n of names) { const i = cols.indexOf(n); if (i >= 0) return i; } return -1; };
    const ic = pick('image', 'file', 'original');
    const pc = pick('identity', 'person');
    const fc = pick('face');
    if (ic < 0 || pc < 0) throw new InputError(`${source}: the CSV header must name image (or file, original) and identity (or person), optionally face; got ${t.columns.join(',')}`);
    return t.rows.map((r, i) => {
      const line = i + 2;
      const name = String(r[t.columns[ic]!] ?? '').trim().replace(/\\/g, '/').replace(/^\.\//, '');
      const person = String(r[t.columns[pc]!] ?? '').trim();
      if (name === '' || person === '') throw new InputError(`${source}: line ${line}: empty image or identity`);
      let face: number | null = null;
      if (fc >= 0) {
        const v = String(r[t.columns[fc]!] ?? '').trim();
        if (v !== '') {
          if (!/^\d+$/.test(v)) throw new InputError(`${source}: line ${line}: face must be a face index (0, 1, ...), got '${v}'`);
          face = Number(v);
        }
      }
      return { name, person, face, line };
    });
  }
  const out: IdentityEntry[] = [];
  body.split(/\r?\n/).forEach((l, i) => {
    const t = l.trim();
    if (t === '') return;
    const parts = t.split(/\s+/);
    if (parts.length !== 2) throw new InputError(`${source}: line ${i + 1}: expected 'IMAGE IDENTITY' (CelebA's identity_CelebA.txt) or a CSV with a header, got '${t.slice(0, 80)}'`);
    out.push({ name: parts[0]!.replace(/\\/g, '/'), person: parts[1]!, face: null, line: i + 1 });
  });
  return out;
}

export function readIdentities(path: string): IdentityEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`--identities: cannot read '${path}': ${(e as Error).message}`);
  }
  const entries = parseIdentities(text, path);
  if (entries.length === 0) throw new InputError(`--identities '${path}' has no entries`);
  return entries;
}

const stem = (name: string) => name.replace(/\.[^./]+$/, '');

export interface OriginalFaceInfo { rel: string; faceIndex: number; key: string; boxArea: number }

export interface PersonAssignment {
  /** Face key -> person. */
  byKey: Map<string, string>;
  /** Originals (files) that got a person. */
  files: number;
  /** Entries that matched no original. */
  unmatched: number;
  /** Entries naming an original with no embedded face. */
  withoutFace: number;
  /** Problems, one line each (ambiguous names, conflicting persons, faces not found). */
  problems: string[];
}

/** Gives each original face its person (see the module comment for the rules). */
export function assignPersons(entries: readonly IdentityEntry[], faces: readonly OriginalFaceInfo[], originalFiles: readonly string[] = []): PersonAssignment {
  const rels = [...new Set([...originalFiles, ...faces.map((f) => f.rel)])];
  const index = (f: (r: string) => string) => {
    const m = new Map<string, string[]>();
    for (const r of rels) m.set(f(r), [...(m.get(f(r)) ?? []), r]);
    return m;
  };
  const byRel = new Set(rels);
  const byBase = index((r) => basename(r));
  const byStem = index((r) => stem(basename(r)));
  const problems: string[] = [];
  let unmatched = 0;
  /** rel -> face (or null) -> person and its line */
  const wanted = new Map<string, Map<number | null, { person: string; line: number }>>();
  for (const e of entries) {
    let hits: string[] | undefined = byRel.has(e.name) ? [e.name] : byBase.get(basename(e.name));
    if (!hits) hits = byStem.get(stem(basename(e.name)));
    if (!hits) { unmatched++; continue; }
    if (hits.length > 1) { problems.push(`line ${e.line}: '${e.name}' matches ${hits.length} originals (${hits.slice(0, 3).join(', ')}${hits.length > 3 ? ', ...' : ''}); not used`); continue; }
    const rel = hits[0]!;
    const m = wanted.get(rel) ?? new Map<number | null, { person: string; line: number }>();
    const prev = m.get(e.face);
    if (prev && prev.person !== e.person) { problems.push(`line ${e.line}: '${rel}'${e.face === null ? '' : ` face ${e.face}`} is person ${e.person}, but line ${prev.line} says ${prev.person}; line ${prev.line} kept`); continue; }
    m.set(e.face, prev ?? { person: e.person, line: e.line });
    wanted.set(rel, m);
  }
  const byKey = new Map<string, string>();
  const facesOf = new Map<string, OriginalFaceInfo[]>();
  for (const f of faces) facesOf.set(f.rel, [...(facesOf.get(f.rel) ?? []), f]);
  let withoutFace = 0;
  for (const [rel, m] of wanted) {
    const fs = facesOf.get(rel) ?? [];
    if (fs.length === 0) { withoutFace += m.size; continue; }
    for (const [face, { person, line }] of m) {
      if (face === null) {
        if (m.size > 1 && [...m.keys()].some((k) => k !== null)) continue; // explicit faces win
        const subject = fs.reduce<OriginalFaceInfo | null>((best, f) => (best === null || f.boxArea > best.boxArea ? f : best), null);
        if (subject) byKey.set(subject.key, person);
      } else {
        const f = fs.find((x) => x.faceIndex === face);
        if (f) byKey.set(f.key, person);
        else problems.push(`line ${line}: '${rel}' has no face ${face} (${fs.length} detected)`);
      }
    }
  }
  const relOf = new Map(faces.map((f) => [f.key, f.rel]));
  const files = new Set([...byKey.keys()].map((k) => relOf.get(k)!)).size;
  return { byKey, files, unmatched, withoutFace, problems };
}
