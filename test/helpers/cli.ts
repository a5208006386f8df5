import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult { code: number; stdout: string; stderr: string }

/**
 * Runs `ganon ...args` in a child process (wasm backend unless env says otherwise) and waits
 * without blocking the test worker: a worker blocked for a minute misses vitest's RPC
 * heartbeats ("Timeout calling onTaskUpdate"), so every CLI test awaits this.
 */
export function ganon(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return ganonAsync(args, env, 300_000);
}

/** The blocking form, for the rare test that needs it. */
export function ganonSync(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [`${repoRoot}bin/ganon.js`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, GANON_BACKEND: 'wasm', ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same as `ganon`, without blocking the test worker (for long runs: a blocked worker misses vitest's RPC heartbeats). */
export function ganonAsync(args: string[], env: Record<string, string> = {}, timeoutMs = 900_000): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [`${repoRoot}bin/ganon.js`, ...args], { cwd: repoRoot, env: { ...process.env, GANON_BACKEND: 'wasm', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}
