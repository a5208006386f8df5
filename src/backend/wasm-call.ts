/**
 * What the replacement wasm kernels (wasm-kernels.ts, wasm-depthwise.ts, wasm-adam.ts)
 * share: the slice of BackendWasm they use, and calling another registered wasm kernel.
 */
import { getKernel, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

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
