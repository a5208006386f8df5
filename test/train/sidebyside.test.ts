/** The authors' layout: train/ and val/ folders of 2S x S images, face left, landmarks right. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../../src/config/train.js';
import { encodePng } from '../../src/io/images.js';
import { openPairedDataset } from '../../src/train/data.js';
import { train } from '../../src/train/loop.js';
import { renderLandmarks } from '../../src/pipeline/render.js';

async function authorsLayout(count: number, size: number): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'ganon-sbs-'));
  for (const split of ['train', 'val', 'test']) mkdirSync(join(root, split));
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(2 * size * size * 3);
    const lm = renderLandmarks(Float32Array.from({ length: 478 * 3 }, (_, k) => ((k * 7 + i) % 97) / 97), size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (y * 2 * size + x) * 3;
        data[o] = (x * 4 + i) % 256; // face: a gradient
        data[o + 1] = (y * 4) % 256;
        data[o + 2] = 128;
        data.set(lm.data.subarray((y * size + x) * 3, (y * size + x) * 3 + 3), (y * 2 * size + size + x) * 3);
      }
    }
    const split = i < count - 2 ? 'train' : i === count - 2 ? 'val' : 'test';
    writeFileSync(join(root, split, `FacialLandmarks478_0-${String(i).padStart(6, '0')}.jpg`.replace('.jpg', '.png')),
      await encodePng({ width: 2 * size, height: size, data }));
  }
  return root;
}

describe('side-by-side (authors\') layout', () => {
  it('splits each file into face (left) and landmarks (right); test/ is never read', async () => {
    const root = await authorsLayout(6, 32);
    const ds = openPairedDataset(root, 'auto', 32, true);
    expect(ds.layout).toBe('side-by-side');
    expect(ds.train).toHaveLength(4);
    expect(ds.val).toHaveLength(1);
    const pair = await ds.train[0]!.load();
    expect([pair.face.width, pair.face.height, pair.cond.width]).toEqual([32, 32, 32]);
    expect(pair.face.data[2]).toBe(128); // blue channel of the gradient
    expect(new Set(pair.cond.data)).toEqual(new Set([0, 224])); // rendered landmarks only
  });

  it('trains on it; a wrong-size file is a clear error naming the expected size', async () => {
    const root = await authorsLayout(6, 32);
    const cfg = resolveTrainConfig({ imageSize: 32, model: { ngf: 4, ndf: 4, depth: 5 }, train: { batchSize: 2, maxSteps: 2 } });
    const r = await train({ config: cfg, dataDir: root, outDir: mkdtempSync(join(tmpdir(), 'ganon-sbs-run-')), resume: false, backend: 'wasm', out: null });
    expect(r.step).toBe(2);
    const big = resolveTrainConfig({ imageSize: 64, model: { ngf: 4, ndf: 4, depth: 6 } });
    await expect(train({ config: big, dataDir: root, outDir: mkdtempSync(join(tmpdir(), 'ganon-sbs-run-')), resume: false, backend: 'wasm', out: null }))
      .rejects.toThrow(/is 64x32, expected 128x64/);
  });
});
