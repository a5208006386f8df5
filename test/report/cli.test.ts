/** `ganon report` end to end in a child process, with every network entry point refused and recorded. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ganon, repoRoot } from '../helpers/cli.js';
import { writeSyntheticRuns } from './fixtures.js';

describe('ganon report', () => {
  it('writes the report from a folder of runs, prints a summary, touches no network', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-report-cli-'));
    const runs = await writeSyntheticRuns(join(root, 'runs'));
    const out = join(root, 'report');
    const log = join(root, 'net.log');
    const env = { NODE_OPTIONS: `--import=${repoRoot}test/helpers/no-network.mjs`, GANON_NET_LOG: log };
    const r = await ganon(['report', runs.root, '--out', out, '--samples', `original=${runs.images.originals}`, `GANonymization=${runs.images.method}`, '--sample-count', '2'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^identity \(proxy-faceres, proxy\): mean cosine distance GANonymization 0\.\d{3}, pixel8 0\.\d{3}, blur9 0\.\d{3}$/);
    expect(lines[1]).toMatch(/^emotion CK\+ \(proxy-emotion-fer2013, proxy\): mean \|dp\| over emotions GANonymization 0\.080, DeepPrivacy2 0\.180, CIAGAN 0\.280$/);
    expect(r.stdout).toContain(`report: ${out}/report.md`);
    expect(r.stdout).toContain('8 tables (CSV + Parquet), 8 figures');
    for (const f of ['report.md', 'report.html', 'report.json', 'tables/table2-ckplus.parquet', 'figures/figure7-ckplus.vl.json', 'figures/figure7-ckplus.png', 'figures/sample-sheet.png']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
  });

  it('exits 2 with the reason when nothing is a run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-report-cli-'));
    const r = await ganon(['report', root, '--out', join(root, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no run found in .*no run\.json with a known kind/);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });

  it('rejects a malformed --samples', async () => {
    const r = await ganon(['report', '.', '--out', join(tmpdir(), 'x'), '--samples', 'nodir']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--samples 'nodir': expected NAME=DIR/);
  });
});
