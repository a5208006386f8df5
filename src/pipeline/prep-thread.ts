/**
 * Stages 1-5 (decode, detect, align, letterbox, landmarks) on a worker thread
 * with its own TF.js engine on the wasm backend, for `ganon anonymize` on the
 * native backend: Human's small detector and mesh models run 2-3x faster on
 * wasm than on libtensorflow (about 0.3 ms of overhead per op there), and on
 * another thread they overlap with the generator. The results are the
 * in-process extractor's on wasm (tested).
 */
import { InputError } from '../errors.js';
import { Thread, type ThreadReply } from '../util/thread.js';
import type { FaceExtractor, Prepared } from './anonymize.js';
import type { FaceOptions } from './faces.js';

interface Reply extends ThreadReply { prepared?: Prepared; failed?: string }

const ENTRY = new URL('./prep-thread-main.ts', import.meta.url);

export interface PrepThread {
  extract: FaceExtractor;
  close(): Promise<void>;
}

/** Starts the thread (about 1-2 s: tfjs, wasm and Human's models). Only the embedded landmarker can run there. */
export async function startPrepThread(face: Omit<FaceOptions, 'landmarker'>, backend = 'wasm'): Promise<PrepThread> {
  const t = new Thread<Reply>(ENTRY);
  const ready = await t.call({ type: 'init', face: { size: face.size, margin: face.margin, detect: face.detect }, backend });
  if (ready.error) {
    await t.terminate();
    throw new Error(`face-finding thread: ${ready.error.message}`);
  }
  return {
    async extract(path: string) {
      const r = await t.call({ type: 'extract', path });
      if (r.failed !== undefined) return new InputError(r.failed);
      if (r.error) throw new Error(`face-finding thread: ${r.error.message}`);
      return r.prepared!;
    },
    async close() {
      await t.terminate();
    },
  };
}
