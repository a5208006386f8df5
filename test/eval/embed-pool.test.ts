/**
 * The embedder on worker threads (src/eval/embed-pool.ts): the same embeddings as
 * the in-process embedder, in input order, for uneven splits and batches of the
 * single-threaded size; per-face errors stay InputErrors; no tensors pile up in
 * the threads; load errors and use after dispose are clear errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, ModelLoadError } from '../../src/errors.js';
import { loadProxyEmbedder, type Embedder } from '../../src/eval/embed.js';
import { defaultEmbedThreads, startEmbedderPool, type PooledEmbedder } from '../../src/eval/embed-pool.js';
import { decodeImage, type RgbImage } from '../../src/io/images.js';
import { extractFaces } from '../../src/pipeline/faces.js';
import { repoRoot } from '../helpers/cli.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;
let faces: RgbImage[];
let single: Embedder;
let pool: PooledEmbedder;

beforeAll(async () => {
  if (!existsSync(ASTRONAUT)) throw new Error(`${ASTRONAUT} is missing: run 'bash scripts/fetch-test-images.sh' (npm test runs it first)`);
  const [f] = await extractFaces(await decodeImage(ASTRONAUT), { size: 128, margin: 0, detect: { minScore: 0.5, maxFaces: 1 } });
  // five different images: the face crop, a darker copy, and seeded noise at other sizes
  const noise = (size: number, seed: number): RgbImage => {
    let s = seed;
    const data = Uint8Array.from({ length: size * size * 3 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
    return { width: size, height: size, data };
  };
  const dark: RgbImage = { ...f!.image, data: f!.image.data.map((v) => v >> 1) };
  faces = [f!.image, noise(96, 1), dark, noise(160, 3), noise(64, 4)];
  single = await loadProxyEmbedder();
  pool = await startEmbedderPool({ kind: 'proxy', backend: tf.getBackend() }, 2);
}, 120_000);
afterAll(() => {
  single?.dispose();
  pool?.dispose();
});

describe('embedder threads', () => {
  it('give exactly the in-process embeddings, in input order, for 1, 2, 3 and 5 faces', async () => {
    const want = await single.embed(faces);
    expect(want).toHaveLength(5);
    for (const n of [1, 2, 3, 5]) {
      const got = await pool.embed(faces.slice(0, n));
      expect(got).toHaveLength(n);
      got.forEach((e, i) => expect(Array.from(e)).toEqual(Array.from(want[i]!)));
    }
    // the faces differ (so order is actually checked)
    expect(Array.from(want[0]!)).not.toEqual(Array.from(want[1]!));
    expect(pool.name).toBe(single.name);
    expect(pool.proxy).toBe(true);
    expect(pool.dim).toBe(1024);
    expect(pool.weightsSha256).toBe(single.weightsSha256);
    expect(await pool.embed([])).toEqual([]);
  });

  it('each face\'s embedding does not depend on the batch it came in', async () => {
    const alone = await single.embed([faces[2]!]);
    const inBatch = await single.embed([faces[0]!, faces[1]!, faces[2]!, faces[3]!]);
    expect(Array.from(inBatch[2]!)).toEqual(Array.from(alone[0]!));
  });

  it('a bad face is an InputError, and the pool keeps working', async () => {
    const bad: RgbImage = { width: 10, height: 10, data: new Uint8Array(7) };
    await expect(pool.embed([faces[0]!, bad])).rejects.toBeInstanceOf(InputError);
    const [e] = await pool.embed([faces[0]!]);
    expect(e).toHaveLength(1024);
  });

  it('leave no tensors behind in the threads', async () => {
    await pool.embed(faces);
    const before = await pool.numTensors();
    for (let i = 0; i < 3; i++) await pool.embed(faces);
    expect(await pool.numTensors()).toEqual(before);
    expect(before.every((n) => n > 0)).toBe(true); // the model's weights live there
  });

  it('refuse a missing weights file with a ModelLoadError, a bad thread count, and use after dispose', async () => {
    await expect(startEmbedderPool({ kind: 'facenet512', weights: '/nonexistent/facenet512_weights.h5', backend: tf.getBackend() }, 2)).rejects.toBeInstanceOf(ModelLoadError);
    await expect(startEmbedderPool({ kind: 'proxy', backend: tf.getBackend() }, 0)).rejects.toBeInstanceOf(InputError);
    const p = await startEmbedderPool({ kind: 'proxy', backend: tf.getBackend() }, 1);
    p.dispose();
    await expect(p.embed([faces[0]!])).rejects.toBeInstanceOf(ModelLoadError);
  }, 60_000);

  it('default to one thread per core on wasm and cpu, one on tensorflow', () => {
    expect(defaultEmbedThreads('tensorflow')).toBe(1);
    expect(defaultEmbedThreads('wasm')).toBeGreaterThanOrEqual(1);
  });
});
