/**
 * The demo job: make a small synthetic paired dataset, train the smoke config
 * on it, and report where the checkpoint and sample grids are.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrainConfig } from './config/train.js';
import { writeSyntheticDataset } from './pipeline/synthetic.js';
import { train, type TrainResult } from './train/loop.js';

export interface DemoOptions { outDir: string; configFile: string; backend: string; count: number; sets?: string[]; signal?: AbortSignal; fresh?: boolean }

export async function runDemo(o: DemoOptions): Promise<TrainResult & { dataDir: string }> {
  const cfg = loadTrainConfig(o.configFile, o.sets ?? []);
  const dataDir = join(o.outDir, 'data');
  const runDir = join(o.outDir, 'run');
  if (o.fresh !== false) rmSync(runDir, { recursive: true, force: true });
  if (!existsSync(join(dataDir, 'manifest.arrow'))) {
    process.stderr.write(`writing ${o.count} synthetic pairs (${cfg.imageSize}px) to ${dataDir}\n`);
    await writeSyntheticDataset(dataDir, { count: o.count, size: cfg.imageSize, seed: cfg.seed });
  }
  const r = await train({ config: cfg, dataDir, outDir: runDir, resume: o.fresh === false, backend: o.backend, signal: o.signal });
  return { ...r, dataDir };
}
