/**
 * Safe reader for PyTorch checkpoints written by `torch.save` (zip format, torch >= 1.6),
 * including PyTorch Lightning `.ckpt` files. No Python, and nothing in the file can run:
 * the pickle goes through the inert unpickler of ./pickle.ts, where only these globals
 * mean something:
 *   - `collections.OrderedDict` (and the other plain containers of pickle.ts),
 *   - `torch._utils._rebuild_tensor_v2` / `_rebuild_tensor`, `_rebuild_parameter`,
 *     `_rebuild_parameter_with_state`, `torch._tensor._rebuild_from_type_v2`,
 *   - `torch.<T>Storage` classes inside persistent ids
 *     `('storage', torch.<T>Storage, key, location, numel)`.
 * Every other global (Lightning's AttributeDict, callbacks, argparse.Namespace, numpy
 * scalars, `os.system`, ...) is an inert placeholder.
 *
 * Archive layout: `<top>/data.pkl`, `<top>/data/<key>` (raw storage bytes),
 * `<top>/byteorder` (optional, 'little' if absent), `<top>/version`; `<top>` varies
 * (`archive`, or the file's stem).
 */
import { readFileSync } from 'node:fs';
import { ModelLoadError } from '../errors.js';
import { DECLINE, describe, PickleDict, PickleGlobal, PickleObject, type Reducer, unpickle } from './pickle.js';
import type { NamedTensor, TensorMap } from './safetensors.js';
import { looksLikeZip, openZip, type ZipArchive } from './zip.js';

/** Storage element types by `torch.<Name>Storage` class name. */
const STORAGE_TYPES: Record<string, { dtype: string; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
  ComplexFloatStorage: { dtype: 'complex64', size: 8 },
  ComplexDoubleStorage: { dtype: 'complex128', size: 16 },
  QInt8Storage: { dtype: 'qint8', size: 1 },
  QUInt8Storage: { dtype: 'quint8', size: 1 },
  QInt32Storage: { dtype: 'qint32', size: 4 },
  UntypedStorage: { dtype: 'uint8', size: 1 },
};
const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** A storage referenced by a persistent id; its bytes live in `<top>/data/<key>`. */
export class TorchStorage {
  constructor(
    readonly storageType: string,
    /** 'float32', 'float16', ...; 'unknown' for storage classes this reader does not know. */
    readonly dtype: string,
    /** Bytes per element (0 if unknown). */
    readonly elementSize: number,
    readonly key: string,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** A tensor as pickled: a view (offset, shape, strides in elements) into a storage. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  get dtype(): string {
    return this.storage.dtype;
  }
  toString(): string {
    return `<tensor ${this.dtype} [${this.shape}]>`;
  }
}

export interface TorchCheckpointMeta {
  /** Lightning's `epoch`, when the top level has one. */
  epoch?: number;
  /** Lightning's `global_step`. */
  globalStep?: number;
  /** `pytorch-lightning_version`, when present. */
  lightningVersion?: string;
  /** Entries in the chosen state dict (tensors read + entries skipped). */
  keys: number;
  /** Where the state dict was found: '' (top level), 'state_dict', 'model', ... */
  stateKey: string;
  /** The top-level keys of the file (stringified). */
  topLevelKeys: string[];
  /** One note per state-dict entry that was not read (int tensors, non-tensors), e.g. `x: int64 tensor skipped`. */
  skipped: string[];
}

export interface TorchCheckpoint {
  /** float32 tensors in PyTorch layout, in state-dict order. */
  tensors: TensorMap;
  meta: TorchCheckpointMeta;
}

export interface ReadTorchOptions {
  /** Take the state dict from this top-level key instead of searching for one. */
  stateKey?: string;
}

/** A decoded archive: the pickled object tree, and a way to turn its tensors into float32 data. */
export interface TorchArchive {
  root: unknown;
  /** The float32 data of a tensor (float16/bfloat16/float64 converted); throws for other dtypes. */
  tensor(t: TorchTensor, name?: string): NamedTensor;
  zip: ZipArchive;
  /** The archive's top folder, with a trailing '/' ('' if data.pkl is at the root). */
  prefix: string;
}

const STATE_KEYS = ['state_dict', 'model', 'model_state_dict'];

// The magic number the legacy (non-zip) torch.save format pickles first.
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

/**
 * Reads a torch.save / Lightning checkpoint and returns its state dict as float32 tensors.
 * `input` is a path or the file's bytes; `source` names it in messages.
 */
export function readTorchCheckpoint(input: string | Buffer, source?: string, opts: ReadTorchOptions = {}): TorchCheckpoint {
  const src = source ?? (typeof input === 'string' ? input : 'checkpoint');
  let buf: Buffer;
  if (typeof input === 'string') {
    try {
      buf = readFileSync(input);
    } catch (e) {
      throw new ModelLoadError(`cannot read checkpoint '${input}': ${(e as Error).message}`);
    }
  } else {
    buf = input;
  }
  const archive = loadTorchArchive(buf, src);
  const root = archive.root;
  const top = dictItems(root);
  if (top === undefined) {
    const what = root instanceof PickleObject ? `a pickled object of class ${root.className} (a whole module saved with torch.save(model)?)` : describe(root);
    throw new ModelLoadError(`${src}: the checkpoint holds ${what}, not a dict with a state dict; save model.state_dict() instead`);
  }
  const topLevelKeys = [...top.keys()].map((k) => String(k));

  let stateKey: string | undefined;
  let state: PickleDict | undefined;
  if (opts.stateKey !== undefined) {
    const v = top.get(opts.stateKey);
    state = dictItems(v);
    if (state === undefined) {
      throw new ModelLoadError(`${src}: top-level key '${opts.stateKey}' ${v === undefined ? 'does not exist' : `is ${describe(v)}, not a dict of tensors`} (top-level keys: ${topLevelKeys.join(', ')})`);
    }
    stateKey = opts.stateKey;
  } else if (top.size > 0 && [...top.values()].every((v) => v instanceof TorchTensor)) {
    state = top;
    stateKey = '';
  } else {
    for (const k of STATE_KEYS) {
      const d = dictItems(top.get(k));
      if (d !== undefined && [...d.values()].some((v) => v instanceof TorchTensor)) {
        state = d;
        stateKey = k;
        break;
      }
    }
  }
  if (state === undefined || stateKey === undefined) {
    const ts = archive.zip.entries.has(`${archive.prefix}constants.pkl`) ? ' (this looks like a TorchScript archive from torch.jit.save, which is not supported)' : '';
    throw new ModelLoadError(
      `${src}: no state dict found${ts}: expected tensors at the top level or a dict of tensors under ${STATE_KEYS.map((k) => `'${k}'`).join(', ')}; top-level keys are: ${topLevelKeys.join(', ') || '(none)'}`,
    );
  }

  const tensors: TensorMap = new Map();
  const skipped: string[] = [];
  for (const [k, v] of state) {
    const name = String(k);
    if (!(v instanceof TorchTensor)) {
      skipped.push(`${name}: not a tensor (${describe(v)})`);
    } else if (!FLOAT_DTYPES.has(v.dtype)) {
      skipped.push(`${name}: ${v.dtype} tensor skipped (only floating-point tensors are read)`);
    } else {
      tensors.set(name, archive.tensor(v, name));
    }
  }

  const meta: TorchCheckpointMeta = { keys: state.size, stateKey, topLevelKeys, skipped };
  const epoch = toNumber(top.get('epoch'));
  if (epoch !== undefined) meta.epoch = epoch;
  const step = toNumber(top.get('global_step'));
  if (step !== undefined) meta.globalStep = step;
  const ver = top.get('pytorch-lightning_version');
  if (typeof ver === 'string') meta.lightningVersion = ver;
  return { tensors, meta };
}

/** Opens the zip, unpickles `<top>/data.pkl` inertly, and gives access to its tensors. */
export function loadTorchArchive(buf: Buffer, source = 'checkpoint'): TorchArchive {
  if (!looksLikeZip(buf)) {
    if (buf.subarray(0, LEGACY_MAGIC.length).equals(LEGACY_MAGIC)) {
      throw new ModelLoadError(
        `${source}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch >= 1.6 (torch.save(torch.load(f), g))`,
      );
    }
    if (buf[0] === 0x80) throw new ModelLoadError(`${source}: a bare pickle, not a torch.save zip archive (not supported)`);
    throw new ModelLoadError(`${source}: not a PyTorch checkpoint (expected a torch.save zip archive)`);
  }
  const zip = openZip(buf, source);
  const pkl = findDataPkl(zip, source);
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);

  let littleEndian = true;
  const bo = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1').trim() : 'little';
  if (bo === 'big') littleEndian = false;
  else if (bo !== 'little') throw new ModelLoadError(`${source}: unknown byteorder '${bo}'`);

  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
      throw new ModelLoadError(`${source}: unsupported persistent id ${describe(pid)} (expected ('storage', type, key, location, numel))`);
    }
    const [, type, key, location, numel] = pid as [string, unknown, unknown, unknown, unknown];
    if (!(type instanceof PickleGlobal) || !type.module.startsWith('torch') || !type.name.endsWith('Storage')) {
      throw new ModelLoadError(`${source}: persistent id names ${describe(type)}, not a torch storage class`);
    }
    if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      throw new ModelLoadError(`${source}: malformed storage persistent id for key ${describe(key)}`);
    }
    const info = STORAGE_TYPES[type.name];
    const existing = storages.get(key);
    if (existing !== undefined) return existing;
    const s = new TorchStorage(type.name, info?.dtype ?? 'unknown', info?.size ?? 0, key, typeof location === 'string' ? location : '?', numel);
    storages.set(key, s);
    return s;
  };

  const root = unpickle(zip.read(pkl), { source: `${source} (${pkl})`, persistentLoad, reducers: torchReducers(source) });

  const tensor = (t: TorchTensor, name = 'tensor'): NamedTensor => {
    const s = t.storage;
    if (!FLOAT_DTYPES.has(s.dtype)) throw new ModelLoadError(`${source}: tensor '${name}' has dtype ${s.dtype}; only floating-point tensors are read`);
    const entry = `${prefix}data/${s.key}`;
    if (!zip.entries.has(entry)) throw new ModelLoadError(`${source}: storage '${entry}' of tensor '${name}' is missing from the archive`);
    const bytes = zip.read(entry);
    const avail = Math.floor(bytes.length / s.elementSize);
    if (avail < s.numel) throw new ModelLoadError(`${source}: storage '${entry}' has ${bytes.length} bytes, expected ${s.numel} x ${s.elementSize}`);
    return materialize(t, bytes, littleEndian, `${source}: tensor '${name}'`);
  };

  return { root, tensor, zip, prefix };
}

function findDataPkl(zip: ZipArchive, source: string): string {
  const names = [...zip.entries.keys()];
  const hit = names.find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? names.find((n) => n === 'data.pkl') ?? names.find((n) => n.endsWith('/data.pkl'));
  if (hit === undefined) {
    throw new ModelLoadError(`${source}: a zip archive without '<name>/data.pkl' (not a torch.save checkpoint; entries: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`);
  }
  return hit;
}

/** The tensor rebuild functions of torch.save, as pure data constructors. */
function torchReducers(source: string): Map<string, Reducer> {
  const bad = (what: string): never => {
    throw new ModelLoadError(`${source}: malformed tensor record (${what})`);
  };
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) return bad(`${what} is ${describe(v)}`);
    return v as number[];
  };
  const rebuildTensor: Reducer = (a) => {
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof TorchStorage)) return bad(`storage is ${describe(storage)}`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return bad(`storage offset ${describe(offset)}`);
    const shape = ints(size, 'size');
    const strides = ints(stride, 'stride');
    if (shape.length !== strides.length) bad(`size [${shape}] and stride [${strides}] differ in length`);
    return new TorchTensor(storage, offset, shape.slice(), strides.slice());
  };
  const table = new Map<string, Reducer>([
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_tensor', rebuildTensor],
    ['torch._utils._rebuild_parameter', (a) => (a[0] instanceof TorchTensor ? a[0] : DECLINE)],
    ['torch._utils._rebuild_parameter_with_state', (a) => (a[0] instanceof TorchTensor ? a[0] : DECLINE)],
  ]);
  // _rebuild_from_type_v2(func, new_type, args, state): tensor subclasses (and Parameter in some versions).
  const fromType: Reducer = (a) => {
    const [fn, , args] = a;
    if (!(fn instanceof PickleGlobal) || !Array.isArray(args)) return DECLINE;
    const inner = table.get(fn.qualifiedName);
    return inner === undefined ? DECLINE : inner(args, fn);
  };
  table.set('torch._tensor._rebuild_from_type_v2', fromType);
  table.set('torch._tensor._rebuild_from_type', fromType);
  return table;
}

/** Dict items of a dict or of a placeholder dict subclass (e.g. Lightning's AttributeDict). */
function dictItems(v: unknown): PickleDict | undefined {
  if (v instanceof PickleDict) return v;
  if (v instanceof PickleObject && v.items.size > 0) return v.items;
  return undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Reads elements [lo, hi] of the storage as float32. */
function decodeRange(dtype: string, bytes: Buffer, lo: number, count: number, le: boolean): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'float32') {
    const at = bytes.byteOffset + 4 * lo;
    if (le && at % 4 === 0) {
      out.set(new Float32Array(bytes.buffer, at, count));
    } else if (le) {
      new Uint8Array(out.buffer).set(bytes.subarray(4 * lo, 4 * (lo + count)));
    } else {
      for (let i = 0; i < count; i++) out[i] = bytes.readFloatBE(4 * (lo + i));
    }
  } else if (dtype === 'float64') {
    for (let i = 0; i < count; i++) out[i] = le ? bytes.readDoubleLE(8 * (lo + i)) : bytes.readDoubleBE(8 * (lo + i));
  } else if (dtype === 'float16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(le ? bytes.readUInt16LE(2 * (lo + i)) : bytes.readUInt16BE(2 * (lo + i)));
  } else if (dtype === 'bfloat16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = (le ? bytes.readUInt16LE(2 * (lo + i)) : bytes.readUInt16BE(2 * (lo + i))) << 16;
  } else {
    throw new Error(`decodeRange: ${dtype}`);
  }
  return out;
}

/** IEEE 754 binary16 -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Builds a contiguous row-major float32 tensor from a (possibly strided) view. */
function materialize(t: TorchTensor, bytes: Buffer, le: boolean, what: string): NamedTensor {
  const { shape, stride, offset } = t;
  const numel = shape.reduce((a, b) => a * b, 1);
  const shapeOut = shape.slice();
  if (numel === 0) return { shape: shapeOut, data: new Float32Array(0) };
  let span = 0; // highest element index touched, relative to offset
  for (let d = 0; d < shape.length; d++) span += (shape[d]! - 1) * stride[d]!;
  const storageNumel = Math.floor(bytes.length / t.storage.elementSize);
  if (offset + span >= storageNumel) {
    throw new ModelLoadError(`${what}: view (offset ${offset}, shape [${shape}], stride [${stride}]) runs past its storage of ${storageNumel} elements`);
  }
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= shape[d]!;
  }
  if (contiguous) return { shape: shapeOut, data: decodeRange(t.dtype, bytes, offset, numel, le) };
  const src = decodeRange(t.dtype, bytes, offset, span + 1, le);
  const out = new Float32Array(numel);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let p = 0;
  for (let i = 0; i < numel; i++) {
    out[i] = src[p]!;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d] = idx[d]! + 1;
      p += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      p -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { shape: shapeOut, data: out };
}
