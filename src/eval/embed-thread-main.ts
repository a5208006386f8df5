/**
 * One embedder thread (src/eval/embed-pool.ts): its own TF.js engine and
 * backend, one embedder, and a message loop: load, embed, memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import type { RgbImage } from '../io/images.js';
import { loadProxyEmbedder, type Embedder } from './embed.js';
import type { EmbedderSpec } from './embed-pool.js';
import { loadFacenet512Embedder } from './facenet512.js';

const port = parentPort!;
let embedder: Embedder | null = null;

async function handle(msg: { id: number; type: string; spec?: EmbedderSpec; faces?: RgbImage[] }): Promise<void> {
  try {
    if (msg.type === 'load') {
      const spec = msg.spec!;
      await initBackend(spec.backend);
      embedder = spec.kind === 'facenet512' ? await loadFacenet512Embedder(spec.weights!) : await loadProxyEmbedder();
      const { name, proxy, dim, weightsSha256 } = embedder;
      port.postMessage({ id: msg.id, ready: { name, proxy, dim, weightsSha256 } });
    } else if (msg.type === 'embed') {
      const out = await embedder!.embed(msg.faces!);
      port.postMessage({ id: msg.id, ok: out }, out.map((e) => e.buffer as ArrayBuffer));
    } else if (msg.type === 'memory') {
      port.postMessage({ id: msg.id, numTensors: tf.memory().numTensors });
    }
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: msg.id, error: { name: err.name ?? 'Error', message: err.message } });
  }
}

// one message at a time, in order
let chain = Promise.resolve();
port.on('message', (msg) => { chain = chain.then(() => handle(msg)); });
