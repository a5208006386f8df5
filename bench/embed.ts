/**
 * `npm run bench:embed -- [--facenet-weights FILE.h5] [--backend B] [--threads N]`: embeddings per
 * second of the proxy embedder and (given DeepFace's weights, or any file of the same architecture)
 * Facenet512, on aligned 512 px crops of astronaut.png, in calls of 16 faces (what `eval identity`
 * sends), after a warm-up: in this thread, and on N embedder threads (src/eval/embed-pool.ts;
 * default one per core, as `eval identity` uses on wasm). Prints JSON.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { decodeImage } from '../src/io/images.js';
import { loadProxyEmbedder, type Embedder } from '../src/eval/embed.js';
import { loadFacenet512Embedder } from '../src/eval/facenet512.js';
import { extractFaces } from '../src/pipeline/faces.js';
import { startEmbedderPool } from '../src/eval/embed-pool.js';
import { availableParallelism } from 'node:os';

const args = await yargs(hideBin(process.argv)).option('backend', { type: 'string' }).option('facenet-weights', { type: 'string' })
  .option('n', { type: 'number', default: 48 }).option('threads', { type: 'number', default: availableParallelism() }).strict().parseAsync();
const info = await initBackend(args.backend);
const [face] = await extractFaces(await decodeImage('test/.cache/astronaut.png'), { size: 512, margin: 0, detect: { minScore: 0.5, maxFaces: 1 } });
const crops = Array.from({ length: 16 }, () => face!.image);
async function rate(e: Embedder): Promise<number> {
  await e.embed(crops.slice(0, 2));
  const t0 = performance.now();
  for (let done = 0; done < args.n; done += crops.length) await e.embed(crops);
  return +(args.n / ((performance.now() - t0) / 1000)).toFixed(2);
}
const out: Record<string, unknown> = { backend: info.name, threads: args.threads };
const proxy = await loadProxyEmbedder();
out.proxyPerSec = await rate(proxy);
proxy.dispose();
if (args.threads > 1) {
  const pool = await startEmbedderPool({ kind: 'proxy', backend: info.name }, args.threads);
  out.proxyPerSecThreads = await rate(pool);
  pool.dispose();
}
if (args.facenetWeights) {
  const fn = await loadFacenet512Embedder(args.facenetWeights);
  out.facenet512PerSec = await rate(fn);
  fn.dispose();
  if (args.threads > 1) {
    const pool = await startEmbedderPool({ kind: 'facenet512', weights: args.facenetWeights, backend: info.name }, args.threads);
    out.facenet512PerSecThreads = await rate(pool);
    pool.dispose();
  }
}
console.log(JSON.stringify(out));
