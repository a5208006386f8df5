/**
 * `ganon preprocess` and `ganon preprocess merge`: parse, call
 * src/pipeline/preprocess.ts, print. `--workers N` runs N child processes,
 * each on shard i/N into OUT/.shards/i (each with its own backend), then merges.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { initBackend, backendLine, BACKEND_NAMES } from './backend/index.js';
import { ConfigError } from './errors.js';
import { DEFAULT_FACE_OPTIONS } from './pipeline/faces.js';
import { LANDMARK_CLI_OPTIONS, withLandmarker } from './pipeline/landmarks.js';
import { datasets, getDataset } from './pipeline/datasets/index.js';
import { mergeShards, parseShard, preprocessItems } from './pipeline/preprocess.js';
import { Progress } from './util/progress.js';
import { defaultWorkers, runWorkers } from './util/workers.js';

/** The same option definitions, kept to the command that declares them. */
function local<T extends Record<string, object>>(options: T): T {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { ...v, global: false }])) as T;
}

export function preprocessCommand(y: Argv) {
  return y
    .command('merge <shards..>', 'join shard outputs (manifests and faces) into --out', (a) => a
      .positional('shards', { type: 'string', array: true, demandOption: true })
      .option('out', { type: 'string', demandOption: true, describe: 'the merged output dir (manifest.arrow + faces/)' }),
    async (a) => {
      const r = await mergeShards(a.shards as string[], a.out);
      process.stdout.write(`merged ${(a.shards as string[]).length} shard(s): ${r.rows} rows, ${r.faces} faces new in ${a.out}\n`);
    })
    // yargs options are global by default: these belong to preprocess itself, not to `merge`
    .options(local({
      dataset: { type: 'string', choices: Object.keys(datasets), describe: 'which reader (datasets/<name>/README.md)' },
      input: { type: 'string', describe: 'the dataset root' },
      out: { type: 'string', describe: 'output dir: manifest.arrow + faces/' },
      'image-size': { type: 'number', default: 512, describe: 'side S of the aligned, letterboxed faces' },
      margin: { type: 'number', default: 0, describe: 'extra margin around each face box (fraction of its sides)' },
      'min-score': { type: 'number', default: DEFAULT_FACE_OPTIONS.detect.minScore, describe: 'face detector threshold' },
      'max-pixels': { type: 'number', default: 50_000_000, describe: 'larger images get an error row' },
      seed: { type: 'number', default: 42, describe: 'seed for subject-level validation splits' },
      'val-fraction': { type: 'number', default: 0.2, describe: 'share of subjects held out where the dataset has no split' },
      segment: { type: 'boolean', default: false, describe: 'zero the background outside the head (the paper does this for training data)' },
      'write-landmark-images': { type: 'boolean', default: false, describe: 'also write OUT/landmarks/<id>.png, the rendered landmark image (training renders them from the manifest otherwise)' },
      workers: { type: 'number', describe: 'child processes, each on a shard with its own backend (default on wasm/cpu: one per core, at most one per 32 files, as each costs ~3 s to start; 1 on tensorflow)' },
      shard: { type: 'string', describe: 'process only shard i/n' },
      backend: { type: 'string', choices: BACKEND_NAMES, describe: "default wasm, also where the native backend is built: the small face models run faster there (libtensorflow costs ~0.3 ms per op), and --workers uses the cores" },
      ...LANDMARK_CLI_OPTIONS,
      json: { type: 'boolean', default: false, describe: 'print the summary as JSON' },
    }));
}

export async function preprocessHandler(a: {
  dataset?: string; input?: string; out?: string; imageSize: number; margin: number; minScore: number; maxPixels: number;
  seed: number; valFraction: number; workers?: number; segment: boolean; writeLandmarkImages: boolean; shard?: string; backend?: string; json: boolean; _: (string | number)[];
  landmarks: string; mediapipeModel?: string;
}): Promise<void> {
  if (!a.dataset || !a.input || !a.out) throw new ConfigError('preprocess needs --dataset, --input and --out (or: ganon preprocess merge SHARD... --out DIR)');
  const reader = getDataset(a.dataset);
  const items = reader.list(a.input, { seed: a.seed, valFraction: a.valFraction });
  // wasm unless asked: Human's small models are faster on wasm than on libtensorflow (docs/performance.md)
  const b = await initBackend(a.backend ?? process.env.GANON_BACKEND ?? 'wasm');
  if (!a.shard) process.stderr.write(`${backendLine(b)}\n`);
  const workers = a.shard ? 1 : a.workers ?? defaultWorkers(b.name, Math.floor(items.length / 32));
  if (!Number.isInteger(workers) || workers < 1) throw new ConfigError(`--workers must be a positive integer (got ${a.workers})`);
  if (workers > 1) {
    const pass = ['--dataset', a.dataset, '--input', a.input, '--image-size', String(a.imageSize), '--margin', String(a.margin),
      ...(a.segment ? ['--segment'] : []), ...(a.writeLandmarkImages ? ['--write-landmark-images'] : []), '--min-score', String(a.minScore), '--max-pixels', String(a.maxPixels), '--seed', String(a.seed), '--val-fraction', String(a.valFraction),
      ...(a.backend ? ['--backend', a.backend] : []), '--landmarks', a.landmarks, ...(a.mediapipeModel ? ['--mediapipe-model', a.mediapipeModel] : [])];
    const dirs = Array.from({ length: workers }, (_, i) => join(a.out!, '.shards', String(i)));
    process.stderr.write(`${workers} worker processes\n`);
    await runWorkers(workers, (i) => ['preprocess', ...pass, '--out', dirs[i]!, '--shard', `${i}/${workers}`]);
    const r = await mergeShards(dirs.filter((d) => existsSync(join(d, 'manifest.arrow'))), a.out);
    process.stdout.write(`${items.length} files with ${workers} workers: ${r.rows} rows (${r.faces} new faces) in ${a.out}/manifest.arrow\n`);
    return;
  }
  const shard = a.shard ? parseShard(a.shard) : undefined;
  const progress = new Progress(shard ? Math.ceil(items.length / shard.count) : items.length, 'preprocess');
  const detect = { ...DEFAULT_FACE_OPTIONS.detect, minScore: a.minScore };
  const summary = await withLandmarker(a.landmarks, { detect, mediapipeModel: a.mediapipeModel }, (landmarker) => preprocessItems(items, a.out!, {
    face: { size: a.imageSize, margin: a.margin, detect, landmarker },
    shard, flushEvery: 25, maxPixels: a.maxPixels, segment: a.segment, writeLandmarkImages: a.writeLandmarkImages,
  }, (done, total, rows) => {
    for (const r of rows) if (r.status === 'error') process.stderr.write(`error: ${r.source}: ${r.message}\n`);
    progress.update(done, '');
    void total;
  }), (l) => process.stderr.write(`${l}\n`));
  progress.done();
  const line = `${summary.files} files: ${summary.done} processed, ${summary.skipped} already done, ${summary.faces} faces, ${summary.noFace} without a face, ${summary.errors} errors`;
  process.stdout.write(a.json ? `${JSON.stringify(summary)}\n` : `${line}\nmanifest: ${a.out}/manifest.arrow\n`);
}
