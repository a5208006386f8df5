/**
 * The face-finding thread (src/pipeline/prep-thread.ts): its own TF.js engine;
 * requests: init (backend, face options), extract (a file path -> the decoded
 * image and its faces, or `failed` with the reason the file cannot be read).
 */
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { serveRequests } from '../util/thread.js';
import { inProcessExtractor, type FaceExtractor } from './anonymize.js';
import type { FaceOptions } from './faces.js';

let extract: FaceExtractor | null = null;

serveRequests(parentPort!, async (msg) => {
  if (msg.type === 'init') {
    await initBackend(msg.backend as string);
    extract = inProcessExtractor(msg.face as FaceOptions);
    return [{}];
  }
  const r = await extract!(msg.path as string);
  if (r instanceof Error) return [{ failed: r.message }];
  // copied, not transferred: sharp's buffers may live in memory a transfer cannot detach
  return [{ prepared: r }];
});
