/** Per-step losses and throughput as an Arrow IPC file (`RUN/steps.arrow`), rewritten atomically. */
import { readNumericLog, writeNumericLog } from '../io/numeric-log.js';
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
  writeNumericLog(path, rows, COLS, ['step', 'epoch']);
}

/** Rows of an existing log (empty when there is none). */
export function readStepLog(path: string): StepRow[] {
  return readNumericLog(path, COLS) as unknown as StepRow[];
}
