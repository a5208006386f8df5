/**
 * Finds and registers a native TensorFlow backend ('tensorflow') for tfjs:
 *
 *   1. `@tensorflow/tfjs-node-gpu`, installed the regular npm way;
 *   2. `@tensorflow/tfjs-node`, installed the regular npm way;
 *   3. the build made by `npm run setup:native` (scripts/setup-native.mjs) in
 *      `nativeDir` — default env GANON_NATIVE_DIR, else `<repo root>/.native`
 *      (its tfjs-node-gpu build first, if there is one, then tfjs-node).
 *
 * `gpu: true` tries only the GPU packages, `gpu: false` only the CPU ones,
 * left out tries all in the order above.
 *
 * One tfjs-core: a candidate is loaded only if its `@tensorflow/tfjs-core` (and
 * that of the `@tensorflow/tfjs` it requires) resolves to the very file this
 * project uses, so the backend registers into the project's engine and no second
 * copy of tfjs-core is loaded. setup-native arranges this for `.native/` by
 * leaving the project's @tensorflow packages out of the isolated install, so
 * Node's lookup walks up to `<repo>/node_modules`.
 *
 * Importing tfjs-node registers the backend *and* makes it active; this function
 * puts back whichever backend was active before (if one was), so the caller
 * decides with `tf.setBackend('tensorflow')`. If none was active, 'tensorflow'
 * stays active, which is what tfjs would pick anyway (highest priority).
 *
 * Silent and never throws: failures come back in `tried`. It sets
 * TF_CPU_ALLOCATOR_USE_BFC=true (unless set; see below) and
 * TF_CPP_MIN_LOG_LEVEL=2 (unless set) so libtensorflow's start-up INFO/WARNING
 * lines do not reach stderr, and swallows console output during the import.
 * TF_ENABLE_ONEDNN_OPTS is left as set (docs/native.md: on this machine's AVX2
 * CPU TensorFlow leaves its oneDNN ops off by default, and turning them on
 * measured the same).
 *
 * It also wraps tfjs-node's two conv-gradient kernels (explicit padding, and
 * faster routes on CPU: src/backend/native-conv.ts) and registers ganon's
 * native-only kernels (src/backend/native-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchConvGradients } from './native-conv.js';
import { registerNativeKernels } from './native-kernels.js';

export interface NativeBackendInfo { backend: 'tensorflow'; package: string; source: 'npm' | 'setup-native'; libtensorflowVersion: string; path: string }
export interface NativeProbe { info: NativeBackendInfo | null; tried: { package: string; error: string }[] }

const GPU_PKG = '@tensorflow/tfjs-node-gpu';
const CPU_PKG = '@tensorflow/tfjs-node';

interface Candidate { package: string; source: 'npm' | 'setup-native'; base: string; gpu: boolean }

let loaded: NativeBackendInfo | null = null;

/** The directory holding ganon's package.json, found upward from this file. */
export function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (;;) {
    try {
      const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pj.name === 'ganon') return dir;
    } catch { /* keep walking */ }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(here, '..', '..');
    dir = up;
  }
}

/** Where setup-native puts its build: env GANON_NATIVE_DIR, else <repo root>/.native. */
export function defaultNativeDir(): string {
  const env = process.env.GANON_NATIVE_DIR;
  return env ? path.resolve(env) : path.join(repoRoot(), '.native');
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // Node's "Cannot find module" messages carry a long require stack; keep line 1.
  return text.split('\n')[0]!.trim();
}

function tfVersionOf(): string | null {
  try {
    const b = tf.findBackend('tensorflow') as unknown as { binding?: { TF_Version?: unknown } } | null;
    const v = b?.binding?.TF_Version;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Undo what a failed tfjs-node import left behind, so the next candidate starts clean. */
function cleanupTensorflow(): void {
  try {
    for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
  } catch { /* nothing registered */ }
  try {
    if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
  } catch { /* not registered */ }
}

function withQuietConsole<T>(fn: () => T): { value?: T; error?: unknown; output: string[] } {
  const c = console as unknown as Record<string, (...a: unknown[]) => void>;
  const names = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = names.map((n) => c[n]);
  const output: string[] = [];
  for (const n of names) c[n] = (...a: unknown[]) => { output.push(a.map(String).join(' ')); };
  try {
    return { value: fn(), output };
  } catch (error) {
    return { error, output };
  } finally {
    names.forEach((n, i) => { c[n] = saved[i]!; });
  }
}

async function tryCandidate(c: Candidate, projectCore: string): Promise<NativeBackendInfo> {
  const req = createRequire(path.join(c.base, 'package.json'));
  let pkgJson: string;
  try {
    pkgJson = req.resolve(`${c.package}/package.json`);
  } catch {
    throw new Error(c.source === 'npm' ? 'not installed' : `not built in ${c.base} (run 'npm run setup:native${c.gpu ? ' -- --gpu' : ''}')`);
  }
  const pkgDir = path.dirname(fs.realpathSync(pkgJson));
  // One tfjs-core instance: refuse candidates that would bring their own.
  const pkgReq = createRequire(path.join(pkgDir, 'package.json'));
  const resolveCore = (r: NodeRequire, what: string): string => {
    try {
      return fs.realpathSync(r.resolve('@tensorflow/tfjs-core'));
    } catch (e) {
      throw new Error(`${what} cannot resolve @tensorflow/tfjs-core: ${message(e)}`);
    }
  };
  const cores = new Set([resolveCore(pkgReq, c.package)]);
  let union: string;
  try {
    union = pkgReq.resolve('@tensorflow/tfjs');
  } catch (e) {
    throw new Error(`${c.package} cannot resolve @tensorflow/tfjs: ${message(e)}`);
  }
  cores.add(resolveCore(createRequire(union), '@tensorflow/tfjs'));
  const others = [...cores].filter((p) => p !== projectCore);
  if (others.length > 0) {
    throw new Error(`would load a second @tensorflow/tfjs-core (${others.join(', ')}; the project's is ${projectCore})` +
      (c.source === 'setup-native' ? "; rerun 'npm run setup:native'" : '; dedupe with npm'));
  }

  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // TensorFlow's BFC allocator on CPU reuses freed buffers instead of returning
  // them to the OS: every elementwise op over 57M parameters otherwise pays
  // fresh page faults. Measured: 256 px train step 2.8 s -> 2.0 s (docs/performance.md).
  process.env.TF_CPU_ALLOCATOR_USE_BFC ??= 'true';
  const engine = tf.engine();
  const prev = engine.backendName ?? null;
  const res = withQuietConsole(() => req(c.package) as unknown);
  try {
    if (res.error !== undefined) throw res.error;
    if (tf.findBackendFactory('tensorflow') == null) throw new Error(`importing ${c.package} registered no 'tensorflow' backend`);
    const version = tfVersionOf();
    if (version === null) throw new Error(`the 'tensorflow' backend failed to initialise${res.output.length ? `: ${res.output.join(' | ')}` : ''}`);
    patchConvGradients();
    registerNativeKernels();
    return { backend: 'tensorflow', package: c.package, source: c.source, libtensorflowVersion: version, path: pkgDir };
  } catch (e) {
    cleanupTensorflow();
    const extra = res.output.length && res.error !== undefined ? ` (${res.output.join(' | ').slice(0, 300)})` : '';
    throw new Error(`${message(e)}${extra}`);
  } finally {
    if (prev !== null && engine.backendName !== prev && engine.backendNames().includes(prev)) {
      try { await tf.setBackend(prev); } catch { /* keep going: the caller sets a backend anyway */ }
    }
  }
}

/**
 * Loads the first working native backend (see the file comment) and reports it.
 * Registers the 'tensorflow' backend; does not leave it active if another
 * backend was. Never throws, never prints.
 */
export async function loadNativeBackend(opts?: { gpu?: boolean; nativeDir?: string }): Promise<NativeProbe> {
  const tried: NativeProbe['tried'] = [];
  try {
    if (loaded !== null && tf.findBackendFactory('tensorflow') != null) return { info: loaded, tried };
    const root = repoRoot();
    const nativeDir = opts?.nativeDir ? path.resolve(opts.nativeDir) : defaultNativeDir();
    const projectReq = createRequire(import.meta.url);
    let projectCore: string;
    try {
      projectCore = fs.realpathSync(projectReq.resolve('@tensorflow/tfjs-core'));
    } catch (e) {
      return { info: null, tried: [{ package: '@tensorflow/tfjs-core', error: message(e) }] };
    }
    if (tf.findBackendFactory('tensorflow') != null) {
      // Someone registered it before us (e.g. the user imported tfjs-node).
      const v = tfVersionOf();
      if (v !== null) {
        patchConvGradients();
        registerNativeKernels();
        return { info: (loaded = { backend: 'tensorflow', package: 'unknown (registered before ganon)', source: 'npm', libtensorflowVersion: v, path: '' }), tried };
      }
    }
    const wantGpu = opts?.gpu;
    const all: Candidate[] = [
      { package: GPU_PKG, source: 'npm', base: root, gpu: true },
      { package: CPU_PKG, source: 'npm', base: root, gpu: false },
      { package: GPU_PKG, source: 'setup-native', base: nativeDir, gpu: true },
      { package: CPU_PKG, source: 'setup-native', base: nativeDir, gpu: false },
    ];
    const candidates = all.filter((c) => {
      if (wantGpu !== undefined && c.gpu !== wantGpu) return false;
      // An absent GPU build in nativeDir is only worth a line when GPU was asked for.
      if (c.source === 'setup-native' && c.gpu && wantGpu !== true) {
        return fs.existsSync(path.join(nativeDir, 'node_modules', ...GPU_PKG.split('/'), 'package.json'));
      }
      return true;
    });
    for (const c of candidates) {
      try {
        loaded = await tryCandidate(c, projectCore);
        return { info: loaded, tried };
      } catch (e) {
        tried.push({ package: c.source === 'npm' ? c.package : `${c.package} (${c.base})`, error: message(e) });
      }
    }
    return { info: null, tried };
  } catch (e) {
    tried.push({ package: 'native backend', error: message(e) });
    return { info: null, tried };
  }
}
