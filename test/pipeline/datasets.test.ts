/**
 * The dataset readers on the tiny synthetic layouts of
 * test/fixtures/datasets/make_fixtures.mjs: items, splits, labels, identities,
 * the subject-disjoint seeded splits, determinism, and every error for
 * missing or malformed files (on temporary copies of the fixtures).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DatasetError } from '../../src/errors.js';
import { AFFECTNET_CLASSES, splitCsvLine } from '../../src/pipeline/datasets/affectnet.js';
import { CELEBA_ATTRIBUTES, celebaTargets } from '../../src/pipeline/datasets/celeba.js';
import { CKPLUS_CLASSES } from '../../src/pipeline/datasets/ckplus.js';
import { forEachLine, openDataset, subjectSplit, valCount } from '../../src/pipeline/datasets/common.js';
import { parseFacesName } from '../../src/pipeline/datasets/faces.js';
import { datasets, getDataset, type DatasetItem, type DatasetReader } from '../../src/pipeline/datasets/index.js';
import { Rng } from '../../src/util/rng.js';
import { fixtureDir } from '../helpers/fixtures.js';

const FX = join(fixtureDir, 'datasets');
const OPTS = { seed: 42, valFraction: 0.2 };
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A writable copy of one fixture. */
function copy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ganon-ds-${name}-`));
  temps.push(dir);
  cpSync(join(FX, name), dir, { recursive: true });
  return dir;
}
/** Rewrites line n (1-based) of a text file. */
function editLine(path: string, n: number, fn: (line: string) => string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[n - 1] = fn(lines[n - 1]!);
  writeFileSync(path, lines.join('\n'));
}
function list(name: keyof typeof datasets, root = join(FX, name), opts = OPTS): DatasetItem[] {
  return datasets[name].list(root, opts);
}
function expectError(fn: () => unknown, cls: typeof DatasetError | typeof ConfigError, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(pattern);
}
const by = (items: DatasetItem[]) => new Map(items.map((it) => [it.source, it]));

describe('every reader', () => {
  const names = Object.keys(datasets) as (keyof typeof datasets)[];
  it.each(names)('%s: sorted, resolvable, JSON labels, deterministic', (name) => {
    const root = join(FX, name);
    const items = list(name);
    expect(items.length).toBeGreaterThan(0);
    expect(items.map((i) => i.source)).toEqual(items.map((i) => i.source).sort());
    for (const it of items) {
      expect(it.source).not.toMatch(/\\|^\//);
      expect(it.absPath).toBe(join(root, it.source));
      expect(existsSync(it.absPath)).toBe(true);
      expect(['train', 'val', 'test']).toContain(it.split);
      expect(JSON.parse(JSON.stringify(it.labels))).toEqual(it.labels);
    }
    expect(list(name)).toEqual(items);
  });

  it('registry: names match keys, unknown names list the valid ones', () => {
    for (const [key, reader] of Object.entries(datasets)) {
      expect((reader as DatasetReader).name).toBe(key);
      expect(getDataset(key)).toBe(reader);
    }
    expectError(() => getDataset('imagenet'), ConfigError, /unknown dataset 'imagenet'; valid names: celeba, wider, affectnet, ckplus, faces, folder/);
    expectError(() => getDataset('toString'), ConfigError, /unknown dataset/);
  });

  it('rejects bad options and a missing or non-folder root', () => {
    expectError(() => list('folder', undefined, { seed: 42, valFraction: 1 }), ConfigError, /valFraction must be in \[0, 1\), got 1/);
    expectError(() => list('ckplus', undefined, { seed: 1.5, valFraction: 0.2 }), ConfigError, /seed must be an integer/);
    expectError(() => list('celeba', join(FX, 'nope')), DatasetError, /celeba: input folder '.*nope' does not exist; expected img_align_celeba/);
    expectError(() => list('folder', join(FX, 'folder', 'a.png')), DatasetError, /folder: input '.*a\.png' is not a folder/);
  });
});

describe('line reader', () => {
  it('streams lines across 1 MiB chunks, with CRLF, a BOM and multi-byte characters', () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-ds-lines-'));
    temps.push(root);
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i} é€😀 ${'x'.repeat(i % 37)}`);
    writeFileSync(join(root, 'big.txt'), '\ufeff' + lines.join('\r\n')); // ~2.6 MB, no final newline
    const got: string[] = [];
    let ordered = true;
    const n = forEachLine(openDataset('folder', root, OPTS, ''), 'big.txt', (line, no) => {
      ordered &&= no === got.length + 1;
      got.push(line);
    });
    expect(ordered).toBe(true);
    expect(n).toBe(lines.length);
    expect(got).toEqual(lines);
  });
});

describe('subject split', () => {
  it('valCount: round(n f) clamped to [1, n-1], none for f = 0 or n < 2', () => {
    expect([valCount(10, 0.2), valCount(6, 0.2), valCount(2, 0.2), valCount(1, 0.2), valCount(10, 0), valCount(3, 0.9)]).toEqual([2, 1, 1, 0, 0, 2]);
  });

  it('is the documented algorithm and ignores input order and duplicates', () => {
    const subjects = ['S010', 'S005', 'S042', 'S011', 'S022'];
    const sorted = [...subjects].sort();
    const expected = new Rng(7).permutation(5).slice(0, 2).map((i) => sorted[i]);
    expect([...subjectSplit(subjects, 7, 0.4)].sort()).toEqual(expected.sort());
    expect(subjectSplit([...subjects].reverse().concat(subjects), 7, 0.4)).toEqual(subjectSplit(subjects, 7, 0.4));
  });
});

describe('celeba', () => {
  it('lists the images on disk with partition, attributes and identity', () => {
    const items = list('celeba');
    expect(items.map((i) => i.source)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `img_align_celeba/00000${i}.jpg`));
    expect(items.map((i) => i.split)).toEqual(['train', 'train', 'train', 'val', 'test', 'test']);
    expect(items.map((i) => i.identity)).toEqual(['2880', '2937', '8692', '5805', '9295', '4153']);
    const a = items[0]!.labels.attributes as Record<string, number>;
    expect(Object.keys(a)).toEqual(CELEBA_ATTRIBUTES);
    expect(CELEBA_ATTRIBUTES).toHaveLength(40);
    // Row i, attribute j is 1 when (7i + 3j) % 5 < 2 (make_fixtures.mjs); -1 is stored as 0.
    items.forEach((it, i) => {
      const attrs = it.labels.attributes as Record<string, number>;
      CELEBA_ATTRIBUTES.forEach((name, j) => expect(attrs[name]).toBe((7 * i + 3 * j) % 5 < 2 ? 1 : 0));
    });
    expect([a['5_o_Clock_Shadow'], a.Male, a.Smiling, a.Young]).toEqual([1, 1, 0, 0]);
    expect(datasets.celeba.classes).toEqual(CELEBA_ATTRIBUTES);
  });

  it.each(['list_eval_partition.txt', 'list_attr_celeba.txt', 'identity_CelebA.txt'])('missing %s', (file) => {
    const root = copy('celeba');
    unlinkSync(join(root, file));
    expectError(() => list('celeba', root), DatasetError, new RegExp(`celeba: missing file '${file}' in .*; expected img_align_celeba/000001\\.jpg.*datasets/celeba/README\\.md`));
  });

  it('missing or empty image folder', () => {
    const root = copy('celeba');
    rmSync(join(root, 'img_align_celeba'), { recursive: true });
    expectError(() => list('celeba', root), DatasetError, /celeba: missing folder 'img_align_celeba\/'/);
    mkdirSync(join(root, 'img_align_celeba'));
    expectError(() => list('celeba', root), DatasetError, /celeba: no images in img_align_celeba\/ found/);
  });

  it('malformed lines name the file and line', () => {
    let root = copy('celeba');
    editLine(join(root, 'list_attr_celeba.txt'), 5, (l) => l.replace(/-?1$/, '2'));
    expectError(() => list('celeba', root), DatasetError, /celeba: malformed list_attr_celeba\.txt line 5: value 40 \(Young\) is not -1 or 1/);
    root = copy('celeba');
    editLine(join(root, 'list_attr_celeba.txt'), 4, (l) => l.replace(/ -?1$/, ''));
    expectError(() => list('celeba', root), DatasetError, /list_attr_celeba\.txt line 4: expected 'FILE' and 40 values of -1 or 1 \(found 39\)/);
    root = copy('celeba');
    editLine(join(root, 'list_attr_celeba.txt'), 2, (l) => l.replace('Male', 'Man'));
    expectError(() => list('celeba', root), DatasetError, /list_attr_celeba\.txt line 2: expected the 40 attribute names/);
    root = copy('celeba');
    editLine(join(root, 'list_attr_celeba.txt'), 1, () => '9');
    expectError(() => list('celeba', root), DatasetError, /list_attr_celeba\.txt line 1 declares 9 rows but the file has 8/);
    root = copy('celeba');
    editLine(join(root, 'list_eval_partition.txt'), 3, () => '000003.jpg 3');
    expectError(() => list('celeba', root), DatasetError, /malformed list_eval_partition\.txt line 3: expected 'FILE PARTITION \(0, 1 or 2\)', got '000003\.jpg 3'/);
    root = copy('celeba');
    editLine(join(root, 'identity_CelebA.txt'), 2, () => '000001.jpg 17');
    expectError(() => list('celeba', root), DatasetError, /identity_CelebA\.txt line 2: '000001\.jpg' is listed twice/);
  });

  it('classifier targets: 40 values of 0/1 in the file\'s column order', () => {
    const items = list('celeba');
    items.forEach((it, i) => {
      const t = celebaTargets(it.labels);
      expect(t).toBeInstanceOf(Uint8Array);
      // the file's row i has 1 where (7i + 3j) % 5 < 2 and -1 elsewhere (make_fixtures.mjs)
      expect(Array.from(t)).toEqual(CELEBA_ATTRIBUTES.map((_, j) => ((7 * i + 3 * j) % 5 < 2 ? 1 : 0)));
    });
    // the same from the manifest's JSON, with -1 read as 0
    const json = JSON.parse(JSON.stringify({ attributes: { ...(items[0]!.labels.attributes as object), Young: -1, Male: 1 } })) as unknown;
    const t = celebaTargets(json);
    expect([t[20], t[39]]).toEqual([1, 0]);
    const { Smiling: _s, ...without } = items[0]!.labels.attributes as Record<string, number>;
    expect(() => celebaTargets({ attributes: without })).toThrow(/celeba: attribute 'Smiling' is missing, expected 0 or 1/);
    expect(() => celebaTargets({ attributes: { ...without, Smiling: 'yes' } })).toThrow(/attribute 'Smiling' is "yes"/);
    expect(() => celebaTargets({})).toThrow(DatasetError);
  });

  it('attribute rows with an unknown value or a wrong column count name the line', () => {
    let root = copy('celeba');
    // 0 is not a CelebA value (the file has -1/1): a converted file is rejected, not misread
    editLine(join(root, 'list_attr_celeba.txt'), 3, (l) => l.replace(/^(\S+\s+)-?1/, '$10'));
    expectError(() => list('celeba', root), DatasetError, /malformed list_attr_celeba\.txt line 3: value 1 \(5_o_Clock_Shadow\) is not -1 or 1/);
    root = copy('celeba');
    editLine(join(root, 'list_attr_celeba.txt'), 6, (l) => l.replace(/(\S+)\s+/, '$1 x '));
    expectError(() => list('celeba', root), DatasetError, /list_attr_celeba\.txt line 6: .*found 41/);
    root = copy('celeba');
    editLine(join(root, 'list_attr_celeba.txt'), 7, (l) => l.split(/\s+/).slice(0, 30).join(' '));
    expectError(() => list('celeba', root), DatasetError, /list_attr_celeba\.txt line 7: expected 'FILE' and 40 values of -1 or 1 \(found 29\)/);
  });

  it('an image without a label row', () => {
    const root = copy('celeba');
    cpSync(join(root, 'img_align_celeba/000001.jpg'), join(root, 'img_align_celeba/000009.jpg'));
    expectError(() => list('celeba', root), DatasetError, /celeba: image 'img_align_celeba\/000009\.jpg' has no row in list_eval_partition\.txt/);
  });
});

describe('wider', () => {
  it('lists train and val images with event and boxes; WIDER_test is not read', () => {
    const items = list('wider');
    expect(items.map((i) => [i.source, i.split])).toEqual([
      ['WIDER_train/images/0--Parade/0_Parade_Parade_0_904.jpg', 'train'],
      ['WIDER_train/images/0--Parade/0_Parade_marchingband_1_849.jpg', 'train'],
      ['WIDER_train/images/1--Handshaking/1_Handshaking_Handshaking_1_35.jpg', 'train'],
      ['WIDER_train/images/1--Handshaking/1_Handshaking_Handshaking_1_94.jpg', 'train'],
      ['WIDER_val/images/0--Parade/0_Parade_marchingband_1_465.jpg', 'val'],
      ['WIDER_val/images/2--Demonstration/2_Demonstration_Demonstration_Or_Protest_2_58.jpg', 'val'],
    ]);
    const m = by(items);
    expect(m.get('WIDER_train/images/0--Parade/0_Parade_marchingband_1_849.jpg')!.labels).toEqual({ event: '0--Parade', boxes: [[449, 330, 122, 149]] });
    expect(m.get('WIDER_train/images/1--Handshaking/1_Handshaking_Handshaking_1_35.jpg')!.labels).toEqual({ event: '1--Handshaking', boxes: [] });
    expect(m.get('WIDER_train/images/1--Handshaking/1_Handshaking_Handshaking_1_94.jpg')!.labels.boxes).toEqual([[78, 221, 7, 8], [78, 238, 14, 17]]);
    expect(m.get('WIDER_val/images/0--Parade/0_Parade_marchingband_1_465.jpg')!.labels.boxes).toHaveLength(3);
    expect(items.every((i) => i.identity === undefined)).toBe(true);
  });

  it('reads one half alone, and a 0 count without its all-zero line', () => {
    const root = copy('wider');
    rmSync(join(root, 'WIDER_val'), { recursive: true });
    editLine(join(root, 'wider_face_split/wider_face_train_bbx_gt.txt'), 9, () => '');
    expect(list('wider', root).map((i) => i.split)).toEqual(['train', 'train', 'train', 'train']);
  });

  it('missing folders and box files', () => {
    let root = copy('wider');
    unlinkSync(join(root, 'wider_face_split/wider_face_val_bbx_gt.txt'));
    expectError(() => list('wider', root), DatasetError, /wider: missing file 'wider_face_split\/wider_face_val_bbx_gt\.txt' in .*; expected WIDER_train\/images\/<event>\/\*\.jpg/);
    root = copy('wider');
    rmSync(join(root, 'WIDER_train'), { recursive: true });
    rmSync(join(root, 'WIDER_val'), { recursive: true });
    expectError(() => list('wider', root), DatasetError, /wider: missing folder 'WIDER_train\/'/);
    root = copy('wider');
    rmSync(join(root, 'WIDER_val/images'), { recursive: true });
    expectError(() => list('wider', root), DatasetError, /wider: missing folder 'WIDER_val\/images\/'/);
  });

  it('malformed box files name the file and line', () => {
    const gt = 'wider_face_split/wider_face_train_bbx_gt.txt';
    let root = copy('wider');
    editLine(join(root, gt), 5, () => 'one');
    expectError(() => list('wider', root), DatasetError, /wider: malformed wider_face_split\/wider_face_train_bbx_gt\.txt line 5: expected the face count of '0--Parade\/0_Parade_Parade_0_904\.jpg', got 'one'/);
    root = copy('wider');
    editLine(join(root, gt), 12, () => '78 221 7 8 2 0 0 0 0');
    expectError(() => list('wider', root), DatasetError, /wider_face_train_bbx_gt\.txt line 12: expected 10 numbers 'x y w h blur expression illumination invalid occlusion pose'/);
    root = copy('wider');
    editLine(join(root, gt), 9, () => '1 0 0 0 0 0 0 0 0 0');
    expectError(() => list('wider', root), DatasetError, /wider_face_train_bbx_gt\.txt line 9: a face count of 0 must be followed by one all-zero line/);
    root = copy('wider');
    editLine(join(root, gt), 1, () => '0--Parade/readme.txt');
    expectError(() => list('wider', root), DatasetError, /wider_face_train_bbx_gt\.txt line 1: expected an image path/);
    root = copy('wider');
    writeFileSync(join(root, gt), readFileSync(join(root, gt), 'utf8').split('\n').slice(0, 12).join('\n'));
    expectError(() => list('wider', root), DatasetError, /wider: wider_face_split\/wider_face_train_bbx_gt\.txt ends inside the entry of '1--Handshaking\/1_Handshaking_Handshaking_1_94\.jpg' \(line 10\): expected its 1 more box line/);
  });

  it('an image without an entry', () => {
    const root = copy('wider');
    cpSync(join(root, 'WIDER_val/images/0--Parade/0_Parade_marchingband_1_465.jpg'), join(root, 'WIDER_val/images/0--Parade/extra.jpg'));
    expectError(() => list('wider', root), DatasetError, /wider: image 'WIDER_val\/images\/0--Parade\/extra\.jpg' has no entry '0--Parade\/extra\.jpg' in wider_face_split\/wider_face_val_bbx_gt\.txt/);
  });
});

describe('affectnet', () => {
  interface Row { path: string; code: number }
  const expected = JSON.parse(readFileSync(join(FX, 'affectnet/expected.json'), 'utf8')) as { train: Row[]; val: Row[]; missing: Row };

  it('maps AffectNet codes to their own names, drops codes 8-10 and rows without images', () => {
    expect(AFFECTNET_CLASSES).toEqual(['Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger', 'Contempt']);
    const items = list('affectnet');
    const want = [...expected.train.map((r) => ({ ...r, split: 'train' })), ...expected.val.map((r) => ({ ...r, split: 'val' }))]
      .filter((r) => r.code <= 7)
      .map((r) => ({ source: `Manually_Annotated_Images/${r.path}`, split: r.split, labels: { expression: r.code, emotion: AFFECTNET_CLASSES[r.code] } }))
      .sort((a, b) => (a.source < b.source ? -1 : 1));
    expect(items.map((i) => ({ source: i.source, split: i.split, labels: i.labels }))).toEqual(want);
    expect(items).toHaveLength(11);
    const codes = items.filter((i) => i.split === 'train').map((i) => i.labels.expression);
    expect(codes.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const byCode = new Map(items.map((i) => [i.labels.expression, i.labels.emotion]));
    expect([byCode.get(6), byCode.get(7), byCode.get(1), byCode.get(4)]).toEqual(['Anger', 'Contempt', 'Happy', 'Fear']);
    expect(items.some((i) => i.source.includes(expected.missing.path) || i.source.startsWith('Manually_Annotated_Images/999/'))).toBe(false);
  });

  it('also finds the CSVs in the root', () => {
    const root = copy('affectnet');
    for (const f of ['training.csv', 'validation.csv']) renameSync(join(root, 'Manually_Annotated_file_lists', f), join(root, f));
    rmSync(join(root, 'Manually_Annotated_file_lists'), { recursive: true });
    expect(list('affectnet', root).map((i) => i.source)).toEqual(list('affectnet').map((i) => i.source));
  });

  it('missing folder or CSV', () => {
    let root = copy('affectnet');
    unlinkSync(join(root, 'Manually_Annotated_file_lists/validation.csv'));
    expectError(() => list('affectnet', root), DatasetError, /affectnet: missing file 'Manually_Annotated_file_lists\/validation\.csv' in .*; expected Manually_Annotated_Images\/<subDirectory>\/<file>\.jpg/);
    root = copy('affectnet');
    rmSync(join(root, 'Manually_Annotated_Images'), { recursive: true });
    expectError(() => list('affectnet', root), DatasetError, /affectnet: missing folder 'Manually_Annotated_Images\/'/);
  });

  it('malformed rows name the file and line', () => {
    const csv = 'Manually_Annotated_file_lists/training.csv';
    let root = copy('affectnet');
    editLine(join(root, csv), 3, (l) => l.replace(',1,', ',happy,'));
    expectError(() => list('affectnet', root), DatasetError, /affectnet: malformed Manually_Annotated_file_lists\/training\.csv line 3: expected an integer expression code \(0-10\)/);
    root = copy('affectnet');
    editLine(join(root, csv), 4, (l) => l.replace(',134,134,', ',134,'));
    expectError(() => list('affectnet', root), DatasetError, /training\.csv line 4: expected 9 comma-separated fields \(found 8\)/);
    root = copy('affectnet');
    editLine(join(root, csv), 2, (l) => `../${l}`);
    expectError(() => list('affectnet', root), DatasetError, /training\.csv line 2: expected a relative image path/);
    root = copy('affectnet');
    const first = readFileSync(join(root, csv), 'utf8').split('\n')[1]!;
    writeFileSync(join(root, 'Manually_Annotated_file_lists/validation.csv'), first + '\n');
    expectError(() => list('affectnet', root), DatasetError, /validation\.csv line 1: '.*' is already listed in Manually_Annotated_file_lists\/training\.csv line 2/);
    root = copy('affectnet');
    editLine(join(root, csv), 1, (l) => l.replace('expression', 'emotion'));
    expectError(() => list('affectnet', root), DatasetError, /training\.csv line 1: header has no 'expression' column/);
  });

  it('splits quoted CSV fields', () => {
    expect(splitCsvLine('a,"b,c",,"d""e"')).toEqual(['a', 'b,c', '', 'd"e']);
    expect(splitCsvLine('"open')).toBeNull();
  });
});

describe('ckplus', () => {
  const items = list('ckplus');

  it('one item per labelled sequence: its last frame, labelled and with the subject', () => {
    expect(items).toHaveLength(12);
    const m = by(items);
    const s005 = m.get('cohn-kanade-images/S005/001/S005_001_00000003.png')!;
    expect(s005.labels).toEqual({ emotion: 'disgust', code: 3 });
    expect(s005.identity).toBe('S005');
    expect(m.get('cohn-kanade-images/S010/001/S010_001_00000002.png')!.labels).toEqual({ emotion: 'surprise', code: 7 });
    expect(m.get('cohn-kanade-images/S042/002/S042_002_00000003.png')!.labels).toEqual({ emotion: 'disgust', code: 3 });
    expect(items.some((i) => i.source.includes('/S010/002/') || i.source.includes('/S010/003/'))).toBe(false);
    for (const it of items) {
      expect(it.labels.emotion).toBe(CKPLUS_CLASSES[(it.labels.code as number) - 1]);
      expect(it.source.startsWith(`cohn-kanade-images/${it.identity}/`)).toBe(true);
    }
    expect(CKPLUS_CLASSES).toEqual(['anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise']);
  });

  it('holds out 20% of subjects, no subject in both splits, fixed for a seed', () => {
    const val = new Set(items.filter((i) => i.split === 'val').map((i) => i.identity));
    const train = new Set(items.filter((i) => i.split === 'train').map((i) => i.identity));
    expect(val.size).toBe(2); // 10 subjects
    expect([...val].filter((s) => train.has(s))).toEqual([]);
    expect(val).toEqual(subjectSplit(items.map((i) => i.identity!), 42, 0.2));
    expect([...val].sort()).toEqual(['S010', 'S014']); // seed 42; changes only if the documented algorithm does
    const splits = new Set([0, 1, 2, 3, 4, 5].map((seed) => JSON.stringify(list('ckplus', undefined, { seed, valFraction: 0.2 }).map((i) => i.split))));
    expect(splits.size).toBeGreaterThan(1);
    expect(list('ckplus', undefined, { seed: 42, valFraction: 0 }).every((i) => i.split === 'train')).toBe(true);
  });

  it('missing folders and image-less labelled sequences', () => {
    let root = copy('ckplus');
    rmSync(join(root, 'Emotion'), { recursive: true });
    expectError(() => list('ckplus', root), DatasetError, /ckplus: missing folder 'Emotion\/' in .*; expected cohn-kanade-images\/S005\/001\/S005_001_00000001\.png/);
    root = copy('ckplus');
    rmSync(join(root, 'cohn-kanade-images/S011/002'), { recursive: true });
    expectError(() => list('ckplus', root), DatasetError, /ckplus: 'Emotion\/S011\/002\/S011_002_00000002_emotion\.txt' labels a sequence but folder 'cohn-kanade-images\/S011\/002\/' is missing/);
    root = copy('ckplus');
    rmSync(join(root, 'Emotion'), { recursive: true });
    mkdirSync(join(root, 'Emotion'));
    expectError(() => list('ckplus', root), DatasetError, /ckplus: no labelled sequences/);
  });

  it('malformed emotion files name the file and line', () => {
    const f = 'Emotion/S005/001/S005_001_00000003_emotion.txt';
    const cases: [string, RegExp][] = [
      ['   8.0000000e+00\n', /ckplus: malformed Emotion\/S005\/001\/S005_001_00000003_emotion\.txt line 1: expected an emotion code 1-7/],
      ['\n   2.5\n', /_emotion\.txt line 2: expected an emotion code 1-7 \(1 anger \.\.\. 7 surprise\), got '   2\.5'/],
      ['3\n4\n', /_emotion\.txt line 2: expected a single emotion code/],
      ['', /_emotion\.txt line 1: expected an emotion code 1-7, the file is empty/],
    ];
    for (const [body, pattern] of cases) {
      const root = copy('ckplus');
      writeFileSync(join(root, f), body);
      expectError(() => list('ckplus', root), DatasetError, pattern);
    }
    const root = copy('ckplus');
    writeFileSync(join(root, 'Emotion/S005/001/S005_001_00000002_emotion.txt'), '3\n');
    expectError(() => list('ckplus', root), DatasetError, /ckplus: 'Emotion\/S005\/001\/' has 2 \*_emotion\.txt files, expected at most one/);
  });
});

describe('faces', () => {
  const items = list('faces');

  it('labels from the file name, the person as identity', () => {
    expect(items).toHaveLength(38);
    const m = by(items);
    expect(m.get('004_o_m_a_a.jpg')!.labels).toEqual({ emotion: 'anger', age: 'old', gender: 'male', set: 'a' });
    expect(m.get('140_y_f_h_a.jpg')!.labels).toEqual({ emotion: 'happy', age: 'young', gender: 'female', set: 'a' });
    expect(m.get('116_m_m_s_a.jpg')!.labels).toEqual({ emotion: 'sad', age: 'middle', gender: 'male', set: 'a' });
    expect(m.get('004_o_m_n_b.jpg')!.labels).toMatchObject({ emotion: 'neutral', set: 'b' });
    expect(m.get('168_m_f_d_a.jpg')!.identity).toBe('168');
    expect(new Set(items.map((i) => i.labels.emotion))).toEqual(new Set(datasets.faces.classes));
    expect(new Set(items.map((i) => `${i.labels.age}/${i.labels.gender}`)).size).toBe(6);
    expect(parseFacesName('004_o_m_f_a.jpg')).toEqual({ id: '004', age: 'old', gender: 'male', emotion: 'fear', set: 'a' });
    expect(parseFacesName('004_x_m_f_a.jpg')).toBeNull();
  });

  it('holds out a seeded share of the people, disjoint from train', () => {
    const val = new Set(items.filter((i) => i.split === 'val').map((i) => i.identity));
    const train = new Set(items.filter((i) => i.split === 'train').map((i) => i.identity));
    expect(val.size).toBe(1); // round(6 * 0.2)
    expect(train.size).toBe(5);
    expect([...val].filter((s) => train.has(s))).toEqual([]);
    expect(list('faces')).toEqual(items);
    const half = list('faces', undefined, { seed: 3, valFraction: 0.5 });
    expect(new Set(half.filter((i) => i.split === 'val').map((i) => i.identity)).size).toBe(3);
  });

  it('refuses names off the scheme, inconsistent people and empty folders', () => {
    let root = copy('faces');
    cpSync(join(root, '004_o_m_a_a.jpg'), join(root, 'portrait.jpg'));
    expectError(() => list('faces', root), DatasetError, /faces: 'portrait\.jpg' does not follow the FACES naming; expected images named ID_AGE_GENDER_EMOTION_SET\.jpg \(e\.g\. 004_o_m_a_a\.jpg/);
    root = copy('faces');
    cpSync(join(root, '004_o_m_a_a.jpg'), join(root, '004_y_m_a_b.jpg'));
    expectError(() => list('faces', root), DatasetError, /faces: person 004 is old\/male in '004_o_m_a_a\.jpg' but young\/male in '004_y_m_a_b\.jpg'/);
    root = mkdtempSync(join(tmpdir(), 'ganon-ds-empty-'));
    temps.push(root);
    expectError(() => list('faces', root), DatasetError, /faces: no FACES images found/);
  });
});

describe('folder', () => {
  it('every image, recursively, split train, no labels; dot entries and non-images skipped', () => {
    const items = list('folder');
    expect(items.map((i) => i.source)).toEqual(['UPPER.JPG', 'a.png', 'sub/b.jpg', 'sub/deeper/c.jpeg']);
    expect(items.every((i) => i.split === 'train' && Object.keys(i.labels).length === 0 && i.identity === undefined)).toBe(true);
    expect(datasets.folder.classes).toBeUndefined();
  });

  it('survives a symlink loop and keeps a broken image link (an error row downstream)', () => {
    const root = copy('folder');
    symlinkSync('.', join(root, 'sub', 'loop'));
    symlinkSync('gone.png', join(root, 'broken.png'));
    expect(list('folder', root).map((i) => i.source)).toEqual(['UPPER.JPG', 'a.png', 'broken.png', 'sub/b.jpg', 'sub/deeper/c.jpeg']);
  });

  it('an image-less folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-ds-empty-'));
    temps.push(root);
    writeFileSync(join(root, 'notes.txt'), 'x');
    expectError(() => list('folder', root), DatasetError, /folder: no images found in '.*'; expected any folder tree with image files \(\.jpg/);
  });
});
