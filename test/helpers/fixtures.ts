import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, type TensorMap } from '../../src/io/safetensors.js';
import type { ParamSpec } from '../../src/models/params.js';

export const fixtureDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function loadFixture(rel: string): TensorMap {
  return decodeSafetensors(readFileSync(fixtureDir + rel), rel).tensors;
}

/** The weight formula of test/fixtures/pix2pix/make_fixtures.py, in PyTorch layout. */
export function formulaWeights(specs: readonly ParamSpec[], amplitude: number): TensorMap {
  const out: TensorMap = new Map();
  specs.forEach((s, k) => {
    const n = s.torchShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = amplitude * Math.sin(0.37 * i + 1.91 * k + 0.5);
    out.set(s.name, { shape: s.torchShape.slice(), data });
  });
  return out;
}

/** The input formula of make_fixtures.py: NCHW flat index i -> 0.9 sin(0.013 i + 0.2). */
export function formulaInput(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.9 * Math.sin(0.013 * i + 0.2);
  return out;
}
