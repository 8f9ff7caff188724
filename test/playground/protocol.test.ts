import { describe, expect, it } from "vitest"
import { Controller, type ControllerHost } from "../../playground/src/controller.ts"
import { PROGRESS_INTERVAL_MS, RateGate, parseCommand, transferablesOf, type Report } from "../../playground/src/protocol.ts"
import { DEFAULT_CONFIG, type TrainConfig } from "../../playground/src/session.ts"
import { barDigits } from "./fixtures.ts"

const config: TrainConfig = { ...DEFAULT_CONFIG, model: "small-cnn", lr: 0.05, batchSize: 10 }
const data = { train: barDigits(200, 1), test: barDigits(50, 2) }

/** A host with a fake clock that advances `tick` ms on every reading, and a fake store. */
function fakeHost(tick = 3) {
  let clock = 0
  const reports: { at: number; report: Report }[] = []
  let saved: Uint8Array | undefined
  const host: ControllerHost = {
    post: (report) => reports.push({ at: clock, report }),
    now: () => (clock += tick),
    loadData: async (_url, progress) => {
      progress(5, 10)
      progress(10, 10)
      return data
    },
    yieldToEvents: () => new Promise((r) => setImmediate(r)),
    startPool: async () => 1,
    loadSaved: async () => saved,
    save: async (bytes) => {
      saved = bytes
    },
  }
  const of = <T extends Report["type"]>(type: T) => reports.filter((r) => r.report.type === type).map((r) => r.report as Extract<Report, { type: T }>)
  return { host, reports, of, saved: () => saved }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !cond(); i++) await new Promise((r) => setImmediate(r))
  if (!cond()) throw new Error("condition never held")
}

describe("worker protocol", () => {
  it("init reports loading progress, then ready with the data's sizes and the first views", async () => {
    const h = fakeHost()
    await new Controller(h.host).handle({ type: "init", config, dataUrl: "mnist/", restore: false, threads: 1 })
    expect(h.of("loading")).toEqual([
      { type: "loading", loaded: 5, total: 10 },
      { type: "loading", loaded: 10, total: 10 },
    ])
    const ready = h.of("ready")[0]
    expect(ready).toMatchObject({ restored: false, trainCount: 200, testCount: 50, position: { step: 0 }, threads: 1 })
    expect(h.of("evaluation")[0].evaluation.step).toBe(0)
    expect(h.of("filters")[0].shape).toEqual([8, 1, 3, 3])
    expect(h.of("inspection")[0].routing).toHaveLength(2)
  })

  it("start trains until pause; progress is rate-limited; accuracy every 100 steps; pause saves the run", async () => {
    const h = fakeHost()
    const c = new Controller(h.host)
    await c.handle({ type: "init", config, dataUrl: "", restore: false, threads: 1 })
    await c.handle({ type: "start" })
    await until(() => (h.of("progress").at(-1)?.step ?? 0) >= 230)
    await c.handle({ type: "pause" })
    expect(c.isRunning).toBe(false)
    expect(h.of("running").map((r) => r.running)).toEqual([true, false])
    // progress: at most one report per interval (apart from the flushes at each evaluation and at the end)
    const progress = h.reports.filter((r) => r.report.type === "progress")
    const evalSteps = new Set(h.of("evaluation").map((r) => r.evaluation.step))
    const gated = progress.filter((r) => !evalSteps.has((r.report as { step: number }).step))
    for (let i = 1; i < gated.length - 1; i++) expect(gated[i].at - gated[i - 1].at).toBeGreaterThanOrEqual(PROGRESS_INTERVAL_MS)
    const last = h.of("progress").at(-1)!
    expect([...evalSteps]).toEqual(expect.arrayContaining([0, 100, 200, last.step]))
    // the loss fell and the step count is consistent
    const losses = h.of("progress").map((p) => p.loss)
    expect(losses.at(-1)!).toBeLessThan(losses[0])
    expect(h.of("progress").flatMap((p) => p.lossPoints).at(-1)![0]).toBe(last.step)
    expect(h.saved()).toBeInstanceOf(Uint8Array)
  })

  it("a saved run is resumed on init; export + import reproduce the accuracy", async () => {
    const h = fakeHost()
    const c = new Controller(h.host)
    await c.handle({ type: "init", config, dataUrl: "", restore: false, threads: 1 })
    await c.handle({ type: "start" })
    await until(() => (h.of("progress").at(-1)?.step ?? 0) >= 20)
    await c.handle({ type: "pause" })
    const accuracy = h.of("evaluation").at(-1)!.evaluation
    await c.handle({ type: "export" })
    const checkpoint = h.of("checkpoint")[0]
    expect(checkpoint.step).toBe(accuracy.step)

    // a reload: a new controller on the same store resumes where the run paused
    const h2 = fakeHost()
    h2.host.loadSaved = async () => h.saved()
    await new Controller(h2.host).handle({ type: "init", config, dataUrl: "", restore: true, threads: 1 })
    expect(h2.of("ready")[0]).toMatchObject({ restored: true, position: { step: accuracy.step } })
    expect(h2.of("evaluation")[0].evaluation.accuracy).toBe(accuracy.accuracy)

    // a fresh page loads the downloaded file
    const h3 = fakeHost()
    const c3 = new Controller(h3.host)
    await c3.handle({ type: "init", config, dataUrl: "", restore: false, threads: 1 })
    await c3.handle({ type: "import", bytes: checkpoint.bytes, name: "run.dgck" })
    expect(h3.of("loaded")[0]).toMatchObject({ name: "run.dgck", position: { step: accuracy.step } })
    expect(h3.of("evaluation").at(-1)!.evaluation.accuracy).toBe(accuracy.accuracy)
  })

  it("predict answers with 10 probabilities; bad messages become error reports, not exceptions", async () => {
    const h = fakeHost()
    const c = new Controller(h.host)
    await c.handle({ type: "predict", pixels: new Float32Array(784) })
    expect(h.of("error")[0].message).toMatch(/not loaded yet/)
    await c.handle({ type: "init", config, dataUrl: "", restore: false, threads: 1 })
    await c.handle({ type: "predict", pixels: new Float32Array(784) })
    const p = h.of("prediction")[0]
    expect(p.probabilities).toHaveLength(10)
    expect(p.predicted).toBe(p.probabilities.indexOf(Math.max(...p.probabilities)))
    await c.handle({ type: "launch" })
    await c.handle({ type: "import", bytes: new Uint8Array(10), name: "junk.dgck" })
    await c.handle({ type: "set-tie", tie: "middle" })
    expect(h.of("error").slice(1).map((e) => e.message)).toEqual([
      expect.stringMatching(/type "launch"/),
      expect.stringMatching(/FormatError: junk\.dgck/),
      expect.stringMatching(/tie = "middle"/),
    ])
  })

  it("set-tie re-renders the routing with the new policy", async () => {
    const h = fakeHost()
    const c = new Controller(h.host)
    await c.handle({ type: "init", config, dataUrl: "", restore: false, threads: 1 })
    await c.handle({ type: "set-tie", tie: "all" })
    expect(h.of("inspection").at(-1)!.routing.map((v) => v.tie)).toEqual(["all", "all"])
    await c.handle({ type: "inspect", index: 7, tie: "split" })
    const last = h.of("inspection").at(-1)!
    expect([last.index, last.label, last.routing[0].tie]).toEqual([7, 7, "split"])
  })
})

describe("protocol helpers", () => {
  it("parseCommand checks the type and the payloads", () => {
    expect(parseCommand({ type: "start" })).toEqual({ type: "start" })
    expect(() => parseCommand(null)).toThrow(TypeError)
    expect(() => parseCommand({ type: "predict", pixels: [0, 1] })).toThrow(/Float32Array/)
    expect(() => parseCommand({ type: "inspect", index: 1.5 })).toThrow(/index 1.5/)
    expect(() => parseCommand({ type: "init", threads: 0 })).toThrow(/threads 0/)
  })

  it("RateGate lets one call through per interval", () => {
    let t = 0
    const gate = new RateGate(250, () => t)
    const passed: number[] = []
    for (t = 0; t <= 1000; t += 50) if (gate.ready()) passed.push(t)
    expect(passed).toEqual([0, 250, 500, 750, 1000])
    gate.open()
    expect(gate.ready()).toBe(true)
  })

  it("transferablesOf hands over the big arrays", () => {
    const data = new Float32Array(4)
    expect(transferablesOf({ type: "filters", shape: [4], data })).toEqual([data.buffer])
    expect(transferablesOf({ type: "pause" } as unknown as Report)).toEqual([])
  })
})
