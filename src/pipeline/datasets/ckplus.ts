/**
 * CK+ (Lucey et al., CVPR Workshops 2010): cohn-kanade-images/S###/###/*.png
 * sequences from neutral to peak, and Emotion/S###/###/*_emotion.txt for the
 * labelled sequences (one float, 1..7). One item per labelled sequence: its
 * peak, i.e. the last frame by file name. Unlabelled sequences are not items.
 * CK+ has no split of its own: a seeded share of subjects becomes 'val'
 * (common.ts subjectSplit), so no subject is in both splits.
 */
import { DatasetError } from '../../errors.js';
import { type Ctx, finish, forEachLine, isImageName, listDir, makeItem, malformed, openDataset, pathKind, requirePath, splitBySubject } from './common.js';
import type { DatasetItem, DatasetReader, ListOptions } from './types.js';

/** Emotion names in code order: classes[code - 1]. */
export const CKPLUS_CLASSES = ['anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise'];

const IMAGES = 'cohn-kanade-images';
const EMOTION = 'Emotion';
const LAYOUT = `${IMAGES}/S005/001/S005_001_00000001.png... and ${EMOTION}/S005/001/S005_001_00000011_emotion.txt (one number 1-7)`;

/** The code in an *_emotion.txt file: one number, an integer 1..7 (written like '   3.0000000e+00'). */
function readCode(ctx: Ctx, rel: string): number {
  let code = 0; // none yet
  const lines = forEachLine(ctx, rel, (line, n) => {
    const s = line.trim();
    if (s === '') return;
    const v = Number(s);
    if (code !== 0) throw malformed(ctx, rel, n, 'expected a single emotion code', line);
    if (!/^[-+0-9.eE]+$/.test(s) || !Number.isInteger(v) || v < 1 || v > CKPLUS_CLASSES.length) {
      throw malformed(ctx, rel, n, 'expected an emotion code 1-7 (1 anger ... 7 surprise)', line);
    }
    code = v;
  });
  if (code === 0) throw malformed(ctx, rel, Math.max(1, lines), 'expected an emotion code 1-7, the file is empty', '');
  return code;
}

/** The labelled sequence's item: its last frame, labelled with the code. */
function sequenceItem(ctx: Ctx, subject: string, seq: string, labelFile: string): DatasetItem {
  const labelRel = `${EMOTION}/${subject}/${seq}/${labelFile}`;
  const code = readCode(ctx, labelRel);
  const dir = `${IMAGES}/${subject}/${seq}`;
  if (pathKind(ctx, dir) !== 'dir') throw new DatasetError(`ckplus: '${labelRel}' labels a sequence but folder '${dir}/' is missing`);
  const frames = listDir(ctx, dir).filter((e) => e.kind === 'file' && isImageName(e.name));
  const peak = frames[frames.length - 1];
  if (!peak) throw new DatasetError(`ckplus: '${labelRel}' labels a sequence but '${dir}/' has no images`);
  return makeItem(ctx, `${dir}/${peak.name}`, 'train', { emotion: CKPLUS_CLASSES[code - 1], code }, subject);
}

function listCkPlus(root: string, opts: ListOptions): DatasetItem[] {
  const ctx = openDataset('ckplus', root, opts, LAYOUT);
  requirePath(ctx, IMAGES, 'dir');
  requirePath(ctx, EMOTION, 'dir');
  const items: DatasetItem[] = [];
  for (const subject of listDir(ctx, EMOTION).filter((e) => e.kind === 'dir')) {
    for (const seq of listDir(ctx, `${EMOTION}/${subject.name}`).filter((e) => e.kind === 'dir')) {
      const seqRel = `${EMOTION}/${subject.name}/${seq.name}`;
      const labels = listDir(ctx, seqRel).filter((e) => e.kind === 'file' && e.name.endsWith('_emotion.txt'));
      if (labels.length > 1) throw new DatasetError(`ckplus: '${seqRel}/' has ${labels.length} *_emotion.txt files, expected at most one`);
      if (labels.length === 1) items.push(sequenceItem(ctx, subject.name, seq.name, labels[0]!.name));
    }
  }
  return finish(ctx, splitBySubject(items, opts), `labelled sequences (${EMOTION}/S###/###/*_emotion.txt)`);
}

export const ckplus: DatasetReader = { name: 'ckplus', classes: CKPLUS_CLASSES, list: listCkPlus };
