/**
 * Backend selection. `auto` prefers a working native TensorFlow build
 * (tfjs-node-gpu, tfjs-node, or the one `ganon setup native` builds), then wasm,
 * then the pure-JS cpu backend. The wasm backend gets replacement gradient
 * kernels first (./wasm-kernels.ts) so it can train.
 *
 * wasm runs one thread under Node 4.22 (setThreadsCount is ignored, tfjs#3830);
 * multi-core work comes from worker processes, each with its own backend.
 */
import * as tf from '@tensorflow/tfjs-core';
// The umbrella package registers every op's gradient and the chained-op methods
// (tfjs-core's Node bundle alone has neither).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { registerWasmGradientKernels } from './wasm-kernels.js';
import { registerWasmDepthwiseGradientKernels } from './wasm-depthwise.js';
import { loadNativeBackend, type NativeBackendInfo } from './native.js';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** The tfjs backend name in use: tensorflow | wasm | cpu. */
  name: string;
  /** What was asked for. */
  requested: BackendName;
  tfjsVersion: string;
  native: NativeBackendInfo | null;
  /** Why faster backends were not used (auto only). */
  fallbacks: string[];
}

let active: BackendInfo | null = null;

export function parseBackendName(value: string | undefined): BackendName {
  const v = (value ?? 'auto').trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new BackendError(`unknown backend '${value}': expected one of ${BACKEND_NAMES.join(', ')}`);
}

/**
 * Initialises the requested backend once per process and returns what is in use.
 * `requested` defaults to env GANON_BACKEND, then 'auto'.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const want = parseBackendName(requested ?? process.env.GANON_BACKEND);
  // Production mode silences tfjs's console banners ("install tfjs-node…"),
  // which would otherwise interleave with progress output.
  tf.env().set('PROD', true);
  if (active !== null && (want === active.requested || want === active.name)) return active;
  const fallbacks: string[] = [];
  let native: NativeBackendInfo | null = null;
  if (want === 'auto' || want === 'tensorflow') {
    const probe = await loadNativeBackend();
    native = probe.info;
    for (const t of probe.tried) fallbacks.push(`${t.package}: ${t.error}`);
    if (native !== null && (await tf.setBackend('tensorflow'))) {
      return (active = describe(want, native, fallbacks));
    }
    if (want === 'tensorflow') {
      throw new BackendError(`backend 'tensorflow' is not available (${fallbacks.join('; ') || 'no native build found'}); run 'npm run setup:native' or use --backend wasm`);
    }
  }
  if (want === 'auto' || want === 'wasm') {
    registerWasmGradientKernels();
    registerWasmDepthwiseGradientKernels();
    try {
      if (await tf.setBackend('wasm')) return (active = describe(want, null, fallbacks));
      fallbacks.push('wasm: setBackend returned false');
    } catch (e) {
      fallbacks.push(`wasm: ${(e as Error).message}`);
    }
    if (want === 'wasm') throw new BackendError(`backend 'wasm' failed to initialise: ${fallbacks.at(-1)}`);
  }
  if (!(await tf.setBackend('cpu'))) throw new BackendError("backend 'cpu' failed to initialise");
  return (active = describe(want, null, fallbacks));
}

function describe(requested: BackendName, native: NativeBackendInfo | null, fallbacks: string[]): BackendInfo {
  return { name: tf.getBackend(), requested, tfjsVersion: tf.version_core, native, fallbacks };
}

/** The backends that run one thread per TF.js engine (the toolkit adds worker threads or processes there). */
export function runsOneThread(backendName: string): boolean {
  return backendName === 'wasm' || backendName === 'cpu';
}

/** The backend chosen by initBackend, or null before it ran. */
export function activeBackend(): BackendInfo | null {
  return active;
}

/** One line for logs: "backend: wasm (tfjs 4.22.0)". */
export function backendLine(info: BackendInfo): string {
  const lib = info.native ? `, libtensorflow ${info.native.libtensorflowVersion} via ${info.native.package}` : '';
  return `backend: ${info.name} (tfjs ${info.tfjsVersion}${lib})`;
}
