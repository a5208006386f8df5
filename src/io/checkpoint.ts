/**
 * Training checkpoints: one directory per checkpoint, written under a temp
 * name and renamed into place (atomic), holding
 *   generator.safetensors      G weights, PyTorch names and layouts
 *   discriminator.safetensors  D weights, likewise
 *   optimizer.safetensors      Adam m/v for G (`G.m.*`, `G.v.*`) and D
 *   state.json                 step, epoch, position, Adam step counts, the
 *                              resolved config, toolkit version, git commit, backend
 * `RUN/checkpoints/step-00001234/`. Only complete directories (with state.json)
 * count; the newest K step checkpoints are kept.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from './safetensors.js';

export interface CheckpointState {
  step: number;
  epoch: number;
  /** Position in the epoch's permutation of the next example. */
  pos: number;
  adamStepG: number;
  adamStepD: number;
  config: unknown;
  toolkitVersion: string;
  gitCommit: string;
  backend: string;
  createdAt: string;
  losses?: Record<string, number>;
}

export interface CheckpointTensors {
  generator: TensorMap;
  discriminator: TensorMap;
  optimizer: TensorMap;
}

export const CHECKPOINT_DIR = 'checkpoints';

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

export function writeCheckpoint(runDir: string, state: CheckpointState, t: CheckpointTensors): string {
  const root = join(runDir, CHECKPOINT_DIR);
  mkdirSync(root, { recursive: true });
  const final = join(root, checkpointName(state.step));
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const meta = { format: 'ganon-checkpoint-v1', step: String(state.step) };
  writeFileSync(join(tmp, 'generator.safetensors'), encodeSafetensors(t.generator, { ...meta, network: 'unet' }));
  writeFileSync(join(tmp, 'discriminator.safetensors'), encodeSafetensors(t.discriminator, { ...meta, network: 'patchgan' }));
  writeFileSync(join(tmp, 'optimizer.safetensors'), encodeSafetensors(t.optimizer, meta));
  writeFileSync(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  return final;
}

/** Complete checkpoints, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const root = join(runDir, CHECKPOINT_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => /^step-(\d{8})$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(root, m[0], 'state.json')))
    .map((m) => ({ step: Number(m[1]), dir: join(root, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export function pruneCheckpoints(runDir: string, keep: number): void {
  const all = listCheckpoints(runDir);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) rmSync(c.dir, { recursive: true, force: true });
  // Leftovers of an interrupted write are never valid checkpoints.
  const root = join(runDir, CHECKPOINT_DIR);
  if (existsSync(root)) for (const n of readdirSync(root)) if (n.includes('.tmp-')) rmSync(join(root, n), { recursive: true, force: true });
}

export function readCheckpoint(dir: string): { state: CheckpointState; tensors: CheckpointTensors } {
  const read = (f: string) => {
    const p = join(dir, f);
    if (!existsSync(p)) throw new ModelLoadError(`checkpoint '${dir}' is incomplete: no ${f}`);
    return decodeSafetensors(readFileSync(p), p).tensors;
  };
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  } catch (e) {
    throw new ModelLoadError(`checkpoint '${dir}': cannot read state.json (${(e as Error).message})`);
  }
  return { state, tensors: { generator: read('generator.safetensors'), discriminator: read('discriminator.safetensors'), optimizer: read('optimizer.safetensors') } };
}
