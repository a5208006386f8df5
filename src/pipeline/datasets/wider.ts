/**
 * WIDER FACE (Yang et al., CVPR 2016): WIDER_{train,val}/images/<event>/*.jpg
 * with the face boxes of wider_face_split/wider_face_{train,val}_bbx_gt.txt.
 * WIDER_val becomes split 'val'; WIDER_test has no public boxes and is not read.
 * Either half may be absent (not both); a present half needs its box file, and
 * every image in it needs an entry there.
 */
import { DatasetError } from '../../errors.js';
import type { Split } from '../../io/manifest.js';
import { type Ctx, finish, forEachLine, makeItem, malformed, openDataset, pathKind, requirePath, walkImages } from './common.js';
import type { DatasetItem, DatasetReader, ListOptions } from './types.js';

const HALVES: { dir: string; gt: string; split: Split }[] = [
  { dir: 'WIDER_train', gt: 'wider_face_split/wider_face_train_bbx_gt.txt', split: 'train' },
  { dir: 'WIDER_val', gt: 'wider_face_split/wider_face_val_bbx_gt.txt', split: 'val' },
];
const LAYOUT = 'WIDER_train/images/<event>/*.jpg and/or WIDER_val/images/<event>/*.jpg, with wider_face_split/wider_face_{train,val}_bbx_gt.txt';
const FIELDS = 'x y w h blur expression illumination invalid occlusion pose';

export type WiderBox = [number, number, number, number];

/** Ten numbers, or null when the line is not ten numbers. */
function boxFields(line: string): number[] | null {
  const f = line.trim().split(/\s+/);
  if (f.length !== 10) return null;
  const v = f.map(Number);
  return v.every(Number.isFinite) ? v : null;
}

/**
 * The box file: for each image a path line ('0--Parade/0_Parade_marchingband_1_849.jpg'),
 * a count line, then count lines of FIELDS. A count of 0 is followed by one all-zero
 * line (tolerated when absent).
 */
export function readWiderBoxes(ctx: Ctx, rel: string): Map<string, WiderBox[]> {
  const out = new Map<string, WiderBox[]>();
  let state = 'name' as 'name' | 'count' | 'boxes' | 'zero'; // (a cast: the callback's writes are invisible to narrowing)
  let current: WiderBox[] = [];
  let name = '';
  let nameLine = 0;
  let left = 0;
  forEachLine(ctx, rel, (line, n) => {
    if (state === 'zero') {
      state = 'name';
      const z = boxFields(line);
      if (z) {
        if (z.some((v) => v !== 0)) throw malformed(ctx, rel, n, `a face count of 0 must be followed by one all-zero line`, line);
        return;
      }
    }
    if (state === 'name') {
      const s = line.trim();
      if (s === '') return;
      if (/\s/.test(s) || !/\.(jpe?g|png)$/i.test(s)) throw malformed(ctx, rel, n, 'expected an image path like 0--Parade/0_Parade_marchingband_1_849.jpg', line);
      if (out.has(s)) throw malformed(ctx, rel, n, `'${s}' is listed twice`, line);
      [name, nameLine, current, state] = [s, n, [], 'count'];
      out.set(name, current);
    } else if (state === 'count') {
      if (!/^\d+$/.test(line.trim())) throw malformed(ctx, rel, n, `expected the face count of '${name}'`, line);
      left = Number(line.trim());
      state = left === 0 ? 'zero' : 'boxes';
    } else {
      const v = boxFields(line);
      if (!v) throw malformed(ctx, rel, n, `expected 10 numbers '${FIELDS}' (box of '${name}')`, line);
      current.push([v[0]!, v[1]!, v[2]!, v[3]!]);
      if (--left === 0) state = 'name';
    }
  });
  if (state === 'count' || state === 'boxes') {
    throw new DatasetError(`wider: ${rel} ends inside the entry of '${name}' (line ${nameLine}): expected its ${state === 'count' ? 'face count' : `${left} more box line(s)`}`);
  }
  return out;
}

function listWider(root: string, opts: ListOptions): DatasetItem[] {
  const ctx = openDataset('wider', root, opts, LAYOUT);
  const present = HALVES.filter((h) => pathKind(ctx, h.dir) === 'dir');
  if (present.length === 0) requirePath(ctx, 'WIDER_train', 'dir');
  const items: DatasetItem[] = [];
  for (const h of present) {
    requirePath(ctx, `${h.dir}/images`, 'dir');
    requirePath(ctx, h.gt, 'file');
    const boxes = readWiderBoxes(ctx, h.gt);
    const prefix = `${h.dir}/images/`;
    for (const source of walkImages(ctx, `${h.dir}/images`)) {
      const key = source.slice(prefix.length);
      const b = boxes.get(key);
      if (!b) throw new DatasetError(`wider: image '${source}' has no entry '${key}' in ${h.gt}`);
      const event = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
      items.push(makeItem(ctx, source, h.split, { event, boxes: b }));
    }
  }
  return finish(ctx, items, 'images in WIDER_train/images/ or WIDER_val/images/');
}

export const wider: DatasetReader = { name: 'wider', list: listWider };
