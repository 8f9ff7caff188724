/**
 * The training worker: wires the Controller to the worker's globals (postMessage, the
 * clock, fetch, IndexedDB). All logic is in controller.ts.
 */
import { Controller } from "./controller.ts"
import { loadMnist } from "./data.ts"
import { loadLastRun, saveLastRun } from "./idb.ts"
import { transferablesOf, type Report } from "./protocol.ts"

// A MessageChannel round trip is a macrotask without setTimeout's 4 ms nesting clamp.
const channel = new MessageChannel()
const waiting: (() => void)[] = []
channel.port1.onmessage = () => waiting.shift()?.()

const controller = new Controller({
  post: (report: Report) => self.postMessage(report, { transfer: transferablesOf(report) }),
  now: () => performance.now(),
  loadData: (url, progress) => loadMnist(url, progress),
  yieldToEvents: () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve)
      channel.port2.postMessage(0)
    }),
  loadSaved: () => loadLastRun().catch(() => undefined),
  save: (bytes) => saveLastRun(bytes).catch(() => undefined),
})

self.onmessage = (e: MessageEvent) => void controller.handle(e.data)
