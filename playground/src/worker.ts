/**
 * The training worker: wires the Controller to the worker's globals (postMessage, the
 * clock, fetch, IndexedDB). All logic is in controller.ts.
 */
import { Controller } from "./controller.ts"
import { loadMnist } from "./data.ts"
import { loadLastRun, saveLastRun } from "./idb.ts"
import { startBrowserPool } from "./pool.ts"
import { transferablesOf, type Report } from "./protocol.ts"

// A MessageChannel round trip is a macrotask without setTimeout's 4 ms nesting clamp.
const channel = new MessageChannel()
const waiting: (() => void)[] = []
channel.port1.onmessage = () => waiting.shift()?.()

const controller = new Controller({
  post: (report: Report) => self.postMessage(report, { transfer: transferablesOf(report) }),
  now: () => performance.now(),
  loadData: (url, progress) => loadMnist(url, progress),
  startPool: async (threads) => {
    try {
      const pool = await startBrowserPool(threads, () => new Worker(new URL("./pool-worker.ts", import.meta.url), { type: "module" }))
      return pool?.threads ?? 1
    } catch (e) {
      // Without helpers the worker trains alone: the same results, one thread.
      console.warn(`dagrad playground: no worker pool (${e instanceof Error ? e.message : String(e)}); training on one thread`)
      return 1
    }
  },
  yieldToEvents: () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve)
      channel.port2.postMessage(0)
    }),
  loadSaved: () => loadLastRun().catch(() => undefined),
  save: (bytes) => saveLastRun(bytes).catch(() => undefined),
})

self.onmessage = (e: MessageEvent) => void controller.handle(e.data)
