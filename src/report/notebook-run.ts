/**
 * Runs a notebook's code cells outside Jupyter, so the notebooks cannot rot: the code cells, in
 * order, become one TypeScript module (cells share one scope, as in a kernel), relative imports
 * (`../src/...`) are pointed at the notebook's own folder, and the module runs under tsx in a child
 * process with the given environment (GANON_RUN_DIR: the run directory the notebook reads).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

interface NotebookJson { cells: { cell_type: string; source: string | string[] }[]; metadata?: Record<string, unknown> }

export interface CodeCell { index: number; source: string }

/** The code cells of a .ipynb, in order. */
export function notebookCells(path: string): CodeCell[] {
  const nb = JSON.parse(readFileSync(path, 'utf8')) as NotebookJson;
  if (!Array.isArray(nb.cells)) throw new Error(`${path}: not a notebook (no cells)`);
  return nb.cells.flatMap((c, index) => (c.cell_type === 'code' ? [{ index, source: Array.isArray(c.source) ? c.source.join('') : c.source }] : []));
}

/** The code cells as one module; relative import specifiers become file URLs next to the notebook. */
export function notebookModule(path: string): string {
  const base = dirname(resolve(path));
  const fix = (src: string) => src.replace(/(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\2/g, (_m, pre: string, q: string, spec: string) => `${pre}${q}${pathToFileURL(resolve(base, spec)).href}${q}`);
  return notebookCells(path).map((c) => `// ---- cell ${c.index}\n${fix(c.source)}\n`).join('\n') + '\nexport {};\n';
}

export interface NotebookRun { code: number; stdout: string; stderr: string; module: string }

/** Runs the notebook's code cells under tsx (cwd: the notebook's folder, as a kernel would have it). */
export async function runNotebook(path: string, env: Record<string, string> = {}, timeoutMs = 300_000): Promise<NotebookRun> {
  const dir = mkdtempSync(join(tmpdir(), 'ganon-notebook-'));
  const file = join(dir, 'notebook.mts'); // .mts: an ES module (top-level await) outside any package
  const module = notebookModule(path);
  writeFileSync(file, module);
  try {
    // tsx's loader (the package's main export, what `node --import tsx` loads), resolved from here
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--import', tsx, file], { cwd: dirname(resolve(path)), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
    clearTimeout(timer);
    return { code, stdout, stderr, module };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
