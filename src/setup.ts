/**
 * `ganon setup native`: runs scripts/setup-native.mjs (plain Node, built-ins
 * only, so it also works before `npm ci` finished) as a child process and
 * passes its output through. Exit codes: 0 built and checked, 1 failed,
 * 2 a prerequisite is missing.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/setup-native.mjs', import.meta.url));

export interface SetupNativeOptions { gpu: boolean; wheel?: string; dir?: string; force: boolean }

export function setupNativeArgs(o: SetupNativeOptions): string[] {
  return [
    ...(o.gpu ? ['--gpu'] : []),
    ...(o.wheel ? ['--wheel', o.wheel] : []),
    ...(o.dir ? ['--dir', o.dir] : []),
    ...(o.force ? ['--force'] : []),
  ];
}

export function runSetupNative(o: SetupNativeOptions): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...setupNativeArgs(o)], { stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
}
