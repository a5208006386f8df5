/**
 * safetensors reader/writer (https://huggingface.co/docs/safetensors, format spec):
 * 8-byte little-endian u64 header length N, then N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`,
 * then the raw little-endian data. Offsets are relative to the end of the header.
 * Only F32 is read and written as tensors here (the networks are float32); other
 * dtypes are rejected with a clear message rather than silently converted.
 */
import { ModelLoadError } from '../errors.js';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
export type TensorMap = Map<string, NamedTensor>;

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Serialises float32 tensors (insertion order kept) and string metadata. */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new Error(`safetensors: tensor '${name}' has shape [${t.shape}] (${n} values) but ${t.data.length} values`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the spec).
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    bytes.copy(out, pos);
    pos += bytes.length;
  }
  return out;
}

/** Parses a safetensors buffer. `source` names the file in error messages. */
export function decodeSafetensors(buf: Buffer, source = 'safetensors data'): SafetensorsFile {
  if (buf.length < 8) throw new ModelLoadError(`${source}: not a safetensors file (${buf.length} bytes, expected an 8-byte header length first)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n <= 0 || n > MAX_HEADER || 8 + n > buf.length) {
    throw new ModelLoadError(`${source}: not a safetensors file (header length ${n} does not fit in ${buf.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ModelLoadError(`${source}: safetensors header is not valid JSON`);
  }
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  // Keep file order (by offset) so writers that preserve state_dict order round-trip.
  entries.sort((a, b) => offsetsOf(a[1])[0] - offsetsOf(b[1])[0]);
  for (const [name, raw] of entries) {
    const info = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (info.dtype !== 'F32') {
      throw new ModelLoadError(`${source}: tensor '${name}' has dtype ${String(info.dtype)}; only F32 is supported`);
    }
    const shape = info.shape ?? [];
    const [begin, end] = offsetsOf(info);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * count || begin < 0 || end > dataLen) {
      throw new ModelLoadError(`${source}: tensor '${name}' offsets [${begin}, ${end}] do not match shape [${shape}]`);
    }
    // Copy so the result does not alias the (possibly unaligned) file buffer.
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buf.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape, data });
  }
  if (header.__metadata__ !== undefined) metadata = header.__metadata__ as Record<string, string>;
  return { tensors, metadata };
}

function offsetsOf(info: unknown): [number, number] {
  const o = (info as { data_offsets?: unknown }).data_offsets;
  if (!Array.isArray(o) || o.length !== 2) return [0, 0];
  return [Number(o[0]), Number(o[1])];
}
