/**
 * Loops tfjs-backend-wasm 4.22 lacks, as a tiny WebAssembly SIMD module that
 * imports the backend's own memory, so it works on tensors in place (no copies):
 *
 * - transpose(src, dst, rows, cols): dst[c][r] = src[r][c] for float32, in 4x4 blocks
 *   (four v128 loads, eight shuffles, four stores). wasm's own Transpose and a
 *   blocked JS loop both take about 10 ns per element on a 4M-element filter; the
 *   Conv2D GEMM route (./wasm-kernels.ts) transposes every large filter it meets.
 * - addRow(dst, src, n): dst += src over n floats (the col2im of ./wasm-kernels.ts's
 *   GEMM input gradient: one call per position and tap).
 * - leakyRelu(src, dst, n, alpha): x < 0 ? x * alpha : x, as wasm's own LeakyRelu
 *   computes it (6 ns per element there, a scalar loop).
 * - maxScalar / minScalar(src, dst, n, s): x < s ? s : x and s < x ? s : x (f32x4.pmax /
 *   pmin, which are C++'s std::max(x, s) / std::min(x, s): wasm's own Maximum and Minimum,
 *   NaN and signed zeros included). wasm's own take about 6 ns per element against a
 *   scalar; MobileNet's ReLU6 (Human's faceres embedding) is a Minimum and a Maximum.
 * - copyRows(dst, src, rows, len, dstStride, srcStride): short rows of 32-bit words
 *   (Concat and Slice with a few channels per row: JS costs 5-10 ns per element there).
 * - adam(p, g, m, v, pOut, mOut, vOut, n, ...): PyTorch's Adam/AdamW update,
 *   f32x4 lane by lane in exactly the order of src/train/adam.ts's tf ops (IEEE
 *   add, sub, mul, div and sqrt are exact per lane, so the results are
 *   bit-identical to those ops); one pass instead of 13.
 *
 * The module is assembled here from its opcodes (no toolchain needed, about 400
 * bytes). Where WebAssembly SIMD or the backend's memory is unavailable,
 * simdKernels() returns null and callers keep their other paths.
 * test/backend/wasm-simd.test.ts checks both against tf ops and tfjs-backend-cpu.
 */

// ---- a minimal WebAssembly binary writer ----------------------------------------

const I32 = 0x7f;
const F32 = 0x7d;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

/** Instruction helpers (the subset used below). */
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  shl: [0x74],
  ltU: [0x49],
  geU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const V128_LOAD = (offset = 0) => op.simd(0x00, 0, ...uleb(offset)); // align hint 1 byte: any address
const V128_STORE = (offset = 0) => op.simd(0x0b, 0, ...uleb(offset));
const SHUFFLE = (lanes: number[]) => op.simd(0x0d, ...lanes.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3]));
const F32X4_SPLAT = op.simd(0x13);
const F32X4 = { sqrt: op.simd(0xe3), add: op.simd(0xe4), sub: op.simd(0xe5), mul: op.simd(0xe6), div: op.simd(0xe7) };
const F32X4_LT = op.simd(0x43);
const F32X4_PMIN = op.simd(0xea);
const F32X4_PMAX = op.simd(0xeb);
const V128_BITSELECT = op.simd(0x52);
const I32_LOAD = [0x28, 0x00, 0x00]; // align 1, offset 0
const I32_STORE = [0x36, 0x00, 0x00];

function func(params: number[], results: number[]): number[] {
  return [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
}

function body(locals: [number, number][], code: number[]): number[] {
  const b = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, ...op.end];
  return [...uleb(b.length), ...b];
}

// ---- transpose ------------------------------------------------------------------
// params: src, dst (byte addresses), rows, cols (multiples of 4)
// locals: r(4), c(5), s(6: src row-block address), v0..v3 (7..10), t0..t3 (11..14)
/** Rows per band of the transpose (a band's input lines stay in L2 across its column blocks). */
const BAND = 64;

function transposeCode(): number[] {
  // Bands of BAND rows; in a band, column blocks of 4; in a block, the band's rows
  // 4 at a time. Each output row gets BAND contiguous floats per visit, and the band's
  // input lines (16 of their 64 bytes read per visit) stay cached across its blocks.
  const [SRC, DST, ROWS, COLS, R, C, S, R0, REND] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const V = [9, 10, 11, 12];
  const T = [13, 14, 15, 16];
  const rowBytes = [...op.get(COLS), ...op.i32(2), ...op.shl]; // cols * 4
  const code: number[] = [
    ...op.i32(0), ...op.set(R0),
    ...op.block, ...op.loop, // bands
    ...op.get(R0), ...op.get(ROWS), ...op.geU, ...op.brIf(1),
    // rEnd = min(r0 + BAND, rows)
    ...op.get(R0), ...op.i32(BAND), ...op.add, ...op.set(REND),
    ...op.get(REND), ...op.get(ROWS), ...op.geU, ...op.if, ...op.get(ROWS), ...op.set(REND), ...op.end,
    ...op.i32(0), ...op.set(C),
    ...op.block, ...op.loop, // column blocks
    ...op.get(C), ...op.get(COLS), ...op.geU, ...op.brIf(1),
    ...op.get(R0), ...op.set(R),
    ...op.block, ...op.loop, // rows of the band, 4 at a time
    ...op.get(R), ...op.get(REND), ...op.geU, ...op.brIf(1),
    // s = src + (r * cols + c) * 4
    ...op.get(SRC), ...op.get(R), ...op.get(COLS), ...op.mul, ...op.get(C), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...op.set(S),
  ];
  // v_k = load(s + k*cols*4)
  for (let k = 0; k < 4; k++) {
    code.push(...op.get(S));
    if (k > 0) code.push(...rowBytes, ...op.i32(k), ...op.mul, ...op.add);
    code.push(...V128_LOAD(), ...op.set(V[k]!));
  }
  // t0 = [a0 b0 a1 b1], t1 = [a2 b2 a3 b3], t2 = [c0 d0 c1 d1], t3 = [c2 d2 c3 d3]
  code.push(...op.get(V[0]!), ...op.get(V[1]!), ...SHUFFLE([0, 4, 1, 5]), ...op.set(T[0]!));
  code.push(...op.get(V[0]!), ...op.get(V[1]!), ...SHUFFLE([2, 6, 3, 7]), ...op.set(T[1]!));
  code.push(...op.get(V[2]!), ...op.get(V[3]!), ...SHUFFLE([0, 4, 1, 5]), ...op.set(T[2]!));
  code.push(...op.get(V[2]!), ...op.get(V[3]!), ...SHUFFLE([2, 6, 3, 7]), ...op.set(T[3]!));
  // out_k -> dst + ((c + k) * rows + r) * 4
  const outs: [number, number, number[]][] = [
    [T[0]!, T[2]!, [0, 1, 4, 5]], // [a0 b0 c0 d0]
    [T[0]!, T[2]!, [2, 3, 6, 7]], // [a1 b1 c1 d1]
    [T[1]!, T[3]!, [0, 1, 4, 5]], // [a2 b2 c2 d2]
    [T[1]!, T[3]!, [2, 3, 6, 7]], // [a3 b3 c3 d3]
  ];
  outs.forEach(([x, y, lanes], k) => {
    code.push(
      ...op.get(DST), ...op.get(C), ...op.i32(k), ...op.add, ...op.get(ROWS), ...op.mul, ...op.get(R), ...op.add,
      ...op.i32(2), ...op.shl, ...op.add,
      ...op.get(x), ...op.get(y), ...SHUFFLE(lanes), ...V128_STORE(),
    );
  });
  code.push(
    ...op.get(R), ...op.i32(4), ...op.add, ...op.set(R), ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(C), ...op.i32(4), ...op.add, ...op.set(C), ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(R0), ...op.i32(BAND), ...op.add, ...op.set(R0), ...op.br(0),
    ...op.end, ...op.end,
  );
  return body([[5, I32], [8, 0x7b]], code);
}

// ---- Adam -----------------------------------------------------------------------
// params: p, g, m, v, pOut, mOut, vOut (byte addresses), n (elements, multiple of 4),
//         useDecay, lerpLow (i32), decay, w, omw, b2, omb2, bc2, eps, step (f32)
// locals: off(18), end(19), vectors: decay..step splats (20..27), P,G,M,V,D,M2,V2 (28..34)
function adamCode(): number[] {
  const [Pa, Ga, Ma, Va, Po, Mo, Vo, N, USE_DECAY, LERP_LOW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const F = { decay: 10, w: 11, omw: 12, b2: 13, omb2: 14, bc2: 15, eps: 16, step: 17 };
  const OFF = 18;
  const END = 19;
  const S = { decay: 20, w: 21, omw: 22, b2: 23, omb2: 24, bc2: 25, eps: 26, step: 27 };
  const [P, G, M, V, D, M2, V2] = [28, 29, 30, 31, 32, 33, 34];
  const code: number[] = [];
  for (const k of Object.keys(F) as (keyof typeof F)[]) code.push(...op.get(F[k]), ...F32X4_SPLAT, ...op.set(S[k]));
  code.push(...op.get(N), ...op.i32(2), ...op.shl, ...op.set(END), ...op.i32(0), ...op.set(OFF));
  const at = (base: number) => [...op.get(base), ...op.get(OFF), ...op.add];
  code.push(
    ...op.block, ...op.loop,
    ...op.get(OFF), ...op.get(END), ...op.geU, ...op.brIf(1),
    ...at(Pa), ...V128_LOAD(), ...op.set(P),
    ...at(Ga), ...V128_LOAD(), ...op.set(G),
    ...at(Ma), ...V128_LOAD(), ...op.set(M),
    ...at(Va), ...V128_LOAD(), ...op.set(V),
    // p0 = useDecay ? p * decay : p
    ...op.get(USE_DECAY), ...op.if, ...op.get(P), ...op.get(S.decay), ...F32X4.mul, ...op.set(P), ...op.end,
    // d = g - m
    ...op.get(G), ...op.get(M), ...F32X4.sub, ...op.set(D),
    // m2 = lerpLow ? m + d * w : g - d * (1 - w)
    ...op.get(LERP_LOW), ...op.if,
    ...op.get(M), ...op.get(D), ...op.get(S.w), ...F32X4.mul, ...F32X4.add, ...op.set(M2),
    ...op.else,
    ...op.get(G), ...op.get(D), ...op.get(S.omw), ...F32X4.mul, ...F32X4.sub, ...op.set(M2),
    ...op.end,
    // v2 = v * b2 + (g * g) * (1 - b2)
    ...op.get(V), ...op.get(S.b2), ...F32X4.mul,
    ...op.get(G), ...op.get(G), ...F32X4.mul, ...op.get(S.omb2), ...F32X4.mul,
    ...F32X4.add, ...op.set(V2),
    // pOut = p0 - (m2 / (sqrt(v2) / bc2 + eps)) * step
    ...at(Po),
    ...op.get(P),
    ...op.get(M2),
    ...op.get(V2), ...F32X4.sqrt, ...op.get(S.bc2), ...F32X4.div, ...op.get(S.eps), ...F32X4.add,
    ...F32X4.div, ...op.get(S.step), ...F32X4.mul,
    ...F32X4.sub,
    ...V128_STORE(),
    ...at(Mo), ...op.get(M2), ...V128_STORE(),
    ...at(Vo), ...op.get(V2), ...V128_STORE(),
    ...op.get(OFF), ...op.i32(16), ...op.add, ...op.set(OFF), ...op.br(0),
    ...op.end, ...op.end,
  );
  return body([[2, I32], [15, 0x7b]], code);
}

// ---- addRow ---------------------------------------------------------------------
// params: dst, src (byte addresses), n (floats, multiple of 4); dst[i] += src[i]
// locals: end(3)
function addRowCode(): number[] {
  const [DST, SRC, N, END] = [0, 1, 2, 3];
  return body([[1, I32]], [
    ...op.get(N), ...op.i32(2), ...op.shl, ...op.get(DST), ...op.add, ...op.set(END),
    ...op.block, ...op.loop,
    ...op.get(DST), ...op.get(END), ...op.geU, ...op.brIf(1),
    ...op.get(DST),
    ...op.get(DST), ...V128_LOAD(), ...op.get(SRC), ...V128_LOAD(), ...F32X4.add,
    ...V128_STORE(),
    ...op.get(DST), ...op.i32(16), ...op.add, ...op.set(DST),
    ...op.get(SRC), ...op.i32(16), ...op.add, ...op.set(SRC),
    ...op.br(0),
    ...op.end, ...op.end,
  ]);
}

// ---- leakyRelu --------------------------------------------------------------------
// params: src, dst (byte addresses), n (floats, multiple of 4), alpha (f32)
// dst = x < 0 ? x * alpha : x (wasm's own LeakyRelu, lane by lane)
// locals: end(4), a(5: v128 splat), x(6)
function leakyReluCode(): number[] {
  const [SRC, DST, N, ALPHA, END, A, X] = [0, 1, 2, 3, 4, 5, 6];
  return body([[1, I32], [2, 0x7b]], [
    ...op.get(ALPHA), ...F32X4_SPLAT, ...op.set(A),
    ...op.get(N), ...op.i32(2), ...op.shl, ...op.get(SRC), ...op.add, ...op.set(END),
    ...op.block, ...op.loop,
    ...op.get(SRC), ...op.get(END), ...op.geU, ...op.brIf(1),
    ...op.get(SRC), ...V128_LOAD(), ...op.set(X),
    ...op.get(DST),
    ...op.get(X), ...op.get(A), ...F32X4.mul, // x * alpha where x < 0
    ...op.get(X), // x elsewhere
    ...op.get(X), ...op.simd(0x0c, ...new Array<number>(16).fill(0)), ...F32X4_LT, // mask x < 0
    ...V128_BITSELECT,
    ...V128_STORE(),
    ...op.get(SRC), ...op.i32(16), ...op.add, ...op.set(SRC),
    ...op.get(DST), ...op.i32(16), ...op.add, ...op.set(DST),
    ...op.br(0),
    ...op.end, ...op.end,
  ]);
}

// ---- maxScalar / minScalar --------------------------------------------------------
// params: src, dst (byte addresses), n (floats, multiple of 4), s (f32)
// dst = pmax(x, s) = x < s ? s : x, or pmin(x, s) = s < x ? s : x, lane by lane
// locals: end(4), a(5: v128 splat)
function clampScalarCode(instr: number[]): number[] {
  const [SRC, DST, N, S, END, A] = [0, 1, 2, 3, 4, 5];
  return body([[1, I32], [1, 0x7b]], [
    ...op.get(S), ...F32X4_SPLAT, ...op.set(A),
    ...op.get(N), ...op.i32(2), ...op.shl, ...op.get(SRC), ...op.add, ...op.set(END),
    ...op.block, ...op.loop,
    ...op.get(SRC), ...op.get(END), ...op.geU, ...op.brIf(1),
    ...op.get(DST), ...op.get(SRC), ...V128_LOAD(), ...op.get(A), ...instr, ...V128_STORE(),
    ...op.get(SRC), ...op.i32(16), ...op.add, ...op.set(SRC),
    ...op.get(DST), ...op.i32(16), ...op.add, ...op.set(DST),
    ...op.br(0),
    ...op.end, ...op.end,
  ]);
}

// ---- copyRows ---------------------------------------------------------------------
// params: dst, src (byte addresses), rows, len (floats per row), dstStride, srcStride (floats)
// dst row r (len floats at dst + r*dstStride*4) = src row r; 32-bit words, so any 4-byte dtype
// locals: k(6), d(7), s(8)
function copyRowsCode(): number[] {
  const [DST, SRC, ROWS, LEN, DSTR, SSTR, K, D, S] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return body([[3, I32]], [
    ...op.block, ...op.loop, // rows
    ...op.get(ROWS), ...op.i32(1), ...op.ltU, ...op.brIf(1),
    ...op.get(DST), ...op.set(D), ...op.get(SRC), ...op.set(S),
    ...op.i32(0), ...op.set(K),
    ...op.block, ...op.loop, // words of the row
    ...op.get(K), ...op.get(LEN), ...op.geU, ...op.brIf(1),
    ...op.get(D), ...op.get(S), ...I32_LOAD, ...I32_STORE,
    ...op.get(D), ...op.i32(4), ...op.add, ...op.set(D),
    ...op.get(S), ...op.i32(4), ...op.add, ...op.set(S),
    ...op.get(K), ...op.i32(1), ...op.add, ...op.set(K),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(DST), ...op.get(DSTR), ...op.i32(2), ...op.shl, ...op.add, ...op.set(DST),
    ...op.get(SRC), ...op.get(SSTR), ...op.i32(2), ...op.shl, ...op.add, ...op.set(SRC),
    ...op.get(ROWS), ...op.i32(1), ...op.sub, ...op.set(ROWS),
    ...op.br(0),
    ...op.end, ...op.end,
  ]);
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const types = [
    func([I32, I32, I32, I32], []),
    func([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32], []),
    func([I32, I32, I32], []),
    func([I32, I32, I32, F32], []),
    func([I32, I32, I32, I32, I32, I32], []),
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x00]])), // memory, min 0 pages, no max
    ...section(3, vec([uleb(0), uleb(1), uleb(2), uleb(3), uleb(4), uleb(3), uleb(3)])),
    ...section(7, vec([[...str('transpose'), 0x00, 0x00], [...str('adam'), 0x00, 0x01], [...str('addRow'), 0x00, 0x02],
      [...str('leakyRelu'), 0x00, 0x03], [...str('copyRows'), 0x00, 0x04], [...str('maxScalar'), 0x00, 0x05],
      [...str('minScalar'), 0x00, 0x06]])),
    ...section(10, vec([transposeCode(), adamCode(), addRowCode(), leakyReluCode(), copyRowsCode(),
      clampScalarCode(F32X4_PMAX), clampScalarCode(F32X4_PMIN)])),
  ];
  return Uint8Array.from(bytes);
}

// ---- instances ------------------------------------------------------------------

export interface SimdKernels {
  /** dst[c * rows + r] = src[r * cols + c] (float32; byte addresses; rows, cols multiples of 4). */
  transpose(src: number, dst: number, rows: number, cols: number): void;
  /** One Adam/AdamW step over n (multiple of 4) floats; see src/train/adam.ts for the formula. */
  adam(p: number, g: number, m: number, v: number, pOut: number, mOut: number, vOut: number, n: number,
    useDecay: number, lerpLow: number, decay: number, w: number, omw: number, b2: number, omb2: number,
    bc2: number, eps: number, step: number): void;
  /** dst[i] += src[i] for n (multiple of 4) floats (byte addresses). */
  addRow(dst: number, src: number, n: number): void;
  /** dst[i] = src[i] < 0 ? src[i] * alpha : src[i] for n (multiple of 4) floats. */
  leakyRelu(src: number, dst: number, n: number, alpha: number): void;
  /** dst[i] = src[i] < s ? s : src[i] (std::max(x, s)) for n (multiple of 4) floats. */
  maxScalar(src: number, dst: number, n: number, s: number): void;
  /** dst[i] = s < src[i] ? s : src[i] (std::min(x, s)) for n (multiple of 4) floats. */
  minScalar(src: number, dst: number, n: number, s: number): void;
  /** rows rows of len 32-bit words, row r from src + 4*r*srcStride to dst + 4*r*dstStride. */
  copyRows(dst: number, src: number, rows: number, len: number, dstStride: number, srcStride: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** The kernels bound to a tfjs wasm backend's memory, or null where they cannot run. */
export function simdKernels(backend: unknown): SimdKernels | null {
  const memory = (backend as { wasm?: { asm?: { memory?: WebAssembly.Memory } } }).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  if (instances.has(memory)) return instances.get(memory)!;
  let k: SimdKernels | null = null;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes() as Uint8Array<ArrayBuffer>), { env: { memory } });
    k = inst.exports as unknown as SimdKernels;
  } catch {
    k = null; // no SIMD, or a memory this module cannot import
  }
  instances.set(memory, k);
  return k;
}
