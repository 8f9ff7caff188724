/**
 * The page: controls, live figures and the drawing pad. It only sends commands to the
 * training worker and renders what comes back, once per animation frame at most.
 */
import { toMnistDigit } from "./draw.ts"
import type { Command, Point, Report } from "./protocol.ts"
import { confusionTableHtml, heatmapRgba, layerHeatmap, lineChartSvg, plainNumber, probabilityBarsHtml } from "./render.ts"
import { parseConfig, type Tie, type TrainConfig } from "./config.ts"

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the page has no #${id}`)
  return el as T
}

// The page's measurements of its own responsiveness, read by the end-to-end test.
const inputDelays: number[] = []
for (const type of ["keydown", "pointerdown"] as const) {
  document.addEventListener(type, (e) => inputDelays.push(performance.now() - e.timeStamp), { capture: true })
}

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" })
const send = (cmd: Command, transfer: Transferable[] = []): void => worker.postMessage(cmd, transfer)

const ui = {
  model: $<HTMLSelectElement>("model"),
  optimizer: $<HTMLSelectElement>("optimizer"),
  lr: $<HTMLInputElement>("lr"),
  batch: $<HTMLInputElement>("batch"),
  tie: $<HTMLSelectElement>("tie"),
  viewTie: $<HTMLSelectElement>("view-tie"),
  train: $<HTMLButtonElement>("train"),
  pause: $<HTMLButtonElement>("pause"),
  reset: $<HTMLButtonElement>("reset"),
  download: $<HTMLButtonElement>("download"),
  load: $<HTMLInputElement>("load"),
  message: $("message"),
}

/** What the page shows; render() draws it on the next animation frame. */
const state = {
  ready: false,
  running: false,
  step: 0,
  epoch: 0,
  loss: NaN,
  accuracy: NaN,
  imagesPerSecond: NaN,
  lossPoints: [] as Point[],
  accuracyPoints: [] as Point[],
  digit: 0,
}
;(window as unknown as { dagradPlayground: unknown }).dagradPlayground = {
  inputDelays,
  /** (step, test accuracy %) of this page's run so far. */
  get accuracyPoints(): Point[] {
    return state.accuracyPoints
  },
}
const dirty = new Set<string>()
let frame = 0
function invalidate(...parts: string[]): void {
  for (const p of parts) dirty.add(p)
  if (frame === 0) frame = requestAnimationFrame(render)
}

function render(): void {
  frame = 0
  if (dirty.has("numbers")) {
    $("step").textContent = String(state.step)
    $("epoch").textContent = String(state.epoch)
    $("loss").textContent = plainNumber(state.loss, 4)
    $("accuracy").textContent = plainNumber(state.accuracy, 2)
    $("ips").textContent = plainNumber(state.imagesPerSecond, 0)
  }
  if (dirty.has("charts")) {
    $("loss-chart").innerHTML = lineChartSvg([{ label: "training loss", color: "#c0392b", points: state.lossPoints }], { yMin: 0 })
    $("accuracy-chart").innerHTML = lineChartSvg([{ label: "test accuracy %", color: "#1e7b3c", points: state.accuracyPoints }], { yMax: 100 })
  }
  if (dirty.has("buttons")) {
    ui.train.disabled = !state.ready || state.running
    ui.train.textContent = state.step > 0 && !state.running ? "resume" : "train"
    ui.pause.disabled = !state.running
    for (const el of [ui.reset, ui.download, ui.load]) el.disabled = !state.ready
  }
  dirty.clear()
}

function configFromForm(): TrainConfig {
  return parseConfig({
    model: ui.model.value,
    optimizer: ui.optimizer.value,
    lr: Number(ui.lr.value),
    batchSize: Number(ui.batch.value),
    tie: ui.tie.value,
    seed: 1,
  })
}

function showConfig(c: TrainConfig): void {
  ui.model.value = c.model
  ui.optimizer.value = c.optimizer
  ui.lr.value = String(c.lr)
  ui.batch.value = String(c.batchSize)
  ui.tie.value = c.tie
  ui.viewTie.value = c.tie
}

function say(text: string, isError = false): void {
  ui.message.textContent = text
  ui.message.className = isError ? "error" : ""
}

/** Draws a heatmap's pixels into a canvas (CSS scales it up, pixelated). */
function paint(canvas: HTMLCanvasElement, h: { width: number; height: number; values: Float64Array }, diverging: boolean, scale: number): void {
  canvas.width = h.width
  canvas.height = h.height
  canvas.style.width = `${h.width * scale}px`
  canvas.style.height = `${h.height * scale}px`
  const ctx = canvas.getContext("2d")!
  const rgba = heatmapRgba(h, { diverging })
  const image = ctx.createImageData(h.width, h.height)
  image.data.set(rgba)
  ctx.putImageData(image, 0, 0)
}

let downloadRequested = false

worker.onmessage = (e: MessageEvent<Report>) => {
  const r = e.data
  switch (r.type) {
    case "loading": {
      const bar = $<HTMLProgressElement>("loading-bar")
      bar.max = r.total
      bar.value = r.loaded
      $("loading-text").textContent = `loading MNIST: ${(r.loaded / 1e6).toFixed(1)} of ${(r.total / 1e6).toFixed(1)} MB`
      return
    }
    case "ready":
      state.ready = true
      state.step = r.position.step
      state.epoch = r.position.epoch
      state.loss = NaN
      state.imagesPerSecond = NaN
      state.lossPoints = []
      state.accuracyPoints = []
      showConfig(r.config)
      $("loading").hidden = true
      say(
        `${r.restored ? `resumed the saved run at step ${r.position.step}` : `${r.trainCount} training and ${r.testCount} test images loaded`}; ` +
          (r.threads > 1 ? `training on ${r.threads} threads (a worker pool over SharedArrayBuffer)` : "training on one worker thread"),
      )
      $("threads-used").textContent = String(r.threads)
      invalidate("numbers", "charts", "buttons")
      predictDrawing()
      return
    case "running":
      state.running = r.running
      invalidate("buttons")
      return
    case "progress":
      state.step = r.step
      state.epoch = r.epoch
      state.loss = r.loss
      state.imagesPerSecond = r.imagesPerSecond
      state.lossPoints.push(...r.lossPoints)
      invalidate("numbers", "charts")
      return
    case "evaluation":
      state.accuracy = r.evaluation.accuracy
      state.step = Math.max(state.step, r.evaluation.step)
      if (state.accuracyPoints.at(-1)?.[0] !== r.evaluation.step) state.accuracyPoints.push([r.evaluation.step, r.evaluation.accuracy])
      $("confusion").innerHTML = confusionTableHtml(r.evaluation.confusion)
      invalidate("numbers", "charts")
      predictDrawing()
      return
    case "filters": {
      const [out, , kh, kw] = r.shape
      paint($<HTMLCanvasElement>("filters"), layerHeatmap([out, kh, kw], r.data), true, 8)
      return
    }
    case "inspection": {
      $("digit-index").textContent = String(r.index)
      $("digit-label").textContent = String(r.label)
      const box = $("activations")
      box.replaceChildren(
        ...r.activations.map((a) => {
          const figure = document.createElement("figure")
          const canvas = document.createElement("canvas")
          canvas.className = "pixelated"
          const h = layerHeatmap(a.shape, a.data)
          paint(canvas, h, false, a.shape.length === 1 ? Math.max(2, Math.floor(400 / a.shape[0])) : 2)
          const caption = document.createElement("figcaption")
          caption.textContent = `${a.name} [${a.shape.join(", ")}]`
          figure.append(canvas, caption)
          return figure
        }),
      )
      $("routing").innerHTML = r.routing.map((v) => `<div class="routing-map" data-layer="${v.layer}" data-tie="${v.tie}">${v.svg}</div>`).join("")
      $("routing-summary").textContent = r.routing
        .map((v) => `${v.layer}: ${v.tiedWindows} of ${v.windows} windows tied; ${v.neverChosen} of ${v.elements} inputs never chosen; at most ${v.maxWins} wins`)
        .join(" · ")
      return
    }
    case "prediction":
      $("prediction").textContent = String(r.predicted)
      $("probabilities").innerHTML = probabilityBarsHtml(r.probabilities)
      predictionInFlight = false
      if (drawingChanged) predictDrawing()
      return
    case "checkpoint": {
      if (!downloadRequested) return
      downloadRequested = false
      const url = URL.createObjectURL(new Blob([r.bytes as BlobPart], { type: "application/octet-stream" }))
      const a = document.createElement("a")
      a.href = url
      a.download = `dagrad-${ui.model.value}-step${r.step}.dgck`
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      return
    }
    case "loaded":
      say(`loaded ${r.name} (${r.config.model}, step ${r.position.step})`)
      return
    case "error":
      predictionInFlight = false
      say(r.message, true)
      console.error(`dagrad worker: ${r.message}`)
      return
  }
}
worker.onerror = (e) => {
  say(`worker error: ${e.message}`, true)
  console.error(`dagrad worker crashed: ${e.message}`)
}

ui.train.onclick = () => send({ type: "start" })
ui.pause.onclick = () => send({ type: "pause" })
ui.reset.onclick = () => {
  try {
    send({ type: "reset", config: configFromForm() })
  } catch (e) {
    say(e instanceof Error ? e.message : String(e), true)
  }
}
ui.lr.onchange = () => {
  const lr = Number(ui.lr.value)
  if (lr > 0 && lr <= 10) send({ type: "set-lr", lr })
  else say(`learning rate ${ui.lr.value} (expected a number in (0, 10])`, true)
}
ui.tie.onchange = () => {
  ui.viewTie.value = ui.tie.value
  send({ type: "set-tie", tie: ui.tie.value as Tie })
}
// Model and batch size define a new run: they apply on reset.
ui.model.onchange = ui.batch.onchange = ui.optimizer.onchange = () => say("model, optimizer and batch size apply to a new run: press reset")
const inspect = (): void => send({ type: "inspect", index: state.digit, tie: ui.viewTie.value as Tie })
ui.viewTie.onchange = inspect
$("prev-digit").onclick = () => {
  state.digit = Math.max(0, state.digit - 1)
  inspect()
}
$("next-digit").onclick = () => {
  state.digit += 1
  inspect()
}
ui.download.onclick = () => {
  downloadRequested = true
  send({ type: "export" })
}
ui.load.onchange = async () => {
  const file = ui.load.files?.[0]
  if (file === undefined) return
  const bytes = new Uint8Array(await file.arrayBuffer())
  send({ type: "import", bytes, name: file.name }, [bytes.buffer])
  ui.load.value = ""
}

// Drawing pad: strokes in a 280x280 canvas; the ink (alpha) becomes an MNIST-style digit.
const pad = $<HTMLCanvasElement>("draw")
const pen = pad.getContext("2d", { willReadFrequently: true })!
let drawing = false
let last: [number, number] | undefined
let predictionInFlight = false
let drawingChanged = false

function padPoint(e: PointerEvent): [number, number] {
  const rect = pad.getBoundingClientRect()
  return [((e.clientX - rect.left) * pad.width) / rect.width, ((e.clientY - rect.top) * pad.height) / rect.height]
}

function stroke(to: [number, number]): void {
  pen.lineCap = "round"
  pen.lineJoin = "round"
  pen.lineWidth = 20
  pen.strokeStyle = "black"
  pen.beginPath()
  const from = last ?? to
  pen.moveTo(from[0], from[1])
  pen.lineTo(to[0] + (last ? 0 : 0.01), to[1])
  pen.stroke()
  last = to
  drawingChanged = true
  predictDrawing()
}

/** Sends the drawing to the worker; at most one prediction in flight, the newest wins. */
function predictDrawing(): void {
  if (!state.ready || predictionInFlight) return
  const { data } = pen.getImageData(0, 0, pad.width, pad.height)
  const ink = new Float32Array(pad.width * pad.height)
  let any = false
  for (let i = 0; i < ink.length; i++) {
    ink[i] = data[4 * i + 3] / 255
    any ||= ink[i] > 0
  }
  drawingChanged = false
  if (!any) return
  predictionInFlight = true
  const pixels = toMnistDigit(ink, pad.width)
  send({ type: "predict", pixels }, [pixels.buffer])
}

pad.addEventListener("pointerdown", (e) => {
  drawing = true
  last = undefined
  pad.setPointerCapture(e.pointerId)
  stroke(padPoint(e))
})
pad.addEventListener("pointermove", (e) => {
  if (drawing) stroke(padPoint(e))
})
for (const type of ["pointerup", "pointercancel"] as const) {
  pad.addEventListener(type, () => {
    drawing = false
    last = undefined
  })
}
$("clear").onclick = () => {
  pen.clearRect(0, 0, pad.width, pad.height)
  $("prediction").textContent = ""
  $("probabilities").innerHTML = ""
}

/**
 * Threads to train with: ?threads=N in the address, else 2 when the page is cross-origin
 * isolated (a worker pool over SharedArrayBuffer) on a machine with 2+ cores, else 1.
 */
function requestedThreads(): number {
  const asked = Number(new URLSearchParams(location.search).get("threads"))
  if (Number.isInteger(asked) && asked >= 1) return asked
  return crossOriginIsolated ? Math.min(2, navigator.hardwareConcurrency || 1) : 1
}
const threadSelect = $<HTMLSelectElement>("threads")
threadSelect.value = String(Math.min(2, requestedThreads()))
threadSelect.disabled = !crossOriginIsolated
// The pool lives in the worker: a new thread count reloads the page (the run resumes from IndexedDB).
threadSelect.onchange = () => {
  const params = new URLSearchParams(location.search)
  params.set("threads", threadSelect.value)
  location.search = params.toString()
}

try {
  send({ type: "init", config: configFromForm(), dataUrl: new URL("mnist/", document.baseURI).href, restore: true, threads: requestedThreads() })
} catch (e) {
  say(e instanceof Error ? e.message : String(e), true)
}
invalidate("numbers", "charts", "buttons")
