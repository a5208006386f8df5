/**
 * The notebooks cannot rot: every code cell of every notebook runs (under tsx, cells in order as
 * one module) against synthetic runs and against a folder with no runs, and type-checks.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { notebookCells, notebookModule, runNotebook } from '../../src/report/index.js';
import { repoRoot } from '../helpers/cli.js';
import { writeSyntheticRuns } from './fixtures.js';

const dir = join(repoRoot, 'notebooks');
const notebooks = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
let runsRoot: string;

beforeAll(async () => {
  runsRoot = join(mkdtempSync(join(tmpdir(), 'ganon-nb-')), 'runs');
  await writeSyntheticRuns(runsRoot);
});

/** What each notebook must print against the synthetic runs. */
const EXPECT: Record<string, string[]> = {
  'identity.ipynb': ['1 identity run(s)', '### Table 1: Identity', '### Table 1 (statistics)', '[figure identity-distances-identity', '| blur9 | 7 |', 'Rows by status: GANonymization: ok 8'],
  'emotion.ipynb': ['1 emotion run(s), 1 emotion-training run(s)', '### Table 2: Emotion', '[figure figure7-ckplus', '### Table 3: Emotion', '### Table 3 (normality)', 'rows in', '### Table 4: Emotion classifiers', '[figure confusion-faces'],
  'attributes.ipynb': ['1 attributes run(s)', '### Table 5: Attribute classifier', '### Table 6: Attributes removed', '[figure figure9-celeba', '| GANonymization | Bald |'],
  'training.ipynb': ['1 GAN run(s), 1 classifier run(s)', '[figure training-gan-run', '[image training-samples-gan-run', '| 12 | 1 |', '[figure classifier-training-classifier-run'],
};

describe('notebooks', () => {
  it('there are the four notebooks, each with code cells and a TypeScript kernel', () => {
    expect(notebooks).toEqual(['attributes.ipynb', 'emotion.ipynb', 'identity.ipynb', 'training.ipynb']);
    for (const nb of notebooks) {
      const json = JSON.parse(readFileSync(join(dir, nb), 'utf8')) as { nbformat: number; metadata: { kernelspec: { language: string } } };
      expect(json.nbformat).toBe(4);
      expect(json.metadata.kernelspec.language).toBe('typescript');
      expect(notebookCells(join(dir, nb)).length).toBeGreaterThanOrEqual(3);
    }
  });

  for (const nb of ['attributes.ipynb', 'emotion.ipynb', 'identity.ipynb', 'training.ipynb']) {
    it(`${nb}: every code cell runs against the synthetic runs`, async () => {
      const r = await runNotebook(join(dir, nb), { GANON_RUN_DIR: runsRoot });
      expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
      for (const want of EXPECT[nb]!) expect(r.stdout, want).toContain(want);
      if (nb === 'identity.ipynb') {
        // the notebook's recomputed bootstrap interval is Table 1's
        const json = JSON.parse(readFileSync(join(runsRoot, 'identity', 'run.json'), 'utf8')) as { summary: { name: string; ci95: [number, number] }[] };
        for (const s of json.summary) expect(r.stdout).toContain(`[${s.ci95[0].toFixed(4)}, ${s.ci95[1].toFixed(4)}] |`);
      }
    });
  }

  it('every notebook also runs on a folder without runs (and says so)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ganon-nb-empty-'));
    for (const nb of notebooks) {
      const r = await runNotebook(join(dir, nb), { GANON_RUN_DIR: empty });
      expect(r.code, `${nb}: ${r.stderr}`).toBe(0);
      expect(r.stdout, nb).toMatch(/^0 /);
    }
  });

  it('the code cells type-check against the library', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ganon-nb-tc-'));
    const files = notebooks.map((nb) => {
      const f = join(tmp, nb.replace('.ipynb', '.mts')); // .mts: an ES module wherever it lies
      // file URLs -> absolute paths, which the compiler resolves like relative ones
      writeFileSync(f, notebookModule(join(dir, nb)).replace(/'file:\/\/([^']+)'/g, "'$1'"));
      return f;
    });
    // tsc in a child process (a long synchronous compile would stall this test worker)
    const args = [join(repoRoot, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--noUncheckedIndexedAccess', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--skipLibCheck', '--esModuleInterop', '--types', 'node', '--typeRoots', join(repoRoot, 'node_modules/@types'), ...files];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
    // only the notebooks' own errors count here (the library itself is checked by `npm run typecheck`)
    const mine = out.split('\n').filter((l) => l.includes(basename(tmp))); // tsc may print the path relative to cwd
    expect(mine).toEqual([]);
    if (code !== 0) expect(out, 'tsc failed without naming a file').toMatch(/^\S+\.ts\(\d+,\d+\): error/m);
  });
});
