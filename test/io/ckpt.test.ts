/**
 * PyTorch checkpoint reading without Python: zip container, inert unpickler, tensor
 * rebuild, Lightning state-dict selection, and forward parity with PyTorch. Fixtures
 * from test/fixtures/ckpt/make_ckpt.py (torch 2.13).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { PickleDict, PickleGlobal, PickleObject, unpickle } from '../../src/io/pickle.js';
import { loadTorchArchive, readTorchCheckpoint, TorchTensor, halfToFloat } from '../../src/io/torch-checkpoint.js';
import { crc32, crc32Js, openZip, readZip } from '../../src/io/zip.js';
import { fromTorchMap, Params } from '../../src/models/params.js';
import { patchganSpecs } from '../../src/models/patchgan.js';
import { unetForward, unetSpecs, type UNetConfig } from '../../src/models/unet.js';
import type { TensorMap } from '../../src/io/safetensors.js';
import { fixtureDir, loadFixture } from '../helpers/fixtures.js';
import { maxAbsDiff } from '../helpers/tensors.js';

const dir = `${fixtureDir}ckpt/`;
const CKPT = `${dir}small_lightning.ckpt`;
const pickles = JSON.parse(readFileSync(`${dir}pickles.json`, 'utf8')) as {
  protocols: Record<string, string>;
  evil: Record<string, string>;
  eval: string;
  marker: string;
};

// ---------------------------------------------------------------------------------------------
// A tiny zip writer (stored/deflate, optional ZIP64 records), so the reader is tested without Python.
// ---------------------------------------------------------------------------------------------
interface ZEntry { name: string; data: Buffer; method: 0 | 8 }

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

function makeZip(entries: ZEntry[], opts: { zip64?: boolean; comment?: string } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const comp = e.method === 8 ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const local = Buffer.concat([
      u32(0x04034b50), u16(20), u16(0x800), u16(e.method), u16(0), u16(0),
      u32(crc), u32(comp.length), u32(e.data.length), u16(name.length), u16(0), name,
    ]);
    const z64 = opts.zip64 === true;
    const extra = z64 ? Buffer.concat([u16(0x0001), u16(24), u64(e.data.length), u64(comp.length), u64(offset)]) : Buffer.alloc(0);
    central.push(Buffer.concat([
      u32(0x02014b50), u16(45), u16(45), u16(0x800), u16(e.method), u16(0), u16(0), u32(crc),
      u32(z64 ? 0xffffffff : comp.length), u32(z64 ? 0xffffffff : e.data.length),
      u16(name.length), u16(extra.length), u16(0), u16(0), u16(0), u32(0), u32(z64 ? 0xffffffff : offset), name, extra,
    ]));
    parts.push(local, comp);
    offset += local.length + comp.length;
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  const tail: Buffer[] = [];
  if (opts.zip64 === true) {
    const z64eocdAt = cdOffset + cd.length;
    tail.push(Buffer.concat([
      u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0),
      u64(entries.length), u64(entries.length), u64(cd.length), u64(cdOffset),
    ]));
    tail.push(Buffer.concat([u32(0x07064b50), u32(0), u64(z64eocdAt), u32(1)]));
  }
  const comment = Buffer.from(opts.comment ?? '', 'latin1');
  const z = opts.zip64 === true;
  tail.push(Buffer.concat([
    u32(0x06054b50), u16(0), u16(0), u16(z ? 0xffff : entries.length), u16(z ? 0xffff : entries.length),
    u32(z ? 0xffffffff : cd.length), u32(z ? 0xffffffff : cdOffset), u16(comment.length), comment,
  ]));
  return Buffer.concat([...parts, cd, ...tail]);
}

/** A pickle of one REDUCE: module.name(arg) — what a malicious file does. */
function reducePickle(module: string, name: string, arg: string, stackGlobal = false): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
  const glob = stackGlobal
    ? Buffer.concat([str(module), str(name), Buffer.from([0x93])])
    : Buffer.from(`c${module}\n${name}\n`, 'latin1');
  return Buffer.concat([Buffer.from([0x80, 0x04]), glob, str(arg), Buffer.from([0x85, 0x52, 0x2e])]);
}

function markerPath(tag: string): string {
  return join(tmpdir(), `ganon-pwned-${tag}-${process.pid}-${Date.now()}`);
}

// ---------------------------------------------------------------------------------------------
describe('zip reader', () => {
  const text = Buffer.from('the quick brown fox '.repeat(50));
  const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));

  it('reads stored and deflated entries, with an archive comment', () => {
    const z = makeZip([
      { name: 'a/stored.bin', data: bin, method: 0 },
      { name: 'a/deflated.txt', data: text, method: 8 },
      { name: 'a/empty', data: Buffer.alloc(0), method: 8 },
    ], { comment: 'PK\x05\x06 not a real end record' });
    const m = readZip(z, 'mem.zip');
    expect([...m.keys()]).toEqual(['a/stored.bin', 'a/deflated.txt', 'a/empty']);
    expect(m.get('a/stored.bin')!.equals(bin)).toBe(true);
    expect(m.get('a/deflated.txt')!.equals(text)).toBe(true);
    expect(m.get('a/empty')!.length).toBe(0);
    const arch = openZip(z);
    expect(arch.entries.get('a/deflated.txt')!.method).toBe(8);
    expect(arch.entries.get('a/deflated.txt')!.compressedSize).toBeLessThan(text.length);
  });

  it('reads ZIP64 end records and extra fields', () => {
    const z = makeZip([{ name: 'x/data.bin', data: bin, method: 0 }, { name: 'x/t.txt', data: text, method: 8 }], { zip64: true });
    const arch = openZip(z, 'z64');
    expect(arch.entries.get('x/data.bin')!.size).toBe(300);
    expect(arch.read('x/data.bin').equals(bin)).toBe(true);
    expect(arch.read('x/t.txt').equals(text)).toBe(true);
  });

  it('reads an archive written by Python zipfile (stored + ZIP_DEFLATED)', () => {
    const m = readZip(readFileSync(`${dir}tiny.zip`), 'tiny.zip');
    expect(m.get('top/stored.txt')!.toString()).toBe('hello stored\n');
    expect(m.get('top/deflated.txt')!.toString()).toBe('deflate me '.repeat(40));
    expect(m.get('top/empty.bin')!.length).toBe(0);
    expect(openZip(readFileSync(`${dir}tiny.zip`)).entries.get('top/deflated.txt')!.method).toBe(8);
  });

  it('CRC-32 matches the reference value, native and in JS', () => {
    const s = Buffer.from('123456789');
    expect(crc32(s)).toBe(0xcbf43926);
    expect(crc32Js(s)).toBe(0xcbf43926);
    expect(crc32Js(bin)).toBe(crc32(bin));
  });

  it('rejects corrupt and truncated archives with ModelLoadError', () => {
    const z = makeZip([{ name: 'a/s', data: bin, method: 0 }, { name: 'a/d', data: text, method: 8 }]);
    const flipped = Buffer.from(z);
    flipped[140] = flipped[140]! ^ 0xff; // inside a/s's data
    expect(() => openZip(flipped, 'flip').read('a/s')).toThrow(/CRC-32 mismatch/);
    expect(() => openZip(z.subarray(0, z.length - 30), 'cut')).toThrow(ModelLoadError);
    expect(() => openZip(z.subarray(0, z.length - 30), 'cut')).toThrow(/truncated or corrupt/);
    expect(() => openZip(Buffer.from('hello'), 'tiny')).toThrow(/not a zip archive/);
    expect(() => openZip(z).read('nope')).toThrow(/no entry 'nope'/);
    const ckpt = readFileSync(CKPT);
    expect(() => readTorchCheckpoint(ckpt.subarray(0, ckpt.length >> 1), 'half.ckpt')).toThrow(ModelLoadError);
  });
});

// ---------------------------------------------------------------------------------------------
describe('inert unpickler', () => {
  it('decodes the same value pickled with protocols 0-5', () => {
    for (const p of ['0', '1', '2', '3', '4', '5']) {
      const v = unpickle(Buffer.from(pickles.protocols[p]!, 'hex'), { source: `proto ${p}` }) as PickleDict;
      expect(v).toBeInstanceOf(PickleDict);
      expect(v.get('ints')).toEqual([0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 40, -(2n ** 70n), 2n ** 64n]);
      expect(v.get('floats')).toEqual([1.5, -0, 1e-300, Infinity]);
      expect(Object.is((v.get('floats') as number[])[1], -0)).toBe(true);
      expect(v.get('strs')).toEqual(['', 'ascii', 'ünïcode ☃', 'it\'s "quoted"\nline\\']);
      expect(Buffer.from(v.get('bytes') as Uint8Array).equals(Buffer.from([0, 0xff, 0x72, 0x61, 0x77]))).toBe(true);
      expect(Buffer.from(v.get('bytearray') as Uint8Array).toString()).toBe('ab');
      expect(v.get('consts')).toEqual([null, true, false]);
      expect(v.get('tuples')).toEqual([[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]);
      expect([...(v.get('int_keys') as PickleDict).entries()]).toEqual([[1, 'one'], [2, 'two']]);
      expect([...(v.get('od') as PickleDict).entries()]).toEqual([['z', 1], ['a', 2]]);
      const shared = v.get('shared') as unknown[][];
      expect(shared[0]).toBe(shared[1]); // memo: the same object twice
      expect(v.get('frozen')).toEqual(['only']);
      const ns = v.get('ns') as PickleObject;
      expect(ns).toBeInstanceOf(PickleObject);
      expect(ns.className).toBe('argparse.Namespace');
      expect((ns.state as PickleDict).get('a')).toBe(1);
    }
  });

  it('GLOBAL os.system + REDUCE is an inert placeholder: nothing runs', () => {
    for (const [stackGlobal, mod, fn] of [[false, 'os', 'system'], [true, 'posix', 'system'], [true, 'subprocess', 'getoutput']] as const) {
      const marker = markerPath(`${mod}-${fn}`);
      const v = unpickle(reducePickle(mod, fn, `touch ${marker}`, stackGlobal));
      expect(v).toBeInstanceOf(PickleObject);
      expect((v as PickleObject).className).toBe(`${mod}.${fn}`);
      expect((v as PickleObject).args).toEqual([`touch ${marker}`]);
      expect(existsSync(marker)).toBe(false);
    }
    // Python's own pickler output for a __reduce__ to os.system (posix.system) and to builtins.eval.
    rmSync(pickles.marker, { force: true });
    for (const hex of [...Object.values(pickles.evil), pickles.eval]) {
      const v = unpickle(Buffer.from(hex, 'hex')) as PickleObject;
      expect(v).toBeInstanceOf(PickleObject);
      expect(['posix.system', 'builtins.eval']).toContain(v.className);
    }
    expect(existsSync(pickles.marker)).toBe(false);
  });

  it('REDUCE/BUILD/SETITEMS/APPENDS on placeholders give placeholders; globals are descriptors', () => {
    // getattr(builtins, 'exec')('...') style chains: a placeholder called again is still a placeholder.
    const p = Buffer.concat([
      Buffer.from('\x80\x02cbuiltins\ngetattr\n', 'latin1'),
      Buffer.from('cbuiltins\n__import__\n(X\x02\x00\x00\x00ostR', 'latin1'), // __import__('os')
      Buffer.from('X\x06\x00\x00\x00system\x86R', 'latin1'), // getattr(os, 'system')
      Buffer.from('X\x04\x00\x00\x00true\x85R', 'latin1'), // (...)('true')
      Buffer.from('}X\x01\x00\x00\x00kK\x01sb', 'latin1'), // BUILD with a dict state
      Buffer.from('(X\x01\x00\x00\x00aK\x02u', 'latin1'), // SETITEMS onto the placeholder
      Buffer.from('(K\x03e.', 'latin1'), // APPENDS onto the placeholder
    ]);
    const v = unpickle(p) as PickleObject;
    expect(v).toBeInstanceOf(PickleObject);
    expect(v.className).toBe('builtins.getattr(...)');
    expect((v.state as PickleDict).get('k')).toBe(1);
    expect(v.items.get('a')).toBe(2);
    expect(v.list).toEqual([3]);
    const g = unpickle(Buffer.from('\x80\x02cnumpy.core.multiarray\nscalar\n.', 'latin1'));
    expect(g).toBeInstanceOf(PickleGlobal);
    expect((g as PickleGlobal).qualifiedName).toBe('numpy.core.multiarray.scalar');
  });

  it('rejects malformed pickles with ModelLoadError', () => {
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x7d]), { source: 's' })).toThrow(/no STOP/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x2e]))).toThrow(/stack underflow/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0xff, 0x2e]))).toThrow(/unknown pickle opcode/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x58, 0xff, 0, 0, 0, 0x61]))).toThrow(/truncated pickle/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x68, 0x05, 0x2e]))).toThrow(/memo key 5 not found/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x4b, 0x01, 0x51, 0x2e]))).toThrow(/persistent id/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x82, 0x01, 0x2e]))).toThrow(/extension codes/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x74, 0x2e]))).toThrow(ModelLoadError); // TUPLE without MARK
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x4b, 0x01, 0x4b, 0x02, 0x4b, 0x03, 0x73, 0x2e]))).toThrow(/SETITEM on a non-dict/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('PyTorch / Lightning checkpoints', () => {
  const cfg: UNetConfig = { inChannels: 3, outChannels: 3, ngf: 4, depth: 5, dropout: 0.5 };

  function stripPrefix(m: TensorMap, prefix: string): TensorMap {
    const out: TensorMap = new Map();
    for (const [k, v] of m) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
    return out;
  }

  it('loads the Lightning checkpoint: epoch, global_step, generator and discriminator keys', () => {
    const { tensors, meta } = readTorchCheckpoint(CKPT);
    expect(meta.epoch).toBe(24);
    expect(meta.globalStep).toBe(12345);
    expect(meta.lightningVersion).toBe('1.9.4');
    expect(meta.stateKey).toBe('state_dict');
    expect(meta.topLevelKeys).toContain('hyper_parameters');
    const specs = unetSpecs(cfg);
    const gen = stripPrefix(tensors, 'generator.');
    expect([...gen.keys()]).toEqual(specs.map((s) => s.name));
    for (const s of specs) expect(gen.get(s.name)!.shape).toEqual(s.torchShape);
    const disc = stripPrefix(tensors, 'discriminator.');
    const dspecs = patchganSpecs({ inChannels: 3, ndf: 4 });
    expect([...disc.keys()].sort()).toEqual(dspecs.map((s) => s.name).sort());
    for (const s of dspecs) expect(disc.get(s.name)!.shape).toEqual(s.torchShape);
    expect([...disc.keys()].every((k) => /^model\.(0|2|5|8|12)\.(weight|bias)$/.test(k))).toBe(true);
    expect(meta.keys).toBe(gen.size + disc.size);
    expect(meta.skipped).toEqual([]);
    // from a Buffer too
    expect(readTorchCheckpoint(readFileSync(CKPT), 'buf').tensors.size).toBe(tensors.size);
  });

  it('keeps Lightning hyper-parameters, Namespace and callback objects as inert placeholders', () => {
    const { root } = loadTorchArchive(readFileSync(CKPT), 'ckpt');
    const top = root as PickleDict;
    const hp = top.get('hyper_parameters') as PickleDict;
    const ns = hp.get('hparams') as PickleObject;
    expect(ns.className).toBe('argparse.Namespace');
    expect((ns.state as PickleDict).get('ngf')).toBe(4);
    const attr = hp.get('extra_hparams') as PickleObject; // a dict subclass: NEWOBJ + SETITEMS + BUILD
    expect(attr.className).toBe('__main__.AttributeDictLike');
    expect(attr.items.get('lr')).toBeCloseTo(2e-4, 12);
    expect(hp.get('big_int')).toBe(2n ** 70n);
    expect(Buffer.from(hp.get('bytes') as Uint8Array).toString('latin1')).toBe('\x00\x01raw');
    const cb = [...(top.get('callbacks') as PickleDict).values()][0] as PickleObject;
    expect(cb.className).toBe('__main__.EarlyStoppingLike');
    const best = (cb.state as PickleDict).get('best_score');
    expect(best).toBeInstanceOf(TorchTensor);
  });

  it('reads float16, bfloat16, float64, 0-d and non-contiguous (strided, offset) tensors; skips int tensors', () => {
    const { tensors, meta } = readTorchCheckpoint(CKPT, 'ckpt', { stateKey: 'extra' });
    const base = Array.from({ length: 24 }, (_, i) => i / 8 - 1); // [4,6] row-major
    const tr = tensors.get('transposed')!;
    expect(tr.shape).toEqual([6, 4]);
    const want: number[] = [];
    for (let r = 0; r < 6; r++) for (let c = 0; c < 4; c++) want.push(base[c * 6 + r]!);
    expect(Array.from(tr.data)).toEqual(want);
    const col = tensors.get('column')!; // base[1:, 2]: offset 8, stride 6
    expect(col.shape).toEqual([3]);
    expect(Array.from(col.data)).toEqual([base[8], base[14], base[20]]);
    const half = tensors.get('half')!;
    expect(half.shape).toEqual([2, 3]);
    const h = Array.from(half.data);
    expect(h.slice(0, 2)).toEqual([0.5, -1.25]);
    expect(h[2]).toBeCloseTo(3.0e-5, 7); // a float16 subnormal-adjacent value
    expect(h[3]).toBe(65504);
    expect(Object.is(h[4], -0)).toBe(true);
    expect(h[5]).toBe(halfToFloat(0x3555)); // 1/3 in float16
    expect(Array.from(tensors.get('bf16')!.data)).toEqual([1.5, -2, 3.140625]);
    expect(Array.from(tensors.get('double')!.data)).toEqual([Math.fround(0.1), -7.25]);
    expect(tensors.get('scalar')).toEqual({ shape: [], data: Float32Array.from([2.5]) });
    expect(tensors.has('steps')).toBe(false);
    expect(meta.skipped).toEqual(['steps: int64 tensor skipped (only floating-point tensors are read)']);
    expect(meta.keys).toBe(7);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
  });

  it('PyTorch parity: the checkpoint generator matches the PyTorch eval-mode output within 1e-4', async () => {
    const { tensors } = readTorchCheckpoint(CKPT);
    const gen = stripPrefix(tensors, 'generator.');
    const p = new Params(unetSpecs(cfg), fromTorchMap(gen, 'small_lightning.ckpt'));
    const f = loadFixture('ckpt/small_lightning_output.safetensors');
    const input = f.get('input')!;
    const want = f.get('output')!;
    expect(input.shape).toEqual([1, 3, 32, 32]);
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(input.data, [1, 3, 32, 32]), [0, 2, 3, 1])) as tf.Tensor4D;
    const y = unetForward(p, cfg, x, { training: false });
    const yn = tf.transpose(y, [0, 3, 1, 2]);
    const got = (await yn.data()) as Float32Array;
    expect(want.shape).toEqual([1, 3, 32, 32]);
    expect(maxAbsDiff(got, want.data)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, y, yn]);
    p.dispose();
  });

  it('a plain state dict (tensors at the top level) loads; int tensors are noted', () => {
    const { tensors, meta } = readTorchCheckpoint(`${dir}plain_state_dict.pt`);
    expect(meta.stateKey).toBe('');
    expect([...tensors.keys()]).toEqual(['w', 'b']);
    expect(tensors.get('w')!.shape).toEqual([2, 3]);
    expect(meta.keys).toBe(3);
    expect(meta.skipped).toEqual(['n: int64 tensor skipped (only floating-point tensors are read)']);
    expect(meta.epoch).toBeUndefined();
  });

  it('a checkpoint with os.system / eval payloads loads inertly and runs nothing', () => {
    rmSync(pickles.marker, { force: true });
    const { tensors } = readTorchCheckpoint(`${dir}evil.pt`);
    expect(Array.from(tensors.get('w')!.data)).toEqual([1, 1]);
    const { root } = loadTorchArchive(readFileSync(`${dir}evil.pt`), 'evil');
    expect(((root as PickleDict).get('payload') as PickleObject).className).toBe('posix.system');
    expect(existsSync(pickles.marker)).toBe(false);
  });

  it('a zip with another top folder, deflated storages and a STACK_GLOBAL os.system payload', () => {
    const marker = markerPath('ckpt');
    // {'state_dict': {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 2), 0, (2,), (1,))}, 'x': os.system(...)}
    const s = (t: string) => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(t)), Buffer.from(t)]);
    const pkl = Buffer.concat([
      Buffer.from([0x80, 0x02, 0x7d, 0x28]), // EMPTY_DICT MARK
      s('state_dict'), Buffer.from([0x7d]), s('w'),
      Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n(', 'latin1'),
      Buffer.from('('), s('storage'), Buffer.from('ctorch\nFloatStorage\n', 'latin1'), s('0'), s('cpu'), Buffer.from([0x4b, 2, 0x74, 0x51]),
      Buffer.from([0x4b, 0]), Buffer.from([0x4b, 2, 0x85]), Buffer.from([0x4b, 1, 0x85]), Buffer.from([0x89]),
      Buffer.from('ccollections\nOrderedDict\n)R', 'latin1'), Buffer.from('tR', 'latin1'), Buffer.from('s', 'latin1'),
      s('x'), s('os'), s('system'), Buffer.from([0x93]), s(`touch ${marker}`), Buffer.from([0x85, 0x52]),
      Buffer.from('u.', 'latin1'),
    ]);
    const data = Buffer.from(Float32Array.from([0.25, -4]).buffer);
    const z = makeZip([
      { name: 'my_model/data.pkl', data: pkl, method: 8 },
      { name: 'my_model/data/0', data, method: 8 },
      { name: 'my_model/version', data: Buffer.from('3\n'), method: 0 },
    ]);
    const { tensors, meta } = readTorchCheckpoint(z, 'mem.ckpt');
    expect(meta.stateKey).toBe('state_dict');
    expect(Array.from(tensors.get('w')!.data)).toEqual([0.25, -4]);
    expect(meta.topLevelKeys).toEqual(['state_dict', 'x']);
    expect(existsSync(marker)).toBe(false);
  });

  it('clear errors: no state dict, legacy format, not a checkpoint, view past its storage', () => {
    const noState = makeZip([{ name: 'archive/data.pkl', data: Buffer.from('\x80\x02}(X\x05\x00\x00\x00epochK\x01X\x04\x00\x00\x00optsK\x02u.', 'latin1'), method: 0 }]);
    expect(() => readTorchCheckpoint(noState, 'n.ckpt')).toThrow(/no state dict found.*top-level keys are: epoch, opts/);
    expect(() => readTorchCheckpoint(`${dir}legacy.pt`)).toThrow(/legacy \(pre-1\.6, non-zip\) torch\.save format is not supported/);
    expect(() => readTorchCheckpoint(Buffer.from('just text'), 'x')).toThrow(/not a PyTorch checkpoint/);
    expect(() => readTorchCheckpoint(makeZip([{ name: 'a/b.txt', data: Buffer.from('x'), method: 0 }]), 'z')).toThrow(/without '<name>\/data\.pkl'/);
    expect(() => readTorchCheckpoint(CKPT, 'c', { stateKey: 'loops_nope' })).toThrow(/'loops_nope' does not exist/);
    expect(() => readTorchCheckpoint(`${dir}missing.ckpt`)).toThrow(ModelLoadError);
    // A tensor whose view (offset 1, shape [2]) runs past a 2-element storage.
    const s = (t: string) => Buffer.concat([Buffer.from([0x58]), u32(t.length), Buffer.from(t)]);
    const pkl = Buffer.concat([
      Buffer.from([0x80, 0x02, 0x7d]), s('w'),
      Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n((', 'latin1'), s('storage'), Buffer.from('ctorch\nFloatStorage\n', 'latin1'),
      s('0'), s('cpu'), Buffer.from([0x4b, 2, 0x74, 0x51, 0x4b, 1, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x89, 0x4e, 0x74, 0x52, 0x73, 0x2e]),
    ]);
    const bad = makeZip([{ name: 'a/data.pkl', data: pkl, method: 0 }, { name: 'a/data/0', data: Buffer.alloc(8), method: 0 }]);
    expect(() => readTorchCheckpoint(bad, 'bad')).toThrow(/runs past its storage/);
  });
});

describe('using .ckpt files', () => {
  it('--weights FILE.ckpt and import-checkpoint give the same generator as the PyTorch output', async () => {
    const { mkdtempSync, readFileSync: rf } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join: j } = await import('node:path');
    const { importCheckpoint } = await import('../../src/io/import-checkpoint.js');
    const { loadGenerator } = await import('../../src/pipeline/generate.js');
    const { decodeSafetensors: dec } = await import('../../src/io/safetensors.js');
    const tf = await import('@tensorflow/tfjs-core');
    const { unetForward } = await import('../../src/models/unet.js');
    const dir = mkdtempSync(j(tmpdir(), 'ganon-import-'));
    const ckpt = `${fixtureDir}ckpt/small_lightning.ckpt`;
    const r = await importCheckpoint(ckpt, dir);
    expect(r.files.map((f) => f.split('/').at(-1))).toEqual(['generator.safetensors', 'discriminator.safetensors']);
    const want = dec(rf(`${fixtureDir}ckpt/small_lightning_output.safetensors`)).tensors;
    for (const weights of [ckpt, dir]) {
      const g = loadGenerator(weights);
      const inp = want.get('input')!;
      const x = tf.transpose(tf.tensor4d(inp.data, inp.shape as [number, number, number, number]), [0, 2, 3, 1]) as import('@tensorflow/tfjs-core').Tensor4D;
      const y = unetForward(g.params, g.cfg, x, { training: false });
      const got = (await tf.transpose(y, [0, 3, 1, 2]).data()) as Float32Array;
      let m = 0;
      want.get('output')!.data.forEach((v, i) => { m = Math.max(m, Math.abs(v - got[i]!)); });
      expect(m).toBeLessThanOrEqual(1e-4);
      tf.dispose([x, y]);
      g.dispose();
    }
  });
});
