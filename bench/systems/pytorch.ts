/**
 * PyTorch (Debian's python3-torch) as a bench system, when a Python that imports torch is
 * found: `$PYTHON` if set (only it), else `python3`, then `/usr/bin/python3` (Debian's torch
 * is installed for the system Python, which a pyenv or venv `python3` on PATH may hide).
 *
 * Each case runs bench/systems/pytorch_bench.py in a fresh Python process (about 1 s to
 * import torch, outside the timing) that times the workload itself, the way
 * harness.measure does, on the same numbers: the tensors of bench/lib/data.ts are written
 * once per run as raw files in a temporary directory and the script reads them.
 * `torch.set_num_threads(threads)` sets its intra-op threads (OpenMP / the BLAS).
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gemmData, lenetBatch, lenetParams, w2Data, w3Data, type BenchLabels, type BenchTensor } from "../lib/data.ts"
import type { MeasureOptions } from "../lib/harness.ts"
import type { CaseResult, Outputs, RemoteCase, SystemAdapter, WorkloadId } from "../lib/workloads.ts"

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "pytorch_bench.py")

/** What `pytorch_bench.py --info` reports. */
interface TorchInfo {
  readonly torch: string
  readonly blas: string
  readonly python: string
}

/** The first Python that imports torch, with what it reports; undefined when none does. */
function findPython(): { python: string; info: TorchInfo } | undefined {
  const chosen = process.env.PYTHON
  const candidates = chosen !== undefined && chosen !== "" ? [chosen] : ["python3", "/usr/bin/python3"]
  for (const python of new Set(candidates)) {
    const r = spawnSync(python, [SCRIPT, "--info"], { encoding: "utf8" })
    if (r.status !== 0) continue
    try {
      return { python, info: JSON.parse(r.stdout.trim().split("\n").pop()!) as TorchInfo }
    } catch {
      continue
    }
  }
  return undefined
}

const found = findPython()

const NOT_INSTALLED = "python3-torch not installed (apt-get install -y python3-torch)"

/** A tensor as the script reads it: a raw little-endian file, its shape and dtype. */
interface TensorFile {
  readonly file: string
  readonly shape: readonly number[]
  readonly dtype: "float32" | "int32"
}

let dataDir: string | undefined
const written = new Map<string, TensorFile>()

/** This run's temporary directory (removed when the process exits). */
function workDir(): string {
  if (dataDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "dagrad-bench-torch-"))
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
    dataDir = dir
  }
  return dataDir
}

/** Writes a tensor once per run under a key naming its data. */
function tensorFile(key: string, t: BenchTensor | BenchLabels): TensorFile {
  const hit = written.get(key)
  if (hit !== undefined) return hit
  const file = join(workDir(), `${key}.bin`)
  writeFileSync(file, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
  const f: TensorFile = { file, shape: [...t.shape], dtype: t.data instanceof Int32Array ? "int32" : "float32" }
  written.set(key, f)
  return f
}

/** The workload's input tensors by the names pytorch_bench.py expects. */
function tensorsOf(workload: WorkloadId): { [name: string]: TensorFile } {
  const out: { [name: string]: TensorFile } = {}
  switch (workload) {
    case "W1":
    case "W4": {
      for (const [name, t] of lenetParams()) out[name] = tensorFile(`lenet.${name}`, t)
      const n = workload === "W1" ? 64 : 256
      const { x, labels } = lenetBatch(n)
      out.x = tensorFile(`lenet.x.${n}`, x)
      out.labels = tensorFile(`lenet.labels.${n}`, labels)
      break
    }
    case "W2": {
      const d = w2Data()
      out.x = tensorFile("w2.x", d.x)
      out.gy = tensorFile("w2.gy", d.gy)
      break
    }
    case "W3": {
      const d = w3Data()
      out.x = tensorFile("w3.x", d.x)
      out.weight = tensorFile("w3.weight", d.weight)
      out.gy = tensorFile("w3.gy", d.gy)
      break
    }
    case "GEMM256":
    case "GEMM512": {
      const n = workload === "GEMM256" ? 256 : 512
      const d = gemmData(n)
      out.a = tensorFile(`gemm.a.${n}`, d.a)
      out.b = tensorFile(`gemm.b.${n}`, d.b)
      break
    }
  }
  return out
}

/** One request to a fresh pytorch_bench.py process; resolves with its JSON answer. */
function ask<T>(python: string, request: { readonly threads: number; readonly [key: string]: unknown }): Promise<T & { threads: number }> {
  return new Promise((resolve, reject) => {
    // both thread pools pinned too (torch.set_num_threads is called as well): OpenMP, OpenBLAS
    const threads = String(request.threads)
    const env = { ...process.env, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads }
    const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"], env })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s))
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) {
        const last = stderr.trim().split("\n").pop() ?? ""
        reject(new Error(`pytorch_bench.py exited with code ${code}: ${last}`))
        return
      }
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop()!))
      } catch (e) {
        reject(new Error(`pytorch_bench.py printed no JSON answer (${String(e)})`))
      }
    })
    child.stdin.end(JSON.stringify(request))
  })
}

function createCase(python: string, workload: WorkloadId, threads: number): CaseResult {
  const request = <T>(action: string, extra: object) => ask<T>(python, { workload, threads, action, tensors: tensorsOf(workload), ...extra })
  const c: RemoteCase = {
    system: "pytorch",
    workload,
    threads,
    time: (o: MeasureOptions) => request<{ times: number[] }>("time", { measure: o }),
    ...(workload === "W1" ? { losses: async (steps: number) => (await request<{ losses: number[] }>("losses", { steps })).losses } : {}),
    ...(workload === "W1"
      ? {}
      : {
          async outputs(): Promise<Outputs> {
            const answer = await request<{ outputs: { [name: string]: { file: string; length: number } } }>("outputs", { outDir: workDir() })
            const out: { [name: string]: Float32Array } = {}
            for (const [name, f] of Object.entries(answer.outputs)) {
              const bytes = readFileSync(f.file)
              out[name] = new Float32Array(bytes.buffer, bytes.byteOffset, f.length).slice()
            }
            return out
          },
        }),
  }
  return c
}

export const pytorchAdapter: SystemAdapter = {
  name: "pytorch",
  version: found === undefined ? "not available" : `torch ${found.info.torch} (python ${found.info.python}, ${found.python}), BLAS ${found.info.blas}`,
  notes:
    found === undefined
      ? []
      : ["pytorch runs each case in a fresh Python process (bench/systems/pytorch_bench.py) that times it the same way and reads the same data (NCHW, no conversion)"],
  threading: "native",
  ...(found === undefined ? { unavailable: NOT_INSTALLED } : {}),
  createCase: (workload, threads) => (found === undefined ? { skip: NOT_INSTALLED, expected: true } : createCase(found.python, workload, threads)),
}
