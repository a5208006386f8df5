/**
 * The demo end to end (issue 8's "main job on embedded defaults"), on the smallest settings
 * that still run every step: two real photos (astronaut.png and camera.png, fetched by
 * `npm test`'s pretest), no variants, a toy generator trained for 2 steps; run under the
 * no-network recorder; then every notebook runs against its output folder.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { runNotebook } from '../../src/report/index.js';
import { ganonAsync, repoRoot } from '../helpers/cli.js';

describe('npm run demo', () => {
  it('images -> preprocess -> anonymize (toy + baselines) -> identity + emotion -> report, offline; notebooks run on its output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-demo-'));
    const out = join(dir, 'demo');
    const log = join(dir, 'net.log');
    const env = { NODE_OPTIONS: `--import=${repoRoot}test/helpers/no-network.mjs`, GANON_NET_LOG: log };
    const r = await ganonAsync(['demo', '--out', out, '--variants', '1', '--set', 'train.maxSteps=2', '--set', 'imageSize=64', '--set', 'model.depth=6', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
    const res = JSON.parse(r.stdout) as { images: number; faces: number; toy: boolean; report: string; summary: string[] };
    expect(res.images).toBe(2);
    expect(res.faces).toBe(2);
    expect(res.toy).toBe(true);
    for (const step of ['[1/5] images', '[2/5] preprocess', '[3/5] anonymize', 'TOY generator', '[4/5] evaluate', '[5/5] report']) expect(r.stderr).toContain(step);

    // every step's output
    expect(readdirSync(join(out, 'images')).sort()).toEqual(['astronaut.png', 'camera.png']);
    expect(existsSync(join(out, 'preprocessed', 'manifest.arrow'))).toBe(true);
    expect(readdirSync(join(out, 'crops')).sort()).toEqual(['astronaut.png', 'camera.png']);
    for (const m of ['ganonymization', 'pixelate-16', 'blur-17', 'mask']) {
      expect(readdirSync(join(out, 'anon', m)).filter((f) => f.endsWith('.png')).sort(), m).toEqual(['0_astronaut.png', '0_camera.png']);
    }
    const identity = tableFromIPC(readFileSync(join(out, 'identity', 'identity.arrow')));
    expect(identity.numRows).toBeGreaterThanOrEqual(2 * 4);
    const emotion = JSON.parse(readFileSync(join(out, 'emotion', 'run.json'), 'utf8'));
    expect(emotion.classifier).toMatchObject({ name: 'proxy-emotion-fer2013', proxy: true });
    expect(emotion.methods).toEqual(['ganonymization', 'pixelate:16', 'blur:17', 'mask']);
    expect(emotion.table3).toHaveLength(7 * 3);
    expect(existsSync(join(out, 'train', 'steps.arrow'))).toBe(true);
    const html = readFileSync(res.report, 'utf8');
    expect(html).toContain('Table 1');
    expect(html).toContain('Table 2');
    expect(existsSync(join(out, 'report', 'figures', 'sample-sheet.png'))).toBe(true);
    expect(res.summary.length).toBeGreaterThanOrEqual(3);
    expect(r.stdout).not.toContain('"summary": []');

    // the notebooks run against the demo's output folder
    for (const nb of ['identity', 'emotion', 'training', 'attributes']) {
      const n = await runNotebook(join(repoRoot, 'notebooks', `${nb}.ipynb`), { GANON_RUN_DIR: out });
      expect(n.code, `${nb}: ${n.stderr}`).toBe(0);
    }
  }, 900_000);
});
