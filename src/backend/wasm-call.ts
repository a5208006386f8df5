/**
 * What the replacement wasm kernels (wasm-kernels.ts, wasm-depthwise.ts, wasm-adam.ts)
 * share: the slice of BackendWasm they use, calling another registered wasm kernel, and
 * putting a replacement in place of one of wasm's own kernels.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Runs the wasm kernel registered now under `name` (ours where we replaced it). */
export function callWasm(name: string, backend: WasmBackendLike, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap = {}): TensorInfo {
  const k = getKernel(name, 'wasm');
  if (k === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc({ inputs: inputs as never, backend: backend as never, attrs }) as TensorInfo;
}

/**
 * Registers `kernelFunc` for wasm in place of wasm's own kernel `name`, keeping that kernel's
 * setup and dispose functions (the backend runs them when it initialises). Returns wasm's own
 * kernel, or null where there is none or ours is in place already.
 */
export function replaceWasmKernel(name: string, kernelFunc: KernelFunc): KernelConfig | null {
  const own = getKernel(name, 'wasm');
  if (own === undefined || own.kernelFunc === kernelFunc) return null;
  unregisterKernel(name, 'wasm');
  const cfg: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc };
  if (own.setupFunc !== undefined) cfg.setupFunc = own.setupFunc;
  if (own.disposeFunc !== undefined) cfg.disposeFunc = own.disposeFunc;
  registerKernel(cfg);
  return own;
}
