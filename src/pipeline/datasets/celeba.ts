/**
 * CelebA (Liu et al., ICCV 2015): aligned 178x218 images, the official
 * train/val/test partition, 40 binary attributes and an identity per image.
 * Items are the images present under img_align_celeba/ (a subset of the
 * download works); every one of them must have a row in all three label files.
 */
import { DatasetError } from '../../errors.js';
import type { Split } from '../../io/manifest.js';
import { type Ctx, finish, forEachLine, makeItem, malformed, openDataset, requirePath, walkImages } from './common.js';
import type { DatasetItem, DatasetReader, ListOptions } from './types.js';

/** The 40 attributes in list_attr_celeba.txt's column order. */
export const CELEBA_ATTRIBUTES = [
  '5_o_Clock_Shadow', 'Arched_Eyebrows', 'Attractive', 'Bags_Under_Eyes', 'Bald', 'Bangs', 'Big_Lips', 'Big_Nose',
  'Black_Hair', 'Blond_Hair', 'Blurry', 'Brown_Hair', 'Bushy_Eyebrows', 'Chubby', 'Double_Chin', 'Eyeglasses',
  'Goatee', 'Gray_Hair', 'Heavy_Makeup', 'High_Cheekbones', 'Male', 'Mouth_Slightly_Open', 'Mustache', 'Narrow_Eyes',
  'No_Beard', 'Oval_Face', 'Pale_Skin', 'Pointy_Nose', 'Receding_Hairline', 'Rosy_Cheeks', 'Sideburns', 'Smiling',
  'Straight_Hair', 'Wavy_Hair', 'Wearing_Earrings', 'Wearing_Hat', 'Wearing_Lipstick', 'Wearing_Necklace',
  'Wearing_Necktie', 'Young',
];

const IMAGES = 'img_align_celeba';
const PARTITION = 'list_eval_partition.txt';
const ATTRIBUTES = 'list_attr_celeba.txt';
const IDENTITY = 'identity_CelebA.txt';
const LAYOUT = `${IMAGES}/000001.jpg..., ${PARTITION} ('000001.jpg 0'), ${ATTRIBUTES} (count, 40 names, rows of -1/1), ${IDENTITY} ('000001.jpg 2880')`;
const PARTITION_SPLITS: Record<string, Split> = { 0: 'train', 1: 'val', 2: 'test' };

/** Reads 'FILE VALUE' lines; blank lines are skipped, a file listed twice is an error. */
function readPairs(ctx: Ctx, rel: string, what: string, check: (v: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  forEachLine(ctx, rel, (line, n) => {
    const f = line.trim().split(/\s+/);
    if (f.length === 1 && f[0] === '') return;
    if (f.length !== 2 || !check(f[1]!)) throw malformed(ctx, rel, n, `expected 'FILE ${what}'`, line);
    if (out.has(f[0]!)) throw malformed(ctx, rel, n, `'${f[0]}' is listed twice`, line);
    out.set(f[0]!, f[1]!);
  });
  return out;
}

/** list_attr_celeba.txt: row count, the 40 names, then 'FILE v1 ... v40' with v in {-1, 1} (stored as 0/1). */
function readAttributes(ctx: Ctx): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let declared = -1;
  forEachLine(ctx, ATTRIBUTES, (line, n) => {
    const f = line.trim().split(/\s+/);
    if (n === 1) {
      if (f.length !== 1 || !/^\d+$/.test(f[0]!)) throw malformed(ctx, ATTRIBUTES, n, 'expected the row count', line);
      declared = Number(f[0]);
    } else if (n === 2) {
      const bad = f.length !== CELEBA_ATTRIBUTES.length || f.some((name, i) => name !== CELEBA_ATTRIBUTES[i]);
      if (bad) throw malformed(ctx, ATTRIBUTES, n, `expected the 40 attribute names ${CELEBA_ATTRIBUTES[0]} ... ${CELEBA_ATTRIBUTES[39]}`, line);
    } else if (!(f.length === 1 && f[0] === '')) {
      if (f.length !== 41) throw malformed(ctx, ATTRIBUTES, n, `expected 'FILE' and 40 values of -1 or 1 (found ${f.length - 1})`, line);
      const v = new Uint8Array(40);
      for (let i = 0; i < 40; i++) {
        const s = f[i + 1];
        if (s !== '1' && s !== '-1') throw malformed(ctx, ATTRIBUTES, n, `value ${i + 1} (${CELEBA_ATTRIBUTES[i]}) is not -1 or 1`, line);
        v[i] = s === '1' ? 1 : 0;
      }
      if (out.has(f[0]!)) throw malformed(ctx, ATTRIBUTES, n, `'${f[0]}' is listed twice`, line);
      out.set(f[0]!, v);
    }
  });
  if (declared < 0) throw malformed(ctx, ATTRIBUTES, 1, 'expected the row count', '');
  if (declared !== out.size) {
    throw new DatasetError(`celeba: ${ATTRIBUTES} line 1 declares ${declared} rows but the file has ${out.size} (truncated download?)`);
  }
  return out;
}

function listCelebA(root: string, opts: ListOptions): DatasetItem[] {
  const ctx = openDataset('celeba', root, opts, LAYOUT);
  requirePath(ctx, IMAGES, 'dir');
  for (const f of [PARTITION, ATTRIBUTES, IDENTITY]) requirePath(ctx, f, 'file');
  const partition = readPairs(ctx, PARTITION, 'PARTITION (0, 1 or 2)', (v) => Object.hasOwn(PARTITION_SPLITS, v));
  const identity = readPairs(ctx, IDENTITY, 'IDENTITY', (v) => /^\d+$/.test(v));
  const attributes = readAttributes(ctx);
  const items: DatasetItem[] = [];
  for (const source of walkImages(ctx, IMAGES)) {
    const file = source.slice(IMAGES.length + 1);
    const missing = (list: string) => new DatasetError(`celeba: image '${source}' has no row in ${list}`);
    const p = partition.get(file);
    if (p === undefined) throw missing(PARTITION);
    const id = identity.get(file);
    if (id === undefined) throw missing(IDENTITY);
    const a = attributes.get(file);
    if (a === undefined) throw missing(ATTRIBUTES);
    const attrs: Record<string, number> = {};
    CELEBA_ATTRIBUTES.forEach((name, i) => (attrs[name] = a[i]!));
    items.push(makeItem(ctx, source, PARTITION_SPLITS[p]!, { attributes: attrs }, id));
  }
  return finish(ctx, items, `images in ${IMAGES}/`);
}

/**
 * The classifier's 0/1 target vector of one CelebA item: 40 entries in CELEBA_ATTRIBUTES (the
 * file's column) order, from an item's labels (`{ attributes: { name: 0|1 } }`, as this reader
 * and the manifest's `labels` JSON store them; -1 is accepted as 0 too). Throws DatasetError
 * naming the attribute when one is absent or not 0/1/-1.
 */
export function celebaTargets(labels: unknown): Uint8Array {
  const attrs = (labels as { attributes?: unknown } | null)?.attributes;
  if (attrs === null || typeof attrs !== 'object') throw new DatasetError("celeba: labels have no 'attributes' object");
  const out = new Uint8Array(CELEBA_ATTRIBUTES.length);
  CELEBA_ATTRIBUTES.forEach((name, i) => {
    const v = (attrs as Record<string, unknown>)[name];
    if (v === 1) out[i] = 1;
    else if (v !== 0 && v !== -1) throw new DatasetError(`celeba: attribute '${name}' is ${v === undefined ? 'missing' : JSON.stringify(v)}, expected 0 or 1`);
  });
  return out;
}

export const celeba: DatasetReader = { name: 'celeba', classes: CELEBA_ATTRIBUTES, list: listCelebA };
