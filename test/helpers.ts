// Helpers shared by op tests: build a graph on named inputs and run it; run golden files.
import { build } from "esbuild"
import { readFileSync } from "node:fs"
import { runInNewContext } from "node:vm"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { setKernelBackend } from "../src/kernels/backend.ts"
import { GraphBuilder, compile, tensor, type DagradError, type Tensor, type Value } from "../src/index.ts"
import { parseGoldenFile, runGoldenCase } from "../src/testing/golden.ts"
import { startThreadPool } from "../src/node/threads.ts"
import { runSerially, taskFunction, type ParallelBackend, type TaskArgs } from "../src/exec/parallel.ts"
import { installKernelTask } from "../src/exec/offload.ts"
import { builtinRegistry } from "../src/ops/builtins.ts"
export { randomTensor } from "../src/testing/tensors.ts"

/** `run()` with a worker thread pool of `threads` installed, closed again whatever happens. */
export async function onThreads<T>(threads: number, run: () => T): Promise<T> {
  const pool = await startThreadPool(threads)
  try {
    return run()
  } finally {
    await pool.close()
  }
}

export interface StandInOptions {
  /** How many threads it reports (default 2). */
  readonly threads?: number
  /** Only its own allocations count as shared, so kernels stage other operands (default: every array). */
  readonly ownShared?: boolean
  /** Sees each run(task, parts) before the parts run. */
  readonly onRun?: (task: string, parts: readonly TaskArgs[]) => void
  /** Sees each runBeside(task, part) before it runs. */
  readonly onBeside?: (task: string, part: TaskArgs) => void
}

/**
 * A parallel backend on this thread, for tests: parts run one after another in reverse
 * order (no result may depend on the order), and runBeside runs the task and then the
 * local side, each seeing one thread, as on a real pool.
 */
export function standInBackend(options: StandInOptions = {}): ParallelBackend {
  const shared = new WeakSet<ArrayBufferLike>()
  installKernelTask(builtinRegistry)
  return {
    threads: options.threads ?? 2,
    registry: builtinRegistry,
    allocShared(dtype, size) {
      const a = dtype === "float64" ? new Float64Array(size) : dtype === "float32" ? new Float32Array(size) : new Int32Array(size)
      shared.add(a.buffer)
      return a
    },
    isShared: (a) => options.ownShared !== true || shared.has(a.buffer),
    run(task, parts) {
      options.onRun?.(task, parts)
      for (const part of [...parts].reverse()) taskFunction(task)(part)
    },
    runBeside(task, part, local) {
      options.onBeside?.(task, part)
      runSerially(() => taskFunction(task)(part))
      runSerially(local)
    },
  }
}

const GOLDEN_DIR = new URL("./golden/", import.meta.url)

/**
 * One describe per PyTorch golden file (test/golden, vendored from ../shared/golden): every case (of `ops` only, when
 * given) in float64 and float32 must pass, and the file must hold at least one such case.
 */
export function describeGoldenFiles(files: readonly string[], ops?: readonly string[]): void {
  for (const file of files) {
    const golden = parseGoldenFile(readFileSync(new URL(file, GOLDEN_DIR), "utf8"), file)
    const cases = golden.cases.filter((c) => ops === undefined || ops.includes(c.op))
    describe(`golden ${file} (PyTorch)`, () => {
      it("has cases", () => expect(cases.length).toBeGreaterThan(0))
      for (const c of cases) {
        for (const dtype of ["float64", "float32"] as const) {
          it(`${c.name} (${dtype})`, () => {
            const r = runGoldenCase(c, { dtype })
            expect(r.detail ?? "").toBe("")
            expect(r.status).toBe("passed")
          })
        }
      }
    })
  }
}

/** Builds `build` on graph inputs named like `inputs` in `dtype`, runs it, returns y. */
export function forward(build: (v: { [k: string]: Value }) => Value, inputs: { [k: string]: Tensor }, dtype: "float32" | "float64" = "float64"): Tensor {
  const b = new GraphBuilder({ dtype })
  const values: { [k: string]: Value } = {}
  for (const [k, t] of Object.entries(inputs)) values[k] = b.input(k, t.shape)
  const y = build(values)
  const feeds: { [k: string]: Tensor } = {}
  for (const [k, t] of Object.entries(inputs)) feeds[k] = tensor(t.data, t.shape, dtype)
  return compile(b.graph, [y]).run(feeds)[0]
}

/** The error of class `Class` that `f` throws; fails the test when it throws nothing or something else. */
export function errorOf<E extends DagradError>(Class: new (...a: never[]) => E, f: () => unknown): E {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(Class)
    return e as E
  }
  throw new Error(`expected a ${Class.name}`)
}

/**
 * Bundles `source` (imports resolved from the repository root) for the browser platform,
 * where a Node built-in import fails the build, and runs it in a bare V8 context that has
 * only `globals` (no process, require or Buffer). Returns what it assigned to
 * `globalThis.result`.
 */
export async function runInBrowserSandbox(source: string, globals: { readonly [name: string]: unknown } = {}): Promise<unknown> {
  const bundled = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: "ts" },
    bundle: true,
    platform: "browser",
    format: "iife",
    write: false,
    logLevel: "silent",
  })
  const sandbox: { result?: unknown } = { ...globals }
  runInNewContext(bundled.outputFiles[0].text, sandbox)
  return sandbox.result
}


/**
 * Runs the tests of this file on the JavaScript kernels (setKernelBackend("js")): for
 * tests that compare JS kernel paths with each other bit for bit (direct vs im2col + GEMM,
 * Winograd vs its direct fallback), which the WASM kernels would otherwise replace.
 */
export function onJsKernels(): void {
  beforeAll(() => setKernelBackend("js"))
  afterAll(() => setKernelBackend(undefined))
}
