/**
 * Privacy: the toolkit never touches the network at run time. CLI commands run
 * with every network entry point replaced by a recorder that refuses; nothing
 * may be recorded. And src/ holds no URL it could fetch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureDir } from '../helpers/fixtures.js';
import { ganon, repoRoot } from '../helpers/cli.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('no network at run time', () => {
  it('model run and landmarks (face models) attempt no connection (the demo: test/cli/demo.test.ts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-net-'));
    const log = join(dir, 'net.log');
    const env = { NODE_OPTIONS: `--import=${repoRoot}test/helpers/no-network.mjs`, GANON_NET_LOG: log };
    const w = `${fixtureDir}pix2pix/unet_small.safetensors`;
    const run = await ganon(['model', 'run', '--arch', 'unet', '--weights', w, '--input', w, '--out', join(dir, 'o.safetensors')], env);
    expect(run.code, run.stderr).toBe(0);
    // face detection + mesh (Human's model files, loaded from node_modules)
    const lm = await ganon(['landmarks', `${repoRoot}test/.cache/astronaut.png`, '--out', join(dir, 'lm.png'), '--size', '128'], env);
    expect(lm.code, lm.stderr).toBe(0);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
  });

  it('the recorder really refuses (so the test above can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-net-'));
    const log = join(dir, 'net.log');
    spawnSync(process.execPath, [`--import=${repoRoot}test/helpers/no-network.mjs`, '-e', "require('node:net').connect(80, '192.0.2.1').on('error', () => {})"], { env: { ...process.env, GANON_NET_LOG: log } });
    expect(readFileSync(log, 'utf8')).toMatch(/net.connect/);
  });

  it('src/ contains no http(s) URL outside comments', async () => {
    const offenders: string[] = [];
    for (const f of files(join(repoRoot, 'src'))) {
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
        if (/https?:\/\//.test(code)) offenders.push(`${f}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
