/**
 * `npm run bench:embed -- [--facenet-weights FILE.h5] [--backend B]`: embeddings per second of the
 * proxy embedder and (given DeepFace's weights, or any file of the same architecture) Facenet512,
 * on aligned 512 px crops of astronaut.png, batches of 8, after a warm-up. Prints JSON.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { decodeImage } from '../src/io/images.js';
import { loadProxyEmbedder, type Embedder } from '../src/eval/embed.js';
import { loadFacenet512Embedder } from '../src/eval/facenet512.js';
import { extractFaces } from '../src/pipeline/faces.js';

const args = await yargs(hideBin(process.argv)).option('backend', { type: 'string' }).option('facenet-weights', { type: 'string' })
  .option('n', { type: 'number', default: 16 }).strict().parseAsync();
const info = await initBackend(args.backend);
const [face] = await extractFaces(await decodeImage('test/.cache/astronaut.png'), { size: 512, margin: 0, detect: { minScore: 0.5, maxFaces: 1 } });
const crops = Array.from({ length: 8 }, () => face!.image);
async function rate(e: Embedder): Promise<number> {
  await e.embed(crops.slice(0, 2));
  const t0 = performance.now();
  for (let done = 0; done < args.n; done += crops.length) await e.embed(crops);
  return +(args.n / ((performance.now() - t0) / 1000)).toFixed(2);
}
const out: Record<string, unknown> = { backend: info.name };
const proxy = await loadProxyEmbedder();
out.proxyPerSec = await rate(proxy);
proxy.dispose();
if (args.facenetWeights) {
  const fn = await loadFacenet512Embedder(args.facenetWeights);
  out.facenet512PerSec = await rate(fn);
  fn.dispose();
}
console.log(JSON.stringify(out));
