/**
 * A restricted, inert unpickler for Python pickle protocols 0-5 — enough for what
 * `torch.save` (protocol 2 by default) and PyTorch Lightning write.
 *
 * Nothing is ever imported or executed. GLOBAL / STACK_GLOBAL only produce an inert
 * `PickleGlobal(module, name)` descriptor. REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ
 * applied to a global look it up in a table of pure data constructors written in
 * TypeScript (`collections.OrderedDict`, `builtins.set`, `_codecs.encode`, ... plus
 * whatever the caller passes in `reducers`, e.g. torch's tensor rebuild functions);
 * everything else becomes a `PickleObject` placeholder that records the class, the
 * arguments, any BUILD state and any SETITEMS/APPENDS items, and means nothing.
 * `os.system`, `builtins.eval`, `subprocess.Popen`, Lightning's AttributeDict,
 * argparse.Namespace, numpy scalars: all just placeholders.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond
 * 2^53), float -> number, str -> string, bytes/bytearray -> Buffer, list/tuple/set ->
 * Array, dict -> PickleDict (a Map; keys as decoded, tuples as arrays).
 */
import { ModelLoadError } from '../errors.js';

/** A module-level name referenced by the pickle. Inert: it is never resolved. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
  toString(): string {
    return `<global ${this.qualifiedName}>`;
  }
}

/** A Python dict (also OrderedDict, defaultdict). */
export class PickleDict extends Map<unknown, unknown> {}

/**
 * An object of a class the reader gives no meaning to. It only records what the
 * pickle said about it.
 */
export class PickleObject {
  /** What was "called": a PickleGlobal, or another placeholder. */
  readonly cls: unknown;
  readonly args: readonly unknown[];
  /** BUILD state (usually the instance `__dict__`, as a PickleDict), if any. */
  state: unknown = undefined;
  /** Items added by SETITEM(S) (dict subclasses such as Lightning's AttributeDict). */
  readonly items = new PickleDict();
  /** Items added by APPEND(S) (list subclasses). */
  readonly list: unknown[] = [];

  constructor(cls: unknown, args: readonly unknown[], readonly how: 'reduce' | 'newobj' | 'inst') {
    this.cls = cls;
    this.args = args;
  }

  /** `module.name` of the class (or of the callable), or '?' if it was not a global. */
  get className(): string {
    if (this.cls instanceof PickleGlobal) return this.cls.qualifiedName;
    if (this.cls instanceof PickleObject) return `${this.cls.className}(...)`;
    return '?';
  }

  toString(): string {
    return `<inert ${this.className}>`;
  }
}

/** Returned by a reducer that declines: the call becomes a placeholder instead. */
export const DECLINE: unique symbol = Symbol('decline');

/** A pure-data constructor for a global: receives the call's arguments, never runs Python. */
export type Reducer = (args: unknown[], fn: PickleGlobal) => unknown;

export interface UnpickleOptions {
  /** Names the data in error messages. */
  source?: string;
  /** PERSID / BINPERSID: maps the persistent id to a value. Without it, persistent ids are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Extra reducers keyed by `module.name` (override the built-in table). */
  reducers?: ReadonlyMap<string, Reducer>;
  /** Upper bound for memo indices (default 2^24). */
  maxMemo?: number;
}

// Python 2 module names that protocol-2 pickles use (pickle's fix_imports), mapped to Python 3's.
const MODULE_ALIASES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

function asArray(v: unknown): unknown[] {
  if (Array.isArray(v)) return v.slice();
  if (v instanceof PickleDict) return [...v.keys()];
  if (v === undefined) return [];
  throw new TypeError('not iterable');
}

function dictFrom(args: unknown[]): PickleDict {
  const d = new PickleDict();
  const src = args[0];
  if (src instanceof PickleDict) for (const [k, v] of src) d.set(k, v);
  else if (Array.isArray(src)) {
    for (const pair of src) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('dict(): expected key/value pairs');
      d.set(pair[0], pair[1]);
    }
  }
  return d;
}

function bytesFrom(args: unknown[]): Buffer | typeof DECLINE {
  const [a, enc] = args;
  if (a === undefined) return Buffer.alloc(0);
  if (a instanceof Uint8Array) return Buffer.from(a);
  if (typeof a === 'string') {
    const e = typeof enc === 'string' ? enc.toLowerCase().replace(/[-_]/g, '') : '';
    if (e === 'latin1' || e === 'iso88591') return Buffer.from(a, 'latin1');
    if (e === 'utf8') return Buffer.from(a, 'utf8');
    if (e === 'ascii') return Buffer.from(a, 'latin1');
  }
  if (Array.isArray(a) && a.every((x) => typeof x === 'number')) return Buffer.from(a as number[]);
  return DECLINE;
}

/** The built-in table: pure data constructors only. */
const BUILTIN_REDUCERS = new Map<string, Reducer>([
  ['collections.OrderedDict', dictFrom],
  ['collections.defaultdict', () => new PickleDict()],
  ['builtins.dict', dictFrom],
  ['builtins.list', (a) => asArray(a[0])],
  ['builtins.tuple', (a) => asArray(a[0])],
  ['builtins.set', (a) => asArray(a[0])],
  ['builtins.frozenset', (a) => asArray(a[0])],
  ['builtins.bytearray', bytesFrom],
  ['builtins.bytes', bytesFrom],
  // Protocol 2 writes Python 3 bytes as _codecs.encode(latin1_text, 'latin1').
  ['_codecs.encode', bytesFrom],
  // Protocol 0/1 objects: copyreg._reconstructor(cls, base, state) — a placeholder of `cls`.
  ['copyreg._reconstructor', (a) => new PickleObject(a[0], a.slice(1), 'reduce')],
]);

// NEWOBJ on these classes makes an empty container; any other class gives a placeholder.
const NEWOBJ_CONTAINERS: Record<string, () => unknown> = {
  'collections.OrderedDict': () => new PickleDict(),
  'collections.defaultdict': () => new PickleDict(),
  'builtins.dict': () => new PickleDict(),
  'builtins.list': () => [],
  'builtins.set': () => [],
};

const MARK_OBJ: unique symbol = Symbol('mark');

/**
 * Decodes one pickle. Throws ModelLoadError on malformed or unsupported data
 * (unknown opcode, truncation, stack underflow, out-of-band buffers, extension codes).
 */
export function unpickle(data: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const source = opts.source ?? 'pickle';
  const maxMemo = opts.maxMemo ?? 1 << 24;
  const reducers = new Map(BUILTIN_REDUCERS);
  if (opts.reducers) for (const [k, v] of opts.reducers) reducers.set(k, v);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const n = buf.length;
  let pos = 0;
  let op = 0;
  let opPos = 0;

  const fail = (msg: string): never => {
    throw new ModelLoadError(`${source}: ${msg} (pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opPos})`);
  };
  const need = (k: number): void => {
    if (k < 0 || pos + k > n) fail(`truncated pickle (needs ${k} more bytes, ${n - pos} left)`);
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = buf.readUInt16LE(pos);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = buf.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(n)) fail(`length ${v} exceeds the data`);
    return Number(v);
  };
  const bytes = (k: number): Buffer => {
    need(k);
    const b = buf.subarray(pos, pos + k);
    pos += k;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle (unterminated text line)');
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };

  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('MARK expected but not found');
    stack = prev!;
    return items;
  };
  const put = (idx: number): void => {
    if (idx < 0 || idx >= maxMemo) fail(`memo index ${idx} out of range`);
    memo.set(idx, top());
  };
  const get = (idx: number): void => {
    if (!memo.has(idx)) fail(`memo key ${idx} not found`);
    stack.push(memo.get(idx));
  };
  const global = (module: string, name: string): PickleGlobal => new PickleGlobal(MODULE_ALIASES[module] ?? module, name);

  const call = (fn: unknown, args: unknown, how: 'reduce' | 'inst'): unknown => {
    const argv = Array.isArray(args) ? args : fail(`${how === 'reduce' ? 'REDUCE' : 'INST'} arguments are not a tuple`);
    if (fn instanceof PickleGlobal) {
      const r = reducers.get(fn.qualifiedName);
      if (r !== undefined) {
        let v: unknown;
        try {
          v = r(argv as unknown[], fn);
        } catch (e) {
          if (e instanceof ModelLoadError) throw e;
          return fail(`${fn.qualifiedName}(...): ${(e as Error).message}`);
        }
        if (v !== DECLINE) return v;
      }
      return new PickleObject(fn, argv as unknown[], how);
    }
    if (fn instanceof PickleObject) return new PickleObject(fn, argv as unknown[], how);
    return fail(`call of a non-callable ${describe(fn)}`);
  };
  const newobj = (cls: unknown, args: unknown): unknown => {
    if (!Array.isArray(args)) fail('NEWOBJ arguments are not a tuple');
    if (cls instanceof PickleGlobal) {
      const mk = NEWOBJ_CONTAINERS[cls.qualifiedName];
      if (mk !== undefined) return mk();
      return new PickleObject(cls, args as unknown[], 'newobj');
    }
    if (cls instanceof PickleObject) return new PickleObject(cls, args as unknown[], 'newobj');
    return fail(`NEWOBJ of a non-class ${describe(cls)}`);
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    const d = target instanceof PickleDict ? target : target instanceof PickleObject ? target.items : fail(`SETITEM on a non-dict ${describe(target)}`);
    for (let i = 0; i < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    const l = Array.isArray(target) ? target : target instanceof PickleObject ? target.list : fail(`APPEND on a non-list ${describe(target)}`);
    for (const it of items) l.push(it);
  };
  const persistent = (pid: unknown): unknown => {
    if (opts.persistentLoad === undefined) fail('persistent id in a pickle read without a persistent loader');
    return opts.persistentLoad!(pid);
  };
  const int = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const longLE = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return int(v);
  };
  const intLiteral = (s: string): number | bigint => {
    const t = s.trim().replace(/L$/, '');
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal '${s}'`);
    return int(BigInt(t));
  };

  while (true) {
    opPos = pos;
    if (pos >= n) {
      op = 0;
      fail('truncated pickle (no STOP opcode)');
    }
    op = buf[pos++]!;
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > 5) fail(`unsupported pickle protocol ${p}`);
        break;
      }
      case 0x95: // FRAME (framing is only a hint for buffered readers)
        u64();
        break;
      case 0x2e: { // STOP
        const v = pop();
        return v;
      }
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;

      // --- constants and numbers ---
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: need(4); stack.push(buf.readInt32LE(pos)); pos += 4; break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longLE(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        need(4);
        const len = buf.readInt32LE(pos);
        pos += 4;
        if (len < 0) fail('negative LONG4 length');
        stack.push(longLE(bytes(len)));
        break;
      }
      case 0x49: { // INT (text; "01"/"00" are True/False)
        const s = line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else stack.push(intLiteral(s));
        break;
      }
      case 0x4c: stack.push(intLiteral(line())); break; // LONG (text)
      case 0x47: need(8); stack.push(buf.readDoubleBE(pos)); pos += 8; break; // BINFLOAT
      case 0x46: { // FLOAT (text)
        const s = line().trim();
        const v = s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s);
        if (Number.isNaN(v) && s !== 'nan') fail(`bad float literal '${s}'`);
        stack.push(v);
        break;
      }

      // --- strings and bytes ---
      case 0x58: stack.push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x56: stack.push(rawUnicodeEscape(line())); break; // UNICODE (text)
      case 0x42: stack.push(Buffer.from(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(Buffer.from(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(Buffer.from(bytes(u64()))); break; // BYTEARRAY8
      // Python 2 str: Python 3's Unpickler decodes it (encoding='ASCII' by default); latin1 is lossless.
      case 0x54: { // BINSTRING
        need(4);
        const len = buf.readInt32LE(pos);
        pos += 4;
        if (len < 0) fail('negative BINSTRING length');
        stack.push(bytes(len).toString('latin1'));
        break;
      }
      case 0x55: stack.push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x53: stack.push(pyStringLiteral(line(), fail)); break; // STRING (text repr)

      // --- containers ---
      case 0x7d: stack.push(new PickleDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push([]); break; // EMPTY_SET
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x74: { const items = popMark(); stack.push(items); break; } // TUPLE
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x91: { const items = popMark(); stack.push(items); break; } // FROZENSET
      case 0x64: { // DICT
        const kv = popMark();
        const d = new PickleDict();
        setItems(d, kv);
        stack.push(d);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x90: { // ADDITEMS (sets are arrays)
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }

      // --- memo ---
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x70: put(Number(intLiteral(line()))); break; // PUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x67: get(Number(intLiteral(line()))); break; // GET

      // --- globals and object construction (all inert) ---
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args, 'reduce'));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(newobj(cls, args));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        stack.push(newobj(cls, args));
        break;
      }
      case 0x69: { // INST "module\nname\n", args from MARK
        const module = line();
        const name = line();
        const args = popMark();
        stack.push(call(global(module, name), args, 'inst'));
        break;
      }
      case 0x6f: { // OBJ: MARK cls args...
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        stack.push(call(items[0], items.slice(1), 'inst'));
        break;
      }
      case 0x62: { // BUILD: never calls __setstate__; placeholders keep the state, others ignore it
        const state = pop();
        const obj = top();
        if (obj instanceof PickleObject) {
          if (obj.state instanceof PickleDict && state instanceof PickleDict) for (const [k, v] of state) obj.state.set(k, v);
          else obj.state = state;
        }
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID
      case 0x98: break; // READONLY_BUFFER (no-op on the top item)
      case 0x97: fail('out-of-band buffers (NEXT_BUFFER) are not supported'); break;
      case 0x82:
      case 0x83:
      case 0x84:
        fail('copyreg extension codes (EXT1/EXT2/EXT4) are not supported');
        break;
      default:
        fail('unknown pickle opcode');
    }
  }
}

/** A short description of a decoded value (for messages). */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleObject || v instanceof PickleGlobal) return v.toString();
  if (v instanceof PickleDict) return `dict(${v.size})`;
  if (Array.isArray(v)) return `list(${v.length})`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object' && v !== null) return `<${v.constructor?.name ?? 'object'}>`;
  return String(v);
}

/** Python's raw-unicode-escape (UNICODE opcode): only \uXXXX and \UXXXXXXXX are escapes. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string | undefined, b: string | undefined) =>
    String.fromCodePoint(parseInt(a ?? b ?? '0', 16)),
  );
}

/** A Python 2 str repr as written by the STRING opcode: '...' or "..." with backslash escapes. */
function pyStringLiteral(s: string, fail: (m: string) => never): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) return fail('STRING opcode argument is not quoted');
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const d = body[i + 1] ?? '';
    if (d === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(body.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (/^[0-7]{3}$/.test(body.slice(i + 1, i + 4))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 4), 8) & 0xff);
      i += 3;
    } else if (d in simple) {
      out += simple[d];
      i += 1;
    } else {
      out += c;
    }
  }
  return out;
}
