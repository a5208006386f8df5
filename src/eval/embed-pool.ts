/**
 * An embedder on several CPU cores: N worker threads, each with its own TF.js
 * engine and backend (wasm runs one thread per engine, so this is how the
 * proxy and Facenet512 use both cores of a 2-core machine) and its own copy of
 * the model. `embed(faces)` splits the faces into N contiguous parts, one per
 * thread, and returns the embeddings in input order: the same numbers as one
 * thread (each face goes through the same kernels; tested).
 *
 * Errors keep their class where it matters: an InputError in a thread (a bad
 * face) is an InputError here, so callers can retry face by face; anything
 * else is a ModelLoadError or Error with the thread's message.
 */
import { defaultWorkers } from '../util/workers.js';
import { InputError, ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import type { Embedder } from './embed.js';
import { Thread, type ThreadReply } from '../util/thread.js';

/** What each thread loads: the embedder by name (and weights file), on a backend. */
export interface EmbedderSpec {
  kind: 'proxy' | 'facenet512';
  /** facenet512: the .h5 file. */
  weights?: string;
  backend: string;
}

interface Reply extends ThreadReply { ok?: Float32Array[]; numTensors?: number; ready?: { name: string; proxy: boolean; dim: number; weightsSha256?: string } }

const ENTRY = new URL('./embed-thread-main.ts', import.meta.url);

function raise(r: Reply): never {
  const e = r.error ?? { name: 'Error', message: 'no reply' };
  if (e.name === 'InputError') throw new InputError(e.message);
  if (e.name === 'ModelLoadError') throw new ModelLoadError(e.message);
  throw new Error(`embedder thread: ${e.message}`);
}

/** Threads to use by default: one per core on the CPU backends (wasm, cpu); 1 on 'tensorflow' (multi-threaded already). */
export function defaultEmbedThreads(backend: string): number {
  return defaultWorkers(backend, Infinity);
}

export interface PooledEmbedder extends Embedder {
  readonly threads: number;
  /** tf.memory().numTensors in each thread (leak checks). */
  numTensors(): Promise<number[]>;
}

/** Starts `threads` threads, each loading the embedder (about 1-2 s); throws the first thread's load error. */
export async function startEmbedderPool(spec: EmbedderSpec, threads: number): Promise<PooledEmbedder> {
  if (!Number.isInteger(threads) || threads < 1) throw new InputError(`--workers must be a positive integer (got ${threads})`);
  const pool = Array.from({ length: threads }, () => new Thread<Reply>(ENTRY));
  const stop = () => Promise.all(pool.map((t) => t.terminate()));
  const ready = await Promise.all(pool.map((t) => t.call({ type: 'load', spec })));
  const bad = ready.find((r) => r.error);
  if (bad) {
    await stop();
    raise(bad);
  }
  const info = ready[0]!.ready!;
  let disposed = false;
  return {
    ...info,
    threads,
    async embed(faces: RgbImage[]): Promise<Float32Array[]> {
      if (disposed) throw new ModelLoadError('the embedder was disposed');
      if (faces.length === 0) return [];
      const per = Math.ceil(faces.length / threads);
      const parts: Promise<Reply>[] = [];
      for (let i = 0; i * per < faces.length; i++) {
        // copies (the caller keeps its images); each copy's buffer moves to the thread
        const chunk = faces.slice(i * per, (i + 1) * per).map((f) => ({ width: f.width, height: f.height, data: Uint8Array.from(f.data) }));
        parts.push(pool[i]!.call({ type: 'embed', faces: chunk }, chunk.map((f) => f.data.buffer as ArrayBuffer)));
      }
      const replies = await Promise.all(parts);
      const out: Float32Array[] = [];
      for (const r of replies) {
        if (!r.ok) raise(r);
        out.push(...r.ok);
      }
      return out;
    },
    async numTensors() {
      return (await Promise.all(pool.map((t) => t.call({ type: 'memory' })))).map((r) => r.numTensors ?? -1);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      void stop();
    },
  };
}
