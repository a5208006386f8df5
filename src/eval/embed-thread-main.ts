/**
 * One embedder thread (src/eval/embed-pool.ts): its own TF.js engine and
 * backend, one embedder; requests: load, embed, memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import type { RgbImage } from '../io/images.js';
import { serveRequests } from '../util/thread.js';
import { loadProxyEmbedder, type Embedder } from './embed.js';
import type { EmbedderSpec } from './embed-pool.js';
import { loadFacenet512Embedder } from './facenet512.js';

let embedder: Embedder | null = null;

serveRequests(parentPort!, async (msg) => {
  if (msg.type === 'load') {
    const spec = msg.spec as EmbedderSpec;
    await initBackend(spec.backend);
    embedder = spec.kind === 'facenet512' ? await loadFacenet512Embedder(spec.weights!) : await loadProxyEmbedder();
    const { name, proxy, dim, weightsSha256 } = embedder;
    return [{ ready: { name, proxy, dim, weightsSha256 } }];
  }
  if (msg.type === 'embed') {
    const out = await embedder!.embed(msg.faces as RgbImage[]);
    return [{ ok: out }, out.map((e) => e.buffer as ArrayBuffer)];
  }
  return [{ numTensors: tf.memory().numTensors }];
});
