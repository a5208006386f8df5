/**
 * CLI builders for the identity evaluation. src/cli.ts mounts them with
 *   .command('eval', 'evaluation: identity distance (paper Table 1)', identityCommand)
 *   .command('embed <images..>', 'face embeddings of the first face of each image (proxy: Human faceres)', embedCommand, embedHandler)
 * Only the PROXY embedder (Human's faceres, 1024-d) exists so far; every output
 * names it and says "proxy" (it is not the paper's Facenet512).
 */
import type { Argv } from 'yargs';
import { BACKEND_NAMES, backendLine, initBackend } from '../backend/index.js';
import { decodeImage } from '../io/images.js';
import { extractFaces } from '../pipeline/faces.js';
import { DEFAULT_DETECT } from '../pipeline/human.js';
import { InputError } from '../errors.js';
import { loadProxyEmbedder, type Embedder } from './embed.js';
import { defaultEmbedThreads, startEmbedderPool } from './embed-pool.js';
import { loadFacenet512Embedder } from './facenet512.js';
import { embedderLabel } from './identity.js';
import { NAME_MAP_HELP, parseNameMap } from './identity-names.js';
import { readIdentities } from './identity-persons.js';
import { parseBaselineList, parseMethodArg, runIdentity } from './identity-run.js';

const EMBEDDERS = ['proxy', 'facenet512'] as const;
const EMBEDDER_HELP = "proxy: Human faceres 1024-d, embedded (a substitute, labelled proxy); facenet512: DeepFace's Facenet512 (the paper's), needs --weights facenet512_weights.h5";

/** The chosen embedder; facenet512 needs the user's DeepFace weights file (never downloaded). */
async function loadEmbedder(name: string | undefined, weights: string | undefined, threads = 1, backend = ''): Promise<Embedder> {
  if (name === 'facenet512' && !weights) throw new InputError("--embedder facenet512 needs --weights FILE (DeepFace's facenet512_weights.h5; the toolkit never downloads it)");
  if (threads > 1) return startEmbedderPool({ kind: name === 'facenet512' ? 'facenet512' : 'proxy', weights, backend }, threads);
  return name === 'facenet512' ? loadFacenet512Embedder(weights!) : loadProxyEmbedder();
}

export function identityCommand(y: Argv) {
  return y
    .command('identity', 'cosine distance of each method\'s faces to the originals, re-identification rank-1/5, Wilcoxon vs a reference (paper Table 1)', (a) => a
      .option('original', { type: 'string', demandOption: true, describe: 'directory of original images (recursive); every face of each is scored (one row per face)' })
      .option('method', { type: 'string', array: true, describe: 'NAME=DIR, repeatable: outputs matched to the originals by --name-map (default: crop outputs named {faceIndex}_{basename}, or full frames at the same relative path)' })
      .option('baselines', { type: 'string', array: true, describe: "baselines computed on each original's aligned crop and scored like a method, e.g. pixelate:8,pixelate:16,blur:9,blur:17,mask" })
      .option('identities', { type: 'string', describe: "persons of the originals: CelebA's identity_CelebA.txt ('000001.jpg 2880') or a CSV image,identity[,face]; adds re-identification by person (any image of the same person, and other images only)" })
      .option('name-map', { type: 'string', default: 'auto', describe: NAME_MAP_HELP })
      .option('reference', { type: 'string', describe: 'method the others are tested against (default the first --method, else the first baseline)' })
      .option('embedder', { type: 'string', choices: EMBEDDERS, default: 'proxy' as const, describe: EMBEDDER_HELP })
      .option('weights', { type: 'string', describe: 'embedder weights (facenet512: facenet512_weights.h5)' })
      .option('threshold', { type: 'number', describe: 'report the share of faces with cosine distance above this (none by default for the proxy)' })
      .option('image-size', { type: 'number', default: 512, describe: 'side S of the aligned crop the originals are cut to' })
      .option('seed', { type: 'number', default: 0, describe: 'bootstrap seed' })
      .option('dataset', { type: 'string', describe: 'dataset name for the tables and run.json (e.g. CelebA)' })
      .option('split', { type: 'string', describe: 'split name for the tables and run.json (e.g. val)' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory: identity.arrow, table1.md, run.json' })
      .option('backend', { type: 'string', choices: BACKEND_NAMES })
      .option('workers', { type: 'number', describe: 'embedder threads, each with its own backend and model copy (default: one per core on wasm/cpu, 1 on tensorflow); same numbers as 1' })
      .option('json', { type: 'boolean', default: false, describe: 'print run.json-style summary as JSON' }),
    async (a) => {
      const b = await initBackend(a.backend);
      if (!a.json) process.stderr.write(`${backendLine(b)}\n`);
      if (a.threshold !== undefined && !Number.isFinite(a.threshold)) throw new InputError(`--threshold must be a number (got ${a.threshold})`);
      const methods = ((a.method as string[] | undefined) ?? []).map(parseMethodArg);
      const baselines = parseBaselineList(a.baselines as string[] | undefined);
      const nameMap = parseNameMap(a.nameMap);
      const identities = a.identities === undefined ? undefined : { source: a.identities, entries: readIdentities(a.identities) };
      if (methods.length === 0 && baselines.length === 0) throw new InputError('name at least one --method NAME=DIR or --baselines');
      const threads = a.workers ?? defaultEmbedThreads(b.name);
      if (!Number.isInteger(threads) || threads < 1) throw new InputError(`--workers must be a positive integer (got ${a.workers})`);
      const embedder = await loadEmbedder(a.embedder, a.weights, threads, b.name);
      if (!a.json && threads > 1) process.stderr.write(`embedder: ${threads} threads\n`);
      // DeepFace's cosine threshold for Facenet512 is 0.30 (the paper's); the proxy has none
      const threshold = a.threshold ?? (embedder.proxy ? undefined : 0.3);
      try {
        const run = await runIdentity({
          original: a.original, methods, baselines, nameMap, identities, embedder, size: a.imageSize, outDir: a.out, threshold: threshold ?? null,
          reference: a.reference, seed: a.seed, dataset: a.dataset, split: a.split,
          onProgress: a.json ? undefined : (stage, done, total) => { if (done === total || done % 50 === 0) process.stderr.write(`[${stage}] ${done}/${total}\n`); },
        });
        if (a.json) {
          const out = {
            embedder: { name: embedder.name, proxy: embedder.proxy, label: embedderLabel(embedder) }, threshold: threshold ?? null,
            counts: run.counts, methods: run.result.methods.map(({ pairs: _p, ...s }) => s), comparisons: run.result.comparisons,
            chance: run.result.chance, embeddingsPerSecond: run.embeddingsPerSecond, out: a.out,
          };
          process.stdout.write(`${JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
        } else {
          process.stdout.write(`${run.table}\nwrote ${a.out}/identity.arrow, ${a.out}/table1.md, ${a.out}/run.json\n`);
        }
        if (run.counts.faces === 0) process.exitCode = 3;
      } finally {
        embedder.dispose();
      }
    })
    .demandCommand(1, 'name an eval subcommand: identity, emotion, emotion-training, attributes');
}

/** Options of `embed <images..>`. */
export function embedCommand(y: Argv) {
  return y
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image files; the first face of each is embedded' })
    .option('embedder', { type: 'string', choices: EMBEDDERS, default: 'proxy' as const, describe: EMBEDDER_HELP })
    .option('weights', { type: 'string', describe: 'embedder weights (facenet512: facenet512_weights.h5)' })
    .option('image-size', { type: 'number', default: 512, describe: 'side S of the aligned crop' })
    .option('backend', { type: 'string', choices: BACKEND_NAMES })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

/** Handler of `embed <images..>`: prints the embedding of the first face of each image. */
export async function embedHandler(a: { images?: unknown; imageSize?: number; backend?: string; json?: boolean; embedder?: string; weights?: string }): Promise<void> {
  await initBackend(a.backend);
  const images = (Array.isArray(a.images) ? a.images : [a.images]).map(String);
  const embedder = await loadEmbedder(a.embedder, a.weights);
  const results: { image: string; status: 'ok' | 'no_face' | 'error'; embedding: number[] | null; message: string }[] = [];
  try {
    for (const path of images) {
      try {
        const img = await decodeImage(path);
        const [f] = await extractFaces(img, { size: a.imageSize ?? 512, margin: 0, detect: DEFAULT_DETECT });
        if (!f) { results.push({ image: path, status: 'no_face', embedding: null, message: 'no face found' }); continue; }
        const [e] = await embedder.embed([f.image]);
        results.push({ image: path, status: 'ok', embedding: Array.from(e!), message: '' });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        results.push({ image: path, status: 'error', embedding: null, message: err.message });
      }
    }
  } finally {
    embedder.dispose();
  }
  if (a.json) {
    process.stdout.write(`${JSON.stringify({ embedder: { name: embedder.name, proxy: embedder.proxy, dim: embedder.dim, label: embedderLabel(embedder), normalised: false }, results })}\n`);
  } else {
    process.stdout.write(`embedder: ${embedderLabel(embedder)}, ${embedder.dim}-d, not normalised\n`);
    for (const r of results) {
      process.stdout.write(r.embedding ? `${r.image}: [${r.embedding.map((v) => v.toFixed(6)).join(', ')}]\n` : `${r.image}: ${r.status}: ${r.message}\n`);
    }
  }
  if (results.length > 0 && results.every((r) => r.status !== 'ok')) process.exitCode = 3;
}
