/**
 * Pairs each original image with a method's output for the same face, by name:
 *   1. `{dir}/0_{basename}`: the `{faceIndex}_{basename}` crop naming of
 *      `ganon anonymize --mode crop` and of the authors' tool;
 *   2. the same relative path;
 *   3. the same relative path with another image extension (a.jpg -> a.png).
 * Method files matched to no original are returned as extras; nothing is
 * silently dropped.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { InputError } from '../errors.js';
import { cropOutputName } from '../pipeline/anonymize.js';

const IMAGE = /\.(png|jpe?g|webp|bmp|tiff?)$/i;

/** Image files under `root`, relative paths with '/' separators, sorted. */
export function listImages(root: string): string[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new InputError(`'${root}' is not a directory`);
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // dangling link
        }
      }
      if (isDir) visit(p);
      else if (isFile && IMAGE.test(e.name)) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  visit(root);
  return out.sort();
}

export interface MethodMatch {
  /** Original rel -> method rel (absent when missing). */
  matched: Map<string, string>;
  missing: string[];
  extra: string[];
}

function stem(rel: string): string {
  return rel.replace(IMAGE, '');
}

export function matchMethod(originals: readonly string[], methodFiles: readonly string[]): MethodMatch {
  const files = new Set(methodFiles);
  const byStem = new Map<string, string[]>();
  for (const f of methodFiles) {
    const s = stem(f);
    byStem.set(s, [...(byStem.get(s) ?? []), f]);
  }
  const used = new Set<string>();
  const matched = new Map<string, string>();
  const missing: string[] = [];
  for (const rel of originals) {
    const crop = cropOutputName(rel, 0).split(sep).join('/');
    let hit: string | undefined;
    if (files.has(crop)) hit = crop;
    else if (files.has(rel)) hit = rel;
    else {
      const cropStem = byStem.get(stem(crop));
      const same = byStem.get(stem(rel));
      hit = cropStem?.length === 1 ? cropStem[0] : same?.length === 1 ? same[0] : undefined;
    }
    if (hit === undefined || used.has(hit)) missing.push(rel);
    else {
      matched.set(rel, hit);
      used.add(hit);
    }
  }
  const extra = methodFiles.filter((f) => !used.has(f));
  return { matched, missing, extra };
}
