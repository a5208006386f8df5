/**
 * A minimal, read-only ZIP reader over an in-memory Buffer (APPNOTE.TXT 6.3):
 * end-of-central-directory search, ZIP64 end record / locator and ZIP64 extra
 * fields (PyTorch checkpoints are hundreds of MB and torch's writer switches to
 * ZIP64 past 4 GiB), central directory, local headers. Methods: stored (0) and
 * deflate (8). Every entry's CRC-32 is checked when it is read.
 *
 * Sizes and offsets always come from the central directory: torch's writer sets
 * the data-descriptor flag (bit 3), so local headers may carry zero sizes.
 * No encryption, no multi-disk archives, no other compression methods.
 */
import * as zlib from 'node:zlib';
import { ModelLoadError } from '../errors.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Offset of the local file header. */
  localOffset: number;
}

export interface ZipArchive {
  /** Entries in central-directory order (directories included, names ending in '/'). */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * The bytes of an entry, CRC-checked. Stored entries are zero-copy views into the
   * archive buffer (do not write to them); deflated ones are inflated on each call.
   */
  read(name: string): Buffer;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** Parses the archive structure (no entry is decompressed until `read`). */
export function openZip(buf: Buffer, source = 'zip data'): ZipArchive {
  const fail = (msg: string): never => {
    throw new ModelLoadError(`${source}: ${msg}`);
  };
  if (buf.length < EOCD_SIZE) fail(`not a zip archive (${buf.length} bytes; truncated or empty file?)`);

  // End of central directory: scan backwards over a possible archive comment.
  let eocd = -1;
  const stop = Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT);
  for (let i = buf.length - EOCD_SIZE; i >= stop; i--) {
    if (buf.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + buf.readUInt16LE(i + 20) <= buf.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    const hint = buf.readUInt32LE(0) === SIG_LOCAL ? 'the file starts like a zip but has no end record: truncated or corrupt' : 'no zip end-of-central-directory record';
    fail(`not a readable zip archive (${hint})`);
  }
  const diskNo = buf.readUInt16LE(eocd + 4);
  const cdDisk = buf.readUInt16LE(eocd + 6);
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);

  // ZIP64: a locator sits right before the EOCD and points at the ZIP64 end record.
  const loc = eocd - 20;
  if (loc >= 0 && buf.readUInt32LE(loc) === SIG_ZIP64_LOCATOR) {
    const z64 = u64(buf, loc + 8, fail);
    if (z64 + 56 > loc || buf.readUInt32LE(z64) !== SIG_ZIP64_EOCD) fail('corrupt ZIP64 end-of-central-directory record');
    if (buf.readUInt32LE(z64 + 16) !== 0 || buf.readUInt32LE(z64 + 20) !== 0) fail('multi-disk zip archives are not supported');
    count = u64(buf, z64 + 32, fail);
    cdSize = u64(buf, z64 + 40, fail);
    cdOffset = u64(buf, z64 + 48, fail);
  } else if (diskNo !== 0 || cdDisk !== 0) {
    fail('multi-disk zip archives are not supported');
  }
  if (cdOffset + cdSize > buf.length) fail(`central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the ${buf.length}-byte file: truncated`);

  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== SIG_CENTRAL) fail(`corrupt central directory (entry ${n} of ${count})`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let csize = buf.readUInt32LE(p + 20);
    let usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > buf.length) fail(`corrupt central directory (entry ${n} runs past the end of the file)`);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);

    // ZIP64 extended information: only the fields whose 32-bit value is saturated, in this order.
    if (usize === 0xffffffff || csize === 0xffffffff || localOffset === 0xffffffff) {
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      let found = false;
      while (e + 4 <= eEnd) {
        const id = buf.readUInt16LE(e);
        const len = buf.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          const qEnd = q + len;
          const take = (): number => {
            if (q + 8 > qEnd) fail(`'${name}': ZIP64 extra field too short`);
            const v = u64(buf, q, fail);
            q += 8;
            return v;
          };
          if (usize === 0xffffffff) usize = take();
          if (csize === 0xffffffff) csize = take();
          if (localOffset === 0xffffffff) localOffset = take();
          found = true;
          break;
        }
        e += 4 + len;
      }
      if (!found) fail(`'${name}': sizes need a ZIP64 extra field but there is none`);
    }
    if (flags & 0x1) fail(`'${name}' is encrypted (not supported)`);
    entries.set(name, { name, method, compressedSize: csize, size: usize, crc32: crc, localOffset });
    p = end;
  }

  const read = (name: string): Buffer => {
    const e = entries.get(name);
    if (e === undefined) return fail(`no entry '${name}' in the archive`);
    const lh = e.localOffset;
    if (lh + 30 > buf.length || buf.readUInt32LE(lh) !== SIG_LOCAL) fail(`'${name}': bad local header at offset ${lh} (corrupt or truncated)`);
    const start = lh + 30 + buf.readUInt16LE(lh + 26) + buf.readUInt16LE(lh + 28);
    if (start + e.compressedSize > buf.length) {
      fail(`'${name}': ${e.compressedSize} bytes at offset ${start} run past the end of the ${buf.length}-byte file (truncated)`);
    }
    const raw = buf.subarray(start, start + e.compressedSize);
    let data: Buffer;
    if (e.method === 0) {
      if (e.compressedSize !== e.size) fail(`'${name}': stored entry with compressed size ${e.compressedSize} != size ${e.size}`);
      data = raw;
    } else if (e.method === 8) {
      try {
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        return fail(`'${name}': cannot inflate (${(err as Error).message})`);
      }
      if (data.length !== e.size) fail(`'${name}': inflated to ${data.length} bytes, expected ${e.size}`);
    } else {
      return fail(`'${name}' uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
    }
    const crc = crc32(data);
    if (crc !== e.crc32) fail(`'${name}': CRC-32 mismatch (${hex(crc)} != ${hex(e.crc32)}): corrupt file`);
    return data;
  };

  return { entries, read };
}

/** Eager variant: every file entry (directories excluded), decompressed and CRC-checked. */
export function readZip(buf: Buffer, source = 'zip data'): Map<string, Buffer> {
  const z = openZip(buf, source);
  const out = new Map<string, Buffer>();
  for (const name of z.entries.keys()) if (!name.endsWith('/')) out.set(name, z.read(name));
  return out;
}

/** True if the buffer starts with a zip local-file header (or is an empty archive). */
export function looksLikeZip(buf: Buffer): boolean {
  return buf.length >= 4 && (buf.readUInt32LE(0) === SIG_LOCAL || buf.readUInt32LE(0) === SIG_EOCD);
}

function u64(buf: Buffer, at: number, fail: (m: string) => never): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`64-bit size/offset ${v} is too large`);
  return Number(v);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as zip uses); node:zlib's native crc32 where available (Node >= 20.15). */
export function crc32(data: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  return crc32Js(data);
}

/** Table-driven CRC-32 in JavaScript (the fallback of `crc32`). */
export function crc32Js(data: Uint8Array): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
