import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs `ganon ...args` in a child process (wasm backend unless env says otherwise). */
export function ganon(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [`${repoRoot}bin/ganon.js`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, GANON_BACKEND: 'wasm', ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
