/**
 * Multi-core work for CPU backends: N child processes of this CLI, each with
 * its own backend (wasm runs one thread per process). Child stderr is passed
 * through with a `[worker i]` prefix; stdout is collected.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { runsOneThread } from '../backend/index.js';
import { fileURLToPath } from 'node:url';
import { ToolkitError } from '../errors.js';

const cli = fileURLToPath(new URL('../../bin/ganon.js', import.meta.url));

export function runChild(args: string[], label: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) process.stderr.write(`[${label}] ${l}\n`);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: out }));
  });
}

/** Runs `count` children with argsFor(i); throws if any fails (exit codes other than 0 and 3). */
export async function runWorkers(count: number, argsFor: (i: number) => string[]): Promise<{ code: number; stdout: string }[]> {
  const res = await Promise.all(Array.from({ length: count }, (_, i) => runChild(argsFor(i), `worker ${i}`)));
  const bad = res.filter((r) => r.code !== 0 && r.code !== 3);
  if (bad.length > 0) throw new ToolkitError(`a worker failed (exit codes ${res.map((r) => r.code).join(', ')}); rerun to resume`);
  return res;
}

/** Worker processes by default: one per core (at most `cap`, at least 1) on the one-thread backends (wasm, cpu); 1 on tensorflow, which uses every core itself. */
export function defaultWorkers(backendName: string, cap: number): number {
  return runsOneThread(backendName) ? Math.max(1, Math.min(availableParallelism(), cap)) : 1;
}
