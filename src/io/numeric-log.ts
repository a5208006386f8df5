/**
 * Per-step / per-epoch logs as Arrow IPC files of numeric columns, rewritten atomically
 * (RUN/steps.arrow of the GAN, RUN/epochs.arrow of the classifiers).
 */
import { existsSync, readFileSync } from 'node:fs';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { writeFileAtomicSync } from './fs.js';

/** Writes `columns` of `rows` (Int32 for the names in `intColumns`, else Float64). */
export function writeNumericLog<K extends string>(path: string, rows: readonly Record<K, number>[], columns: readonly K[], intColumns: readonly K[]): void {
  const cols: Record<string, Float64Array | Int32Array> = {};
  for (const c of columns) cols[c] = intColumns.includes(c) ? Int32Array.from(rows.map((r) => r[c])) : Float64Array.from(rows.map((r) => r[c]));
  writeFileAtomicSync(path, tableToIPC(tableFromArrays(cols), 'file'));
}

/** The rows of an existing log (empty when there is none); a missing column reads as NaN. */
export function readNumericLog<K extends string>(path: string, columns: readonly K[]): Record<K, number>[] {
  if (!existsSync(path)) return [];
  const t = tableFromIPC(readFileSync(path));
  const rows: Record<K, number>[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const r = {} as Record<K, number>;
    for (const c of columns) r[c] = Number(t.getChild(c)?.get(i) ?? NaN);
    rows.push(r);
  }
  return rows;
}
