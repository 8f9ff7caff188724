/**
 * dagrad benchmark suite: `npm run bench -- [options]` (see bench/README.md).
 *
 *   --only W1,W3      workloads (repeatable; W1 W2 W3 W4 GEMM256 GEMM512; default all)
 *   --system dagrad   systems (repeatable; dagrad dagrad-js tfjs-cpu tfjs-wasm convnetjs pytorch;
 *                     default all; pytorch only where python3-torch imports)
 *   --threads 1,2     thread counts of dagrad, dagrad-js (worker pool) and pytorch (default 1,2)
 *   --quick           smoke run: 1 warm-up, <= 3 timed iterations, short budget per case
 *   --json            one JSON object per measured case on stdout (progress on stderr)
 *   --json-file PATH  also write those JSON lines to PATH (the table still prints)
 *   --rounds R        dagrad measured R times, each in a fresh process spread over the run
 *                     (bench/lib/rounds.ts); its figures are the median of the rounds' medians
 *   --check           no timing: W1 loss over a few steps per system (must decrease, and
 *                     start equal: same data, same weights), then W2/W3/W4/GEMM results of
 *                     every system compared element by element with dagrad's
 *   --iterations N --warmup N --warmup-seconds S --budget SECONDS --min-iterations N
 *                     override the measuring defaults (full run: 3 warm-up, 20 iterations,
 *                     60 s per case, at least 3; --quick: 1/0 warm-up, 3 iterations, 6/4 s, 1)
 */
import { spawn } from "node:child_process"
import { appendFileSync, writeFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { machineInfo, measure, summarize, jsonLine, resultsTable, speedupTable, fmt, type Measurement, type MeasureOptions } from "./lib/harness.ts"
import { combineRounds, roundSchedule, roundsTable } from "./lib/rounds.ts"
import { SYSTEMS, SYSTEM_ENV, WORKLOADS, WORKLOAD_INFO, isRemote, isSkipped, type Outputs, type SystemAdapter, type SystemName, type WorkloadId } from "./lib/workloads.ts"
import { gemmSerial } from "../src/kernels/gemm/serial.ts"
import { kernelBackend } from "../src/kernels/backend.ts"

interface Options {
  workloads: WorkloadId[]
  /** True when --only chose the workloads (then --check runs even the minutes-long anchors). */
  workloadsExplicit: boolean
  systems: SystemName[]
  threads: number[]
  quick: boolean
  json: boolean
  /** Also append the JSON lines to this file (the table still prints). */
  jsonFile: string | undefined
  check: boolean
  /** dagrad's rounds (see bench/lib/rounds.ts); 1 = measured once. */
  rounds: number
  /** Internal: this process is one system's child of a full run (see runIsolated). */
  child: boolean
  /** Measuring options for dagrad and for the (much slower) anchor systems. */
  measure: MeasureOptions
  anchorMeasure: MeasureOptions
}

/**
 * Anchor cases --quick leaves out: one iteration alone would take minutes. (TF.js's cpu
 * conv2DBackpropFilter dominates: with batch 2 the forward takes ~0.5 s, dx ~0.3 s and
 * dx + dw ~14 s, so batch 32 is ~5 min per step on this machine.)
 */
const QUICK_SKIPS: { readonly [key: string]: string } = {
  "tfjs-cpu:W3": "skipped by --quick: one tfjs-cpu W3 iteration takes minutes (its conv2DBackpropFilter kernel); run without --quick",
}

function usage(error?: string): never {
  const text = [
    "usage: npm run bench -- [--only W1,W2,...] [--system dagrad,dagrad-js,tfjs-cpu,tfjs-wasm,convnetjs,pytorch] [--threads 1,2]",
    "                        [--quick] [--json] [--json-file PATH] [--rounds R] [--check] [--iterations N] [--warmup N] [--warmup-seconds S] [--budget SECONDS] [--min-iterations N]",
    `workloads: ${WORKLOADS.join(" ")}    systems: ${SYSTEMS.join(" ")}`,
  ].join("\n")
  if (error !== undefined) {
    process.stderr.write(`bench: ${error}\n${text}\n`)
    process.exit(2)
  }
  process.stdout.write(text + "\n")
  process.exit(0)
}

function parseArgs(argv: readonly string[]): Options {
  const workloads = new Set<WorkloadId>()
  const systems = new Set<SystemName>()
  let threads = [1, 2]
  let quick = false
  let json = false
  let jsonFile: string | undefined
  let check = false
  let rounds = 1
  let child = false
  let iterations: number | undefined
  let warmup: number | undefined
  let warmupSeconds: number | undefined
  let budget: number | undefined
  let minIterations: number | undefined
  const list = (v: string | undefined, flag: string): string[] => {
    if (v === undefined || v.startsWith("--")) usage(`${flag} needs a value`)
    return v.split(",").filter((s) => s !== "")
  }
  const positive = (v: string | undefined, flag: string, min: number): number => {
    const n = Number(v)
    if (v === undefined || !Number.isFinite(n) || n < min) usage(`${flag} ${v ?? ""} (expected a number >= ${min})`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    switch (flag) {
      case "--only":
        for (const w of list(value(), flag)) {
          const id = WORKLOADS.find((x) => x.toLowerCase() === w.toLowerCase())
          if (id === undefined) usage(`unknown workload '${w}'`)
          workloads.add(id)
        }
        break
      case "--system":
        for (const s of list(value(), flag)) {
          const name = SYSTEMS.find((x) => x === s.toLowerCase() || (s.toLowerCase() === "tfjs" && x === "tfjs-cpu"))
          if (name === undefined) usage(`unknown system '${s}'`)
          systems.add(name)
        }
        break
      case "--threads":
        threads = list(value(), flag).map((t) => positive(t, flag, 1))
        if (threads.some((t) => !Number.isInteger(t))) usage("--threads takes integers")
        break
      case "--quick":
        quick = true
        break
      case "--json":
        json = true
        break
      case "--json-file": {
        const v = value()
        if (v === undefined || v.startsWith("--")) usage("--json-file needs a path")
        jsonFile = v
        break
      }
      case "--check":
        check = true
        break
      case "--child":
        child = true
        break
      case "--rounds":
        rounds = positive(value(), flag, 1)
        if (!Number.isInteger(rounds)) usage("--rounds takes an integer")
        break
      case "--iterations":
        iterations = Math.floor(positive(value(), flag, 1))
        break
      case "--warmup":
        warmup = Math.floor(positive(value(), flag, 0))
        break
      case "--warmup-seconds":
        warmupSeconds = positive(value(), flag, 0)
        break
      case "--min-iterations":
        minIterations = Math.floor(positive(value(), flag, 1))
        break
      case "--budget":
        budget = positive(value(), flag, 0.001)
        break
      case "--help":
      case "-h":
        usage()
        break
      default:
        usage(`unknown option '${a}'`)
    }
  }
  const measureOptions: MeasureOptions = quick
    ? { warmup: warmup ?? 1, warmupMs: (warmupSeconds ?? 0) * 1000, iterations: iterations ?? 3, budgetMs: (budget ?? 6) * 1000, minIterations: 1 }
    : {
        warmup: warmup ?? 3,
        warmupMs: (warmupSeconds ?? 3) * 1000,
        iterations: iterations ?? 20,
        budgetMs: (budget ?? 60) * 1000,
        minIterations: minIterations ?? Math.min(3, iterations ?? 20),
      }
  // --quick: the anchors get no warm-up and a 4 s budget (their first step is seconds long)
  const anchorMeasure: MeasureOptions = quick ? { ...measureOptions, warmup: warmup ?? 0, budgetMs: (budget ?? 4) * 1000 } : measureOptions
  return {
    workloads: workloads.size > 0 ? WORKLOADS.filter((w) => workloads.has(w)) : [...WORKLOADS],
    workloadsExplicit: workloads.size > 0,
    systems: systems.size > 0 ? SYSTEMS.filter((s) => systems.has(s)) : [...SYSTEMS],
    threads: [...new Set(threads)].sort((a, b) => a - b),
    quick,
    json,
    jsonFile,
    check,
    rounds,
    child,
    measure: measureOptions,
    anchorMeasure,
  }
}

async function loadAdapter(name: SystemName): Promise<SystemAdapter> {
  switch (name) {
    case "dagrad":
      return (await import("./systems/dagrad.ts")).dagradAdapter
    case "dagrad-js":
      return (await import("./systems/dagrad.ts")).dagradJsAdapter
    case "tfjs-cpu":
      return (await import("./systems/tfjs.ts")).tfjsAdapter
    case "tfjs-wasm":
      return (await import("./systems/tfjs-wasm.ts")).tfjsWasmAdapter
    case "convnetjs":
      return (await import("./systems/convnetjs.ts")).convnetjsAdapter
    case "pytorch":
      return (await import("./systems/pytorch.ts")).pytorchAdapter
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]

/** The thread counts a system is measured at: --threads for threaded systems, else 1. */
const threadCountsOf = (adapter: SystemAdapter, o: Options): number[] => (adapter.threading === undefined ? [1] : o.threads)

/**
 * Runs `body` for `adapter` at `threads`: for a "pool" system, with a dagrad worker pool of
 * `threads` (none for 1) installed for its duration, the workers started under the
 * system's SYSTEM_ENV (they copy process.env when created; --check runs every system in
 * this one process, so it is put back afterwards).
 */
async function withThreads<T>(adapter: SystemAdapter, threads: number, body: () => Promise<T>): Promise<T | { unavailable: string }> {
  if (threads !== 1 && adapter.threading === "native") {
    let reason: string | undefined
    try {
      reason = await adapter.threadsUnavailable?.(threads)
    } catch (e) {
      reason = message(e)
    }
    if (reason !== undefined) return { unavailable: reason }
  }
  if (threads === 1 || adapter.threading !== "pool") return body()
  let pool: { close(): Promise<void> }
  const env = SYSTEM_ENV[adapter.name] ?? {}
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const)
  try {
    Object.assign(process.env, env)
    const { startThreadPool } = await import("../src/node/threads.ts")
    // a row for N threads measures N threads: no per-run choice of one thread (the default)
    const { setAdaptiveThreads } = await import("../src/exec/parallel.ts")
    setAdaptiveThreads(false)
    pool = await startThreadPool(threads)
  } catch (e) {
    return { unavailable: `no ${threads}-thread pool (${message(e)})` }
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  try {
    return await body()
  } finally {
    await pool.close()
  }
}

function header(o: Options): string {
  const m = machineInfo()
  const lines = [
    "dagrad benchmark" + (o.quick ? " (--quick smoke run: few iterations, numbers are indicative only)" : ""),
    `machine: ${m.nproc} cores, ${m.cpuModel}, node ${m.node}, load average ${m.load}`,
    `measuring: ${o.measure.warmup} warm-up (and at least ${o.measure.warmupMs / 1000} s of them), median/min/max over up to ${o.measure.iterations} iterations ` +
      `(fewer, >= ${o.measure.minIterations}, when a case would exceed ${o.measure.budgetMs / 1000} s; the count is in 'iters')` +
      (o.quick ? `; anchors: ${o.anchorMeasure.warmup} warm-up (${o.anchorMeasure.warmupMs / 1000} s), ${o.anchorMeasure.budgetMs / 1000} s budget` : ""),
    "items/s: images/s for W1 and W4, batch items/s for W2 and W3, GFLOP/s for GEMM256/GEMM512. All data float32, identical for every system.",
  ]
  for (const w of o.workloads) lines.push(`  ${w.padEnd(8)} ${WORKLOAD_INFO[w].title}`)
  lines.push("each system runs in its own Node process, one after the other (see runIsolated in bench/run.ts)")
  return lines.join("\n")
}

/** What measuring produces, whether in this process or reported by a child process. */
interface BenchOutput {
  readonly results: Measurement[]
  readonly notes: string[]
  /** Cases that failed to build or run (the bench then exits with code 1: CI runs it). */
  readonly failures: number
}

/** Measures every case of the given systems in this process; `onResult` sees each as it lands. */
async function measureSystems(o: Options, adapters: readonly SystemAdapter[], onResult: (m: Measurement) => void): Promise<BenchOutput> {
  const progress = (line: string): void => void process.stderr.write(line + "\n")
  const results: Measurement[] = []
  const notes: string[] = []
  let failures = 0
  for (const adapter of adapters) {
    if (adapter.unavailable !== undefined) {
      notes.push(`${adapter.name}: ${adapter.unavailable}`)
      progress(`  ${adapter.name}: ${adapter.unavailable}`)
      continue
    }
    for (const t of threadCountsOf(adapter, o)) {
      const r = await withThreads(adapter, t, async () => {
        for (const w of o.workloads) {
          let c
          try {
            c = await adapter.createCase(w, t)
          } catch (e) {
            notes.push(`${adapter.name} ${w} (threads ${t}): FAILED to build: ${message(e)}`)
            failures++
            progress(`  ${adapter.name} ${w}: failed to build (${message(e)})`)
            continue
          }
          const quickSkip = o.quick ? QUICK_SKIPS[`${adapter.name}:${w}`] : undefined
          if (isSkipped(c) || quickSkip !== undefined) {
            const reason = isSkipped(c) ? c.skip : quickSkip!
            const line = `${adapter.name} ${w}: skipped: ${reason}`
            if (!notes.includes(line)) notes.push(line)
            progress(`  ${line}`)
            if (!isSkipped(c) && !isRemote(c)) c.dispose?.()
            continue
          }
          try {
            const options = adapter.anchor === true ? o.anchorMeasure : o.measure
            let m
            if (isRemote(c)) {
              const r = await c.time(options)
              m = summarize(c, r.times, r.threads)
            } else m = measure(c, options)
            if (!o.quick && m.iterations < o.measure.iterations) {
              notes.push(`${m.system} ${m.workload} (threads ${m.threads}): ${m.iterations} iteration(s) only, within the time budget (median ${fmt(m.medianMs)} ms per step)`)
            }
            results.push(m)
            if (m.note !== undefined && !notes.includes(`${m.system}: ${m.note}`)) notes.push(`${m.system}: ${m.note}`)
            progress(`  ${m.system} ${m.workload} threads ${m.threads}: median ${fmt(m.medianMs)} ms over ${m.iterations} iterations`)
            onResult(m)
          } catch (e) {
            notes.push(`${adapter.name} ${w} (threads ${t}): FAILED while running: ${message(e)}`)
            failures++
            progress(`  ${adapter.name} ${w}: failed (${message(e)})`)
          } finally {
            if (!isRemote(c)) c.dispose?.()
          }
        }
      })
      if (r !== undefined && typeof r === "object" && "unavailable" in r) {
        notes.push(`${adapter.name} threads ${t}: skipped: ${r.unavailable}`)
        progress(`  ${adapter.name} threads ${t}: ${r.unavailable}`)
      }
    }
  }
  return { results, notes, failures }
}

/** The line protocol between a child (`--child`) and the parent: one JSON object per line. */
type ChildLine = { kind: "result"; m: Measurement } | { kind: "note"; text: string } | { kind: "adapter"; name: SystemName; version: string; notes: readonly string[] }

/** --child: measure the one system and report on stdout (progress stays on stderr). */
async function runChild(o: Options, adapters: readonly SystemAdapter[], loadNotes: readonly string[]): Promise<void> {
  const send = (line: ChildLine): void => void process.stdout.write(JSON.stringify(line) + "\n")
  for (const a of adapters) send({ kind: "adapter", name: a.name, version: a.version, notes: a.notes })
  const out = await measureSystems(o, adapters, (m) => send({ kind: "result", m }))
  for (const text of [...loadNotes, ...out.notes]) send({ kind: "note", text })
  if (out.failures > 0) process.exitCode = 1
}

/** The command-line arguments of this run minus the ones the parent keeps to itself. */
function childArgs(argv: readonly string[], system: SystemName): string[] {
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === "--json") continue
    if (a === "--system" || a === "--json-file") {
      i++
      continue
    }
    if (a.startsWith("--system=") || a.startsWith("--json-file=")) continue
    args.push(a)
  }
  return [...args, "--system", system, "--child"]
}

/**
 * Runs each system in its own Node process, one after the other. Libraries have
 * process-wide side effects on V8: loading TF.js detaches an ArrayBuffer, which
 * permanently turns off V8's "no detached buffers" fast path, and every typed-array access
 * in the process then pays a check (measured: dagrad's GEMM 4.0 -> 3.0 GFLOP/s after
 * `import("@tensorflow/tfjs")`). Separate processes keep each system's numbers its own.
 * With --rounds, dagrad's process runs once per round, between the others (roundSchedule).
 */
async function runIsolated(o: Options, argv: readonly string[], onResult: (m: Measurement) => void): Promise<BenchOutput & { versions: string[]; roundTable?: string }> {
  const anchorResults: Measurement[] = []
  const perRound: Measurement[][] = []
  const calibration: number[] = []
  const notes: string[] = []
  let failures = 0
  const versions: string[] = []
  const keep = (list: string[], line: string): void => void (list.includes(line) ? undefined : list.push(line))
  /** A dagrad round's note -> the rounds that reported it (most notes come from every round). */
  const noteRounds = new Map<string, number[]>()
  for (const run of roundSchedule(o.systems, o.rounds)) {
    const inRounds = run.system === "dagrad" && o.rounds > 1
    if (inRounds) {
      // measured here, between children: nothing else computes meanwhile
      calibration[run.round - 1] = calibrationGflops()
      process.stderr.write(`dagrad round ${run.round} of ${o.rounds} (calibration ${calibration[run.round - 1].toFixed(2)} GFLOP/s)\n`)
      perRound[run.round - 1] = []
    }
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...childArgs(argv, run.system)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...SYSTEM_ENV[run.system] },
    })
    const lines = createInterface({ input: child.stdout })
    for await (const raw of lines) {
      if (!raw.startsWith("{")) continue
      const line = JSON.parse(raw) as ChildLine
      if (line.kind === "result") {
        // a round's figures are combined once every round is in
        if (inRounds) perRound[run.round - 1].push(line.m)
        else {
          anchorResults.push(line.m)
          onResult(line.m)
        }
      } else if (line.kind === "note") {
        if (inRounds) noteRounds.set(line.text, [...(noteRounds.get(line.text) ?? []), run.round])
        else keep(notes, line.text)
      }
      else {
        keep(versions, `${line.name}: ${line.version}`)
        for (const n of line.notes) keep(versions, `  note: ${n}`)
      }
    }
    const code: number | null = child.exitCode ?? (await new Promise((resolve) => child.once("exit", resolve)))
    if (code !== 0) {
      // code 1 = a case failed (its note says which); anything else, the process itself did
      notes.push(`${run.system}${inRounds ? ` round ${run.round}` : ""}: its benchmark process exited with code ${code}`)
      failures++
    }
  }
  for (const [text, reported] of noteRounds) notes.unshift(reported.length === o.rounds ? text : `round${reported.length > 1 ? "s" : ""} ${reported.join(", ")}: ${text}`)
  if (perRound.length === 0) return { results: anchorResults, notes, failures, versions }
  const combined = combineRounds(perRound)
  for (const m of combined) onResult(m)
  return { results: [...combined, ...anchorResults], notes, failures, versions, roundTable: roundsTable(perRound, combined, calibration) }
}

/**
 * This machine's speed right now: one-thread GFLOP/s of a 256^3 float32 GEMM (gemmSerial,
 * best of 7 after 3 warm-ups, about 0.1 s), printed before and after the run. A shared VM
 * drifts (this project's dropped to half speed for minutes at a time), and the figure lets
 * a reader see which state a run met; it is measured in this parent process, which never
 * loads TF.js (see "Process isolation").
 */
function calibrationGflops(): number {
  const n = 256
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5)
  const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5)
  const c = new Float32Array(n * n)
  let best = Infinity
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now()
    gemmSerial(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
    if (i >= 3) best = Math.min(best, performance.now() - t0)
  }
  return (2 * n * n * n) / (best * 1e6)
}

const calibrationLine = (when: string): string =>
  `machine calibration (${when}): 256^3 float32 GEMM on one thread (${kernelBackend()} kernels), best of 7: ${calibrationGflops().toFixed(2)} GFLOP/s`

async function runBench(o: Options, argv: readonly string[]): Promise<void> {
  const say = (line: string): void => void (o.json ? process.stderr : process.stdout).write(line + "\n")
  if (!o.json) say(header(o))
  say(calibrationLine("before the run") + "\n")
  if (o.jsonFile !== undefined) writeFileSync(o.jsonFile, "")
  const onResult = (m: Measurement): void => {
    if (o.json) process.stdout.write(jsonLine(m) + "\n")
    if (o.jsonFile !== undefined) appendFileSync(o.jsonFile, jsonLine(m) + "\n")
  }
  const { results, notes, failures, versions, roundTable } = await runIsolated(o, argv, onResult)
  if (failures > 0) process.exitCode = 1
  if (o.json) return
  say("")
  say(versions.join("\n") + "\n")
  say(resultsTable(results))
  if (roundTable !== undefined) {
    say(`\ndagrad's ${o.rounds} rounds (median ms per round; the table above gives their median, and min/max over all rounds' iterations)\n` + roundTable)
  }
  const speedups = speedupTable(results)
  if (speedups !== undefined) say("\nspeed-up of dagrad (other system's median / dagrad's median; > 1 means dagrad is faster)\n" + speedups)
  if (notes.length > 0) say("\nnotes:\n" + notes.map((n) => `  - ${n}`).join("\n"))
  say("\n" + calibrationLine("after the run"))
}

/** --check: W1 losses over a few steps per system; they must decrease and start equal. */
async function runCheck(o: Options, adapters: readonly SystemAdapter[]): Promise<void> {
  const steps = 5
  const say = (line: string): void => void process.stdout.write(line + "\n")
  const first = new Map<string, number>()
  let ok = true
  if (o.workloads.includes("W1")) say(`W1 sanity check: ${steps} SGD steps (lr 0.01) on the same batch of 64, same initial weights`)
  for (const adapter of o.workloads.includes("W1") ? adapters : []) {
    for (const t of threadCountsOf(adapter, o)) {
      await withThreads(adapter, t, async () => {
        const label = `${adapter.name} (threads ${t})`
        let c
        try {
          c = await adapter.createCase("W1", t)
        } catch (e) {
          say(`  ${label}: FAILED to build: ${message(e)}`)
          ok = false
          return
        }
        if (isSkipped(c)) {
          say(`  ${label}: SKIPPED: ${c.skip}`)
          if (c.expected !== true) ok = false
          return
        }
        const isTfjs = adapter.name === "tfjs-cpu" || adapter.name === "tfjs-wasm"
        try {
          const tensorsBefore = isTfjs ? await (await import("./systems/tfjs.ts")).tfjsTensorCount() : 0
          const losses: number[] = []
          if (isRemote(c)) {
            if (c.losses === undefined) throw new Error("the case reports no W1 losses")
            losses.push(...(await c.losses(steps)))
          }
          for (let i = 0; i < steps && !isRemote(c); i++) {
            const l = c.step()
            if (typeof l !== "number") throw new Error("W1 step returned no loss")
            losses.push(l)
          }
          const decreasing = losses.every((l, i) => Number.isFinite(l) && (i === 0 || l < losses[i - 1]))
          if (!decreasing) ok = false
          first.set(label, losses[0])
          say(`  ${label.padEnd(24)} ${losses.map((l) => l.toFixed(6)).join("  ")}  ${decreasing ? "ok (decreasing)" : "NOT DECREASING"}`)
          if (isTfjs) {
            const leaked = (await (await import("./systems/tfjs.ts")).tfjsTensorCount()) - tensorsBefore
            say(`  ${"".padEnd(24)} tfjs tensors leaked over ${steps} steps: ${leaked}${leaked === 0 ? "" : " (LEAK)"}`)
            if (leaked !== 0) ok = false
          }
        } catch (e) {
          say(`  ${label}: FAILED while running: ${message(e)}`)
          ok = false
        } finally {
          if (!isRemote(c)) c.dispose?.()
        }
      })
    }
  }
  if (first.size > 1) {
    const values = [...first.values()]
    const spread = Math.max(...values) - Math.min(...values)
    // float32 systems vs ConvNetJS's float64: the first loss agrees to ~1e-6
    const agree = spread < 1e-4
    if (!agree) ok = false
    say(`first-step loss spread across systems: ${spread.toExponential(2)} ${agree ? "ok (< 1e-4: same data and weights)" : "MISMATCH (> 1e-4)"}`)
  }
  if (!(await checkOutputs(o, adapters, say))) ok = false
  say(ok ? "check: ok" : "check: FAILED (or incomplete: see above)")
  if (!ok) process.exitCode = 1
}

/**
 * Runs W2/W3/W4/GEMM once per system and compares every output with the first system's
 * (dagrad with 1 thread by default): max |a - b| relative to max |reference|, which must
 * stay under 1e-4 (float32 sums in different orders; ConvNetJS sums in float64).
 */
async function checkOutputs(o: Options, adapters: readonly SystemAdapter[], say: (line: string) => void): Promise<boolean> {
  const workloads = o.workloads.filter((w) => w !== "W1")
  if (workloads.length === 0) return true
  say(`\nresults compared element by element (${workloads.join(", ")}): max |a - b| / max |reference|, must be < 1e-4`)
  let ok = true
  const results = new Map<WorkloadId, { label: string; outputs: Outputs; knownMismatch?: string }[]>()
  for (const adapter of adapters) {
    for (const t of threadCountsOf(adapter, o)) {
      await withThreads(adapter, t, async () => {
        for (const w of workloads) {
          const label = `${adapter.name} (threads ${t})`
          const slow = QUICK_SKIPS[`${adapter.name}:${w}`]
          if (slow !== undefined && !o.workloadsExplicit) {
            say(`  ${w} ${label}: not compared (minutes per run; use --check --only ${w} to include it)`)
            continue
          }
          let c
          try {
            c = await adapter.createCase(w, t)
          } catch (e) {
            say(`  ${w} ${label}: FAILED to build: ${message(e)}`)
            ok = false
            continue
          }
          if (isSkipped(c)) continue
          try {
            if (c.outputs === undefined) continue
            const list = results.get(w) ?? []
            list.push({ label, outputs: await c.outputs(), ...(isRemote(c) || c.knownMismatch === undefined ? {} : { knownMismatch: c.knownMismatch }) })
            results.set(w, list)
          } catch (e) {
            say(`  ${w} ${label}: FAILED while running: ${message(e)}`)
            ok = false
          } finally {
            if (!isRemote(c)) c.dispose?.()
          }
        }
      })
    }
  }
  for (const w of workloads) {
    const list = results.get(w) ?? []
    if (list.length < 2) continue
    const [ref, ...rest] = list
    for (const r of rest) {
      const parts: string[] = []
      let good = true
      for (const [name, want] of Object.entries(ref.outputs)) {
        const got = r.outputs[name]
        if (got === undefined || got.length !== want.length) {
          parts.push(`${name}: missing or wrong length`)
          good = false
          continue
        }
        let scale = 0
        let diff = 0
        for (let i = 0; i < want.length; i++) {
          scale = Math.max(scale, Math.abs(want[i]))
          diff = Math.max(diff, Math.abs(got[i] - want[i]))
        }
        const rel = diff / Math.max(scale, 1e-30)
        if (!(rel < 1e-4)) good = false
        parts.push(`${name} ${rel.toExponential(1)}`)
      }
      // a difference the system's own probe explains is shown but does not fail the check
      const known = !good && r.knownMismatch !== undefined
      if (!good && !known) ok = false
      say(`  ${w.padEnd(8)} ${r.label} vs ${ref.label}: ${parts.join(", ")}  ${good ? "ok" : known ? `KNOWN MISMATCH: ${r.knownMismatch}` : "MISMATCH"}`)
    }
  }
  return ok
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const o = parseArgs(argv)
  if (!o.check && !o.child) return runBench(o, argv)
  const adapters: SystemAdapter[] = []
  const loadNotes: string[] = []
  for (const s of o.systems) {
    try {
      adapters.push(await loadAdapter(s))
    } catch (e) {
      // an anchor's npm package not installed (npm ci --omit=dev) is a note; any other
      // error (dagrad's own code, DAGRAD_BACKEND=bogus) fails the run
      const notInstalled = /Cannot find (package|module) '(@tensorflow|convnetjs)/.test(message(e))
      loadNotes.push(`${s}: ${notInstalled ? "" : "FAILED to load: "}${message(e)}`)
      process.stderr.write(`bench: system ${s} is unavailable: ${message(e)}\n`)
      if (!notInstalled) process.exitCode = 1
    }
  }
  if (o.check) await runCheck(o, adapters)
  else await runChild(o, adapters, loadNotes)
}

await main()
