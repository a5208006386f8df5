/**
 * The preprocessed dataset's manifest (`OUT/manifest.arrow`, Arrow IPC file):
 * one row per face (or per input file without a face), as the pipeline issue
 * defines it. Faces live at `OUT/faces/<id>.png`; landmark images are rendered
 * from the `landmarks` column when needed.
 */
import { readFileSync } from 'node:fs';
import {
  Field, FixedSizeList, Float32, Table, Utf8, makeVector, tableFromIPC, tableToIPC, vectorFromArray,
} from 'apache-arrow';
import { DatasetError } from '../errors.js';
import { NUM_LANDMARKS } from '../pipeline/render.js';
import { writeFileAtomic } from './fs.js';

export type RowStatus = 'ok' | 'no_face' | 'error';
export type Split = 'train' | 'val' | 'test';

export interface ManifestRow {
  id: string;
  /** Path relative to the input root. */
  source: string;
  split: Split;
  /** JSON-encoded labels (dataset specific), '' when none. */
  labels: string;
  faceIndex: number;
  /** [x, y, w, h] in source pixels. */
  box: [number, number, number, number] | null;
  angle: number;
  score: number;
  status: RowStatus;
  message: string;
  /** 478 x (x, y, z), normalised to the S x S face image; null when none. */
  landmarks: Float32Array | null;
}

const LM = NUM_LANDMARKS * 3;

function listType(n: number) {
  return new FixedSizeList(n, new Field('item', new Float32(), false));
}

export function manifestTable(rows: readonly ManifestRow[]): Table {
  const col = <T>(f: (r: ManifestRow) => T) => rows.map(f);
  return new Table({
    id: vectorFromArray(col((r) => r.id), new Utf8()),
    source: vectorFromArray(col((r) => r.source), new Utf8()),
    split: vectorFromArray(col((r) => r.split), new Utf8()),
    labels: vectorFromArray(col((r) => r.labels), new Utf8()),
    face_index: makeVector(Int32Array.from(col((r) => r.faceIndex))),
    box: vectorFromArray(col((r) => (r.box ? Array.from(r.box) : null)), listType(4)),
    angle: makeVector(Float32Array.from(col((r) => r.angle))),
    score: makeVector(Float32Array.from(col((r) => r.score))),
    status: vectorFromArray(col((r) => r.status), new Utf8()),
    message: vectorFromArray(col((r) => r.message), new Utf8()),
    landmarks: vectorFromArray(col((r) => (r.landmarks ? Array.from(r.landmarks) : null)), listType(LM)),
  });
}

export async function writeManifest(path: string, rows: readonly ManifestRow[]): Promise<void> {
  await writeFileAtomic(path, tableToIPC(manifestTable(rows), 'file'));
}

const REQUIRED = ['id', 'split', 'status', 'landmarks'] as const;

export function readManifest(path: string): ManifestRow[] {
  let table: Table;
  try {
    table = tableFromIPC(readFileSync(path));
  } catch (e) {
    throw new DatasetError(`cannot read manifest '${path}': ${(e as Error).message.split('\n')[0]}`);
  }
  for (const name of REQUIRED) {
    if (table.getChild(name) === null) throw new DatasetError(`manifest '${path}' has no '${name}' column`);
  }
  const get = (name: string) => table.getChild(name);
  const rows: ManifestRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const lm = get('landmarks')!.get(i) as { toArray(): Float32Array } | null;
    const box = get('box')?.get(i) as { toArray(): Float32Array } | null | undefined;
    const b = box ? Array.from(box.toArray()) : null;
    rows.push({
      id: String(get('id')!.get(i)),
      source: String(get('source')?.get(i) ?? ''),
      split: String(get('split')!.get(i)) as Split,
      labels: String(get('labels')?.get(i) ?? ''),
      faceIndex: Number(get('face_index')?.get(i) ?? 0),
      box: b && b.length === 4 ? (b as [number, number, number, number]) : null,
      angle: Number(get('angle')?.get(i) ?? 0),
      score: Number(get('score')?.get(i) ?? 0),
      status: String(get('status')!.get(i)) as RowStatus,
      message: String(get('message')?.get(i) ?? ''),
      landmarks: lm ? Float32Array.from(lm.toArray()) : null,
    });
  }
  return rows;
}

