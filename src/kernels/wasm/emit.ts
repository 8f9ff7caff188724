/**
 * A small WebAssembly assembler: the bytes of the kernel module are written by this file's
 * functions, in this repository, so there is no binary blob and no toolchain to install.
 * It knows the few parts of the binary format the kernels need (one imported memory,
 * functions with i32/f32/f64/v128 locals, exports) and the instructions they use.
 *
 * Format reference: the WebAssembly core specification, binary format (chapter 5), and the
 * fixed-width SIMD proposal's opcode table (all SIMD instructions are 0xfd + LEB128 index).
 */

/** Value types, by their binary code. */
export const i32 = 0x7f
export const f32 = 0x7d
export const f64 = 0x7c
export const v128 = 0x7b
export type ValType = typeof i32 | typeof f32 | typeof f64 | typeof v128

function uleb(out: number[], n: number): void {
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
}

function sleb(out: number[], n: number): void {
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return
    }
    out.push(byte | 0x80)
  }
}

function name(out: number[], s: string): void {
  uleb(out, s.length)
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i))
}

/** Memory access alignment as log2(bytes) and a constant byte offset. */
interface MemArg {
  readonly offset?: number
  readonly align?: number
}

/**
 * One function body under construction. Every method appends one instruction (named as in
 * the text format, `.` replaced by `_`) and returns `this`, so bodies read like the text
 * format. Structured control (`block`, `loop`, `if_`) is closed with `end`.
 */
export class Code {
  readonly bytes: number[] = []

  private op(...b: number[]): this {
    this.bytes.push(...b)
    return this
  }
  private mem(code: number, m: MemArg, natural: number): this {
    this.bytes.push(code)
    uleb(this.bytes, m.align ?? natural)
    uleb(this.bytes, m.offset ?? 0)
    return this
  }
  private simd(index: number): this {
    this.bytes.push(0xfd)
    uleb(this.bytes, index)
    return this
  }
  private simdMem(index: number, m: MemArg, natural: number): this {
    this.simd(index)
    uleb(this.bytes, m.align ?? natural)
    uleb(this.bytes, m.offset ?? 0)
    return this
  }

  // control
  block(): this { return this.op(0x02, 0x40) }
  loop(): this { return this.op(0x03, 0x40) }
  if_(): this { return this.op(0x04, 0x40) }
  /** An `if` whose arms each leave one f32 (so a value can be chosen inside an expression). */
  if_f32(): this { return this.op(0x04, f32) }
  /** An `if` whose arms each leave one i32. */
  if_i32(): this { return this.op(0x04, i32) }
  else_(): this { return this.op(0x05) }
  end(): this { return this.op(0x0b) }
  br(depth: number): this { this.op(0x0c); uleb(this.bytes, depth); return this }
  br_if(depth: number): this { this.op(0x0d); uleb(this.bytes, depth); return this }
  return_(): this { return this.op(0x0f) }
  call(func: number): this { this.op(0x10); uleb(this.bytes, func); return this }
  drop(): this { return this.op(0x1a) }
  select(): this { return this.op(0x1b) }

  // locals
  get(local: number): this { this.op(0x20); uleb(this.bytes, local); return this }
  set(local: number): this { this.op(0x21); uleb(this.bytes, local); return this }
  tee(local: number): this { this.op(0x22); uleb(this.bytes, local); return this }

  // memory
  i32_load(m: MemArg = {}): this { return this.mem(0x28, m, 2) }
  f32_load(m: MemArg = {}): this { return this.mem(0x2a, m, 2) }
  f64_load(m: MemArg = {}): this { return this.mem(0x2b, m, 3) }
  i32_store(m: MemArg = {}): this { return this.mem(0x36, m, 2) }
  f32_store(m: MemArg = {}): this { return this.mem(0x38, m, 2) }
  f64_store(m: MemArg = {}): this { return this.mem(0x39, m, 3) }

  // constants
  i32_const(n: number): this { this.op(0x41); sleb(this.bytes, n | 0); return this }
  f32_const(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer)
    return this.op(0x43, ...b)
  }

  // i32 arithmetic and comparisons
  i32_eqz(): this { return this.op(0x45) }
  i32_eq(): this { return this.op(0x46) }
  i32_ne(): this { return this.op(0x47) }
  i32_lt_s(): this { return this.op(0x48) }
  i32_gt_s(): this { return this.op(0x4a) }
  i32_le_s(): this { return this.op(0x4c) }
  i32_ge_s(): this { return this.op(0x4e) }
  i32_lt_u(): this { return this.op(0x49) }
  i32_ge_u(): this { return this.op(0x4f) }
  i32_add(): this { return this.op(0x6a) }
  i32_sub(): this { return this.op(0x6b) }
  i32_mul(): this { return this.op(0x6c) }
  i32_and(): this { return this.op(0x71) }
  i32_or(): this { return this.op(0x72) }
  i32_shl(): this { return this.op(0x74) }
  i32_shr_s(): this { return this.op(0x75) }

  // f32 arithmetic and comparisons
  f32_gt(): this { return this.op(0x5e) }
  f32_le(): this { return this.op(0x5f) }
  f32_ge(): this { return this.op(0x60) }
  f32_eq(): this { return this.op(0x5b) }
  f32_ne(): this { return this.op(0x5c) }
  f32_add(): this { return this.op(0x92) }
  f32_sub(): this { return this.op(0x93) }
  f32_mul(): this { return this.op(0x94) }
  f32_max(): this { return this.op(0x97) }

  // SIMD (opcode indices from the SIMD proposal)
  v128_load(m: MemArg = {}): this { return this.simdMem(0x00, m, 4) }
  v128_load32_splat(m: MemArg = {}): this { return this.simdMem(0x09, m, 2) }
  v128_store(m: MemArg = {}): this { return this.simdMem(0x0b, m, 4) }
  v128_const0(): this { this.simd(0x0c); for (let i = 0; i < 16; i++) this.bytes.push(0); return this }
  f32x4_splat(): this { return this.simd(0x13) }
  f32x4_extract_lane(lane: number): this { this.simd(0x1f); this.bytes.push(lane); return this }
  f32x4_eq(): this { return this.simd(0x41) }
  f32x4_gt(): this { return this.simd(0x44) }
  f32x4_le(): this { return this.simd(0x45) }
  v128_and(): this { return this.simd(0x4e) }
  v128_bitselect(): this { return this.simd(0x52) }
  f32x4_add(): this { return this.simd(0xe4) }
  f32x4_sub(): this { return this.simd(0xe5) }
  f32x4_mul(): this { return this.simd(0xe6) }
  f32x4_max(): this { return this.simd(0xe9) }
  f32x4_pmax(): this { return this.simd(0xeb) }
  /** Relaxed SIMD: a*b+c, fused or not depending on the CPU (so not bit-reproducible across machines). */
  f32x4_relaxed_madd(): this { return this.simd(0x105) }
  /** v128.const with four i32 lanes. */
  i32x4_const(a: number, b: number, c: number, d: number): this {
    this.simd(0x0c)
    this.bytes.push(...new Uint8Array(new Int32Array([a, b, c, d]).buffer))
    return this
  }
  /** i8x16.shuffle of two vectors: byte k of the result is byte lanes[k] (0-31) of (first, second). */
  i8x16_shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new Error("i8x16.shuffle takes 16 lane indices")
    this.simd(0x0d)
    this.bytes.push(...lanes)
    return this
  }
  i32x4_splat(): this { return this.simd(0x11) }
  i32x4_gt_s(): this { return this.simd(0x3b) }
  f32x4_ne(): this { return this.simd(0x42) }
  v128_or(): this { return this.simd(0x50) }
  i32x4_add(): this { return this.simd(0xae) }

  // bulk memory
  /** memory.fill(dst, byte value, n bytes) on memory 0. */
  memory_fill(): this { return this.op(0xfc, 0x0b, 0x00) }
}

/** One function of a module: its signature, extra locals and body. */
export interface FunctionSpec {
  readonly name: string
  readonly params: readonly ValType[]
  readonly results?: readonly ValType[]
  readonly locals?: readonly ValType[]
  /** Exported under `name` unless false. */
  readonly exported?: boolean
  readonly body: Code
}

/** How the module imports its memory: `env.memory`, up to `maximumPages` (64 KiB each). */
export interface MemoryImport {
  readonly shared: boolean
  readonly maximumPages: number
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id)
  uleb(out, content.length)
  out.push(...content)
}

/** The bytes of a module that imports `env.memory` and defines `functions` (indices in order). */
export function assembleModule(memory: MemoryImport, functions: readonly FunctionSpec[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]

  const types: number[] = []
  uleb(types, functions.length)
  for (const f of functions) {
    types.push(0x60)
    uleb(types, f.params.length)
    types.push(...f.params)
    const results = f.results ?? []
    uleb(types, results.length)
    types.push(...results)
  }
  section(out, 1, types)

  const imports: number[] = []
  uleb(imports, 1)
  name(imports, "env")
  name(imports, "memory")
  imports.push(0x02, memory.shared ? 0x03 : 0x01)
  uleb(imports, 1)
  uleb(imports, memory.maximumPages)
  section(out, 2, imports)

  const funcs: number[] = []
  uleb(funcs, functions.length)
  functions.forEach((_, i) => uleb(funcs, i))
  section(out, 3, funcs)

  const exported = functions.map((f, i) => [f, i] as const).filter(([f]) => f.exported !== false)
  const exports: number[] = []
  uleb(exports, exported.length)
  for (const [f, i] of exported) {
    name(exports, f.name)
    exports.push(0x00)
    uleb(exports, i)
  }
  section(out, 7, exports)

  const code: number[] = []
  uleb(code, functions.length)
  for (const f of functions) {
    const body: number[] = []
    const locals = f.locals ?? []
    // locals are declared as runs of one type
    const runs: [number, ValType][] = []
    for (const t of locals) {
      const last = runs[runs.length - 1]
      if (last !== undefined && last[1] === t) last[0]++
      else runs.push([1, t])
    }
    uleb(body, runs.length)
    for (const [count, t] of runs) {
      uleb(body, count)
      body.push(t)
    }
    body.push(...f.body.bytes, 0x0b)
    uleb(code, body.length)
    code.push(...body)
  }
  section(out, 10, code)
  return new Uint8Array(out)
}
