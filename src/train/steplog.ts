/** Per-step losses and throughput as an Arrow IPC file (`RUN/steps.arrow`), rewritten atomically. */
import { existsSync, readFileSync } from 'node:fs';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { writeFileAtomicSync } from '../io/fs.js';
import type { Losses } from './step.js';

export interface StepRow extends Losses {
  step: number;
  epoch: number;
  imgPerSec: number;
  /** Wall-clock seconds since the Unix epoch when the step ended. */
  time: number;
}

const COLS = ['step', 'epoch', 'G', 'G_adv', 'G_L1', 'D', 'imgPerSec', 'time'] as const;

export function writeStepLog(path: string, rows: readonly StepRow[]): void {
  const cols: Record<string, Float64Array | Int32Array> = {};
  for (const c of COLS) {
    cols[c] = c === 'step' || c === 'epoch' ? Int32Array.from(rows.map((r) => r[c])) : Float64Array.from(rows.map((r) => r[c]));
  }
  writeFileAtomicSync(path, tableToIPC(tableFromArrays(cols), 'file'));
}

/** Rows of an existing log (empty when there is none). */
export function readStepLog(path: string): StepRow[] {
  if (!existsSync(path)) return [];
  const t = tableFromIPC(readFileSync(path));
  const rows: StepRow[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const r: Record<string, number> = {};
    for (const c of COLS) r[c] = Number(t.getChild(c)?.get(i) ?? NaN);
    rows.push(r as unknown as StepRow);
  }
  return rows;
}
