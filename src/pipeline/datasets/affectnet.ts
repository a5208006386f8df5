/**
 * AffectNet (Mollahosseini et al., IEEE TAC 2017), manually annotated part:
 * Manually_Annotated_Images/<subDirectory_filePath> labelled by
 * Manually_Annotated_file_lists/{training,validation}.csv (or the two CSVs in
 * the root). Labels come from AffectNet's own expression codes; rows with
 * codes 8 (None), 9 (Uncertain) and 10 (No-Face) are dropped. The reference
 * filled alphabetically ordered columns by code, which mislabels all but two
 * classes; here the code is the label and `classes[code]` its name.
 */
import { DatasetError } from '../../errors.js';
import type { Split } from '../../io/manifest.js';
import { type Ctx, finish, forEachLine, makeItem, malformed, openDataset, pathKind, requirePath, walkImages } from './common.js';
import type { DatasetItem, DatasetReader, ListOptions } from './types.js';

/** Expression names in code order (0..7). */
export const AFFECTNET_CLASSES = ['Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger', 'Contempt'];

/** The released column order, used when a CSV has no header line (some copies of validation.csv). */
export const AFFECTNET_COLUMNS = [
  'subDirectory_filePath', 'face_x', 'face_y', 'face_width', 'face_height', 'facial_landmarks', 'expression', 'valence', 'arousal',
];
const IMAGES = 'Manually_Annotated_Images';
const LISTS = 'Manually_Annotated_file_lists';
const CSVS: { file: string; split: Split }[] = [{ file: 'training.csv', split: 'train' }, { file: 'validation.csv', split: 'val' }];
const LAYOUT = `${IMAGES}/<subDirectory>/<file>.jpg and ${LISTS}/training.csv + validation.csv (columns ${AFFECTNET_COLUMNS.join(',')})`;

/** Splits one CSV line; fields may be double-quoted ("" is a quote). Null for an unterminated quote. */
export function splitCsvLine(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let s = '';
      for (i++; ; i++) {
        if (i >= line.length) return null;
        if (line[i] === '"') {
          if (line[i + 1] !== '"') break;
          i++;
        }
        s += line[i];
      }
      i++;
      out.push(s);
      if (i < line.length && line[i] !== ',') return null;
    } else {
      const j = line.indexOf(',', i);
      out.push(line.slice(i, j === -1 ? line.length : j));
      i = j === -1 ? line.length : j;
    }
    if (i >= line.length) return out;
    i++; // the comma
  }
}

interface Row {
  split: Split;
  code: number;
  file: string;
  line: number;
}

function readCsv(ctx: Ctx, rel: string, split: Split, rows: Map<string, Row>): void {
  let codeCol = AFFECTNET_COLUMNS.indexOf('expression');
  let width = AFFECTNET_COLUMNS.length;
  forEachLine(ctx, rel, (line, n) => {
    if (line.trim() === '') return;
    const f = splitCsvLine(line);
    if (!f) throw malformed(ctx, rel, n, 'unterminated quoted field', line);
    if (n === 1 && f[0] === AFFECTNET_COLUMNS[0]) {
      codeCol = f.indexOf('expression');
      width = f.length;
      if (codeCol < 0) throw malformed(ctx, rel, n, `header has no 'expression' column`, line);
      return;
    }
    if (f.length !== width) throw malformed(ctx, rel, n, `expected ${width} comma-separated fields (found ${f.length})`, line);
    const path = f[0]!.trim().replace(/\\/g, '/');
    if (path === '' || path.startsWith('/') || path.split('/').includes('..')) {
      throw malformed(ctx, rel, n, `expected a relative image path 'subDirectory/file.jpg' in the first field`, line);
    }
    const code = f[codeCol]!.trim();
    if (!/^\d+$/.test(code)) throw malformed(ctx, rel, n, 'expected an integer expression code (0-10)', line);
    const prev = rows.get(path);
    if (prev) throw malformed(ctx, rel, n, `'${path}' is already listed in ${prev.file} line ${prev.line}`, line);
    rows.set(path, { split, code: Number(code), file: rel, line: n });
  });
}

function listAffectNet(root: string, opts: ListOptions): DatasetItem[] {
  const ctx = openDataset('affectnet', root, opts, LAYOUT);
  requirePath(ctx, IMAGES, 'dir');
  // The CSVs live in Manually_Annotated_file_lists/, or in the root when only there.
  const inRoot = pathKind(ctx, 'training.csv') === 'file' && pathKind(ctx, `${LISTS}/training.csv`) !== 'file';
  const dir = inRoot ? '' : `${LISTS}/`;
  const rows = new Map<string, Row>();
  for (const c of CSVS) requirePath(ctx, dir + c.file, 'file');
  for (const c of CSVS) readCsv(ctx, dir + c.file, c.split, rows);
  const items: DatasetItem[] = [];
  for (const source of walkImages(ctx, IMAGES)) {
    const row = rows.get(source.slice(IMAGES.length + 1));
    // Images without a row, and rows with codes 8-10, are not items.
    if (!row || row.code >= AFFECTNET_CLASSES.length) continue;
    items.push(makeItem(ctx, source, row.split, { expression: row.code, emotion: AFFECTNET_CLASSES[row.code] }));
  }
  if (items.length === 0) {
    throw new DatasetError(`affectnet: none of the ${rows.size} rows of ${dir}training.csv/validation.csv has code 0-7 and its image under ${IMAGES}/ in '${ctx.root}'`);
  }
  return finish(ctx, items, 'labelled images');
}

export const affectnet: DatasetReader = { name: 'affectnet', classes: AFFECTNET_CLASSES, list: listAffectNet };
