/**
 * Labelled images for the classifiers, from either layout:
 * - `ganon preprocess` output: `manifest.arrow` + `faces/<id>.png`; rows with
 *   status 'ok'; the split from the manifest; the class name in the labels JSON
 *   under `data.labelKey` (emotion), or the 40 CelebA attributes under
 *   `attributes` (-1/1 or 0/1, stored as 0/1).
 * - ImageFolder (torchvision's): `DIR/<split>/<class>/*.png` with split folders
 *   train, val (and optionally test); emotion only.
 * Class names: the caller's list; else the dataset's own list in label-code
 * order when the names are AffectNet's, CK+'s or FACES's; else the sorted
 * names found in all splits (as ImageFolder sorts its class folders).
 *
 * `imagesDir` (Table 4's training scenario): take each image's pixels from an
 * anonymizer's output folder instead, matched by name (src/eval/match.ts); rows
 * without a match are reported, never guessed.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from '../errors.js';
import { readManifest, type Split } from '../io/manifest.js';
import { listImages, matchMethod } from '../eval/match.js';
import { AFFECTNET_CLASSES } from '../pipeline/datasets/affectnet.js';
import { CELEBA_ATTRIBUTES, celebaTargets } from '../pipeline/datasets/celeba.js';
import { CKPLUS_CLASSES } from '../pipeline/datasets/ckplus.js';
import { FACES_CLASSES } from '../pipeline/datasets/faces.js';

export type ClassifierTask = 'emotion' | 'attributes';

export interface LabelledImage {
  /** Stable id: the manifest id, or the path relative to the ImageFolder root. */
  id: string;
  path: string;
  split: Split;
  /** emotion: class index; attributes: 0/1 per class. */
  label: number | Uint8Array;
}

export interface ClassifierData {
  layout: 'manifest' | 'imagefolder';
  task: ClassifierTask;
  classes: string[];
  items: LabelledImage[];
  /** Rows that were left out, with why (no face, unlabelled, no anonymized image, ...). */
  skipped: { id: string; reason: string }[];
}

export interface OpenClassifierDataOptions {
  task: ClassifierTask;
  labelKey?: string;
  classes?: readonly string[];
  imagesDir?: string;
}

export function openClassifierData(root: string, opts: OpenClassifierDataOptions): ClassifierData {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DatasetError(`classifier data '${root}' is not a directory`);
  const data = existsSync(join(root, 'manifest.arrow')) ? fromManifest(root, opts) : fromImageFolder(root, opts);
  if (opts.imagesDir !== undefined) return withImages(data, root, opts.imagesDir);
  return data;
}

function fromManifest(root: string, opts: OpenClassifierDataOptions): ClassifierData {
  const rows = readManifest(join(root, 'manifest.arrow'));
  const skipped: ClassifierData['skipped'] = [];
  const raw: { id: string; split: Split; value: string | Uint8Array }[] = [];
  const key = opts.labelKey ?? 'emotion';
  for (const r of rows) {
    if (r.status !== 'ok') {
      skipped.push({ id: r.id, reason: r.status });
      continue;
    }
    let labels: Record<string, unknown>;
    try {
      labels = r.labels === '' ? {} : (JSON.parse(r.labels) as Record<string, unknown>);
    } catch {
      throw new DatasetError(`manifest row '${r.id}': labels are not valid JSON`);
    }
    if (opts.task === 'emotion') {
      const v = labels[key];
      if (typeof v !== 'string' || v === '') {
        skipped.push({ id: r.id, reason: `no '${key}' label` });
        continue;
      }
      raw.push({ id: r.id, split: r.split, value: v });
    } else {
      if (labels.attributes === undefined) {
        skipped.push({ id: r.id, reason: "no 'attributes' labels" });
        continue;
      }
      raw.push({ id: r.id, split: r.split, value: attributeTargets(labels, r.id) });
    }
  }
  const classes = opts.task === 'attributes' ? [...CELEBA_ATTRIBUTES] : classList(raw.map((r) => r.value as string), opts.classes);
  const index = new Map(classes.map((c, i) => [c, i]));
  const items: LabelledImage[] = [];
  for (const r of raw) {
    const label = typeof r.value === 'string' ? index.get(r.value) : r.value;
    if (label === undefined) {
      skipped.push({ id: r.id, reason: `class '${r.value as string}' is not one of ${classes.join(', ')}` });
      continue;
    }
    items.push({ id: r.id, path: join(root, 'faces', `${r.id}.png`), split: r.split, label });
  }
  if (items.length === 0) throw new DatasetError(`'${root}': no labelled faces (${skipped.length} rows skipped${skipped[0] ? `, e.g. ${skipped[0].id}: ${skipped[0].reason}` : ''})`);
  return { layout: 'manifest', task: opts.task, classes, items, skipped };
}

/** celebaTargets with the manifest row named in the message. */
function attributeTargets(labels: Record<string, unknown>, id: string): Uint8Array {
  try {
    return celebaTargets(labels);
  } catch (e) {
    throw new DatasetError(`manifest row '${id}': ${(e as Error).message}`);
  }
}

/** The emotion datasets' class lists in label-code order (src/pipeline/datasets). */
const KNOWN_CLASS_LISTS: readonly (readonly string[])[] = [AFFECTNET_CLASSES, CKPLUS_CLASSES, FACES_CLASSES];

/**
 * Class order: the caller's list; else the smallest known dataset list (AffectNet,
 * CK+, FACES, in their label-code order) holding every name found; else the
 * sorted names (as torchvision's ImageFolder).
 */
export function classList(names: string[], given?: readonly string[]): string[] {
  if (given !== undefined && given.length > 0) return [...given];
  const found = [...new Set(names)];
  const known = KNOWN_CLASS_LISTS.filter((l) => found.every((n) => l.includes(n))).sort((a, b) => a.length - b.length)[0];
  return known !== undefined ? [...known] : found.sort();
}

const SPLITS: Split[] = ['train', 'val', 'test'];

function fromImageFolder(root: string, opts: OpenClassifierDataOptions): ClassifierData {
  if (opts.task !== 'emotion') throw new DatasetError(`'${root}': the attributes task needs a preprocessed CelebA folder (manifest.arrow), not an ImageFolder layout`);
  const present = SPLITS.filter((s) => existsSync(join(root, s)) && statSync(join(root, s)).isDirectory());
  if (!present.includes('train') && !present.includes('val')) {
    throw new DatasetError(`'${root}' has neither manifest.arrow (ganon preprocess output) nor train/ and val/ class folders (ImageFolder layout)`);
  }
  const raw: { id: string; split: Split; cls: string }[] = [];
  for (const split of present) {
    for (const rel of listImages(join(root, split))) {
      const parts = rel.split('/');
      if (parts.length < 2) throw new DatasetError(`'${split}/${rel}': ImageFolder images must sit in a class folder (${split}/<class>/<image>)`);
      raw.push({ id: `${split}/${rel}`, split, cls: parts[0]! });
    }
  }
  const classes = classList(raw.map((r) => r.cls), opts.classes);
  const index = new Map(classes.map((c, i) => [c, i]));
  const skipped: ClassifierData['skipped'] = [];
  const items: LabelledImage[] = [];
  for (const r of raw) {
    const label = index.get(r.cls);
    if (label === undefined) skipped.push({ id: r.id, reason: `class '${r.cls}' is not one of ${classes.join(', ')}` });
    else items.push({ id: r.id, path: join(root, r.id), split: r.split, label });
  }
  if (items.length === 0) throw new DatasetError(`'${root}': no images in the class folders`);
  return { layout: 'imagefolder', task: opts.task, classes, items, skipped };
}

function withImages(data: ClassifierData, root: string, imagesDir: string): ClassifierData {
  const rel = (it: LabelledImage) => (data.layout === 'manifest' ? `${it.id}.png` : it.id);
  const m = matchMethod(data.items.map(rel), listImages(imagesDir));
  const items: LabelledImage[] = [];
  const skipped = [...data.skipped];
  for (const it of data.items) {
    const hit = m.matched.get(rel(it));
    if (hit === undefined) skipped.push({ id: it.id, reason: `no image for it in '${imagesDir}'` });
    else items.push({ ...it, path: join(imagesDir, hit) });
  }
  if (items.length === 0) throw new DatasetError(`'${imagesDir}' has no images matching the ${data.items.length} faces of '${root}' (expected names like ${rel(data.items[0]!)} or 0_${rel(data.items[0]!)})`);
  return { ...data, items, skipped };
}

export function splitItems(data: ClassifierData, split: Split): LabelledImage[] {
  return data.items.filter((i) => i.split === split);
}
