import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '../../src/io/safetensors.js';
import { fixtureDir } from '../helpers/fixtures.js';

describe('safetensors', () => {
  it('round-trips tensors, order and metadata', () => {
    const m: TensorMap = new Map([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['a', { shape: [1], data: Float32Array.from([-0.5]) }],
      ['empty', { shape: [0], data: new Float32Array(0) }],
    ]);
    const buf = encodeSafetensors(m, { note: 'x' });
    const back = decodeSafetensors(buf);
    expect([...back.tensors.keys()]).toEqual(['b.weight', 'a', 'empty']);
    expect(Array.from(back.tensors.get('b.weight')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.metadata).toEqual({ note: 'x' });
    // header length is little-endian u64 and data starts 8-byte aligned
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
  });

  it('reads files written by the Python safetensors package', () => {
    const f = decodeSafetensors(readFileSync(`${fixtureDir}pix2pix/unet_small.safetensors`));
    expect(f.tensors.get('down1.model.0.weight')!.shape).toEqual([8, 3, 4, 4]);
    expect(f.tensors.get('input')!.shape).toEqual([2, 3, 32, 32]);
  });

  it('rejects truncated, garbage and non-F32 files with a clear message', () => {
    expect(() => decodeSafetensors(Buffer.from([1, 2, 3]), 'x.safetensors')).toThrow(ModelLoadError);
    expect(() => decodeSafetensors(Buffer.from('this is not a safetensors file at all'), 'x')).toThrow(/not a safetensors file/);
    const good = encodeSafetensors(new Map([['w', { shape: [4], data: new Float32Array(4) }]]));
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4), 'cut')).toThrow(/offsets .* do not match/);
    const header = JSON.stringify({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } });
    const f16 = Buffer.alloc(8 + header.length + 4);
    f16.writeBigUInt64LE(BigInt(header.length));
    f16.write(header, 8);
    expect(() => decodeSafetensors(f16, 'half')).toThrow(/dtype F16; only F32/);
  });
});
