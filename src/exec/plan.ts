import { Graph as GraphlibGraph, alg } from "@dagrejs/graphlib"
import { DagradError, GraphError, KernelError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { outputSpec, refKey, type GraphNode, type OutputRef, type OutputSpec } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import { kernelFor, type Activation, type AnyOp, type Kernel } from "../graph/op.ts"
import { lookupOp } from "../graph/registry.ts"
import { ancestorsOf } from "../graph/walk.ts"
import { adaptiveThreads, canRunBeside, parallelBackend, runBeside, runSerially, threadCount } from "./parallel.ts"
import { ThreadChooser } from "./thread-choice.ts"
import { fusedActivations } from "./fusion.ts"
import { KERNEL_TASK, offloadArgs, offloadText } from "./offload.ts"
import { offloadable, pairIndependentNodes } from "./pairs.ts"
import { allocationError, checkLeaf, checkRunArguments } from "./validate.ts"
import { checkNodesForPlan } from "./compile-checks.ts"
import { checkAnomaly } from "./anomaly.ts"
import { ArenaSlot } from "./arena.ts"
import { allocate, type DataArray } from "../tensor/dtype.ts"
import { sizeOf } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"
import type { Attrs } from "../graph/types.ts"

/** Parameter values, keyed by parameter name; optimizers update the tensors in place. */
export type ParamStore = ReadonlyMap<string, Tensor>

/** Per-node timing hook, for profiles (bench/). */
export type NodeObserver = (node: GraphNode, milliseconds: number) => void

/** Options of {@link Plan.run} and {@link run}. */
export interface RunOptions {
  /**
   * Called after each node with its wall time (measured only when given). Of two nodes run
   * side by side, the one on the calling thread reports its own time and the other the time
   * the pair still waited for it.
   */
  readonly onNode?: NodeObserver
  /**
   * Run the plan's pairs of independent nodes side by side when there are two threads
   * (`Plan.concurrent`; default true). False runs every node in order, each split across
   * the threads as its kernel decides: for comparisons and profiles of single nodes.
   */
  readonly sideBySide?: boolean
  /**
   * Anomaly detection (PyTorch's detect_anomaly): scan every node's outputs after it runs
   * and throw an AnomalyError at the first NaN or infinity, naming the node (forward or
   * gradient, and the forward node it differentiates) and its inputs' ranges. Default false.
   */
  readonly detectAnomaly?: boolean
  /**
   * With a thread pool: each run uses one thread or all of them, whichever has run this
   * plan faster lately (./thread-choice.ts; the results are the same bits either way).
   * Default: setAdaptiveThreads's (true unless turned off); false always uses every thread.
   */
  readonly adaptiveThreads?: boolean
}

interface Step {
  readonly node: GraphNode
  readonly op: AnyOp | undefined
  readonly kernel: Kernel<string, string, string, string, Attrs> | undefined
  readonly inputs: readonly (readonly [name: string, key: string])[]
  /** Outputs to allocate: consumed ones and every always-produced one. */
  readonly outputs: readonly (readonly [spec: OutputSpec, key: string])[]
  /** Buffers whose last reader is this step: recycled right after it. */
  readonly release: readonly string[]
  /** The activation this step's kernel applies to its `y` (fused activation node after it). */
  readonly activation?: Activation
  /** The key of the tensor that gates a fused "relu_backward" (KernelArgs.activationMask). */
  readonly activationMask?: string
  /** Set on a fused activation node: its output is this key's tensor, already activated. */
  readonly aliasOf?: string
  /** Set on a fused activation node: the node whose kernel applies it. */
  readonly fusedInto?: string
  /** This step and the next run side by side when there are two threads (see pairs.ts). */
  readonly besideNext?: boolean
  /**
   * Set on a step of a pair whose node can be described to another thread (offload.ts);
   * it is sent there when the backend's threads know its op (see `sendable`).
   */
  readonly offload?: string
}

/**
 * A compiled graph: the nodes the fetches need in topological order, which outputs each
 * must produce, and where each buffer dies. Buffers released by one step are reused by
 * later steps and by later runs, so a steady-state training step allocates only what it
 * hands back to the caller.
 */
export class Plan {
  private readonly steps: readonly Step[]
  private readonly fetchKeys: readonly string[]
  private readonly pool = new Map<string, DataArray[]>()
  /** Where the pool's buffers live when an arena provider is on (exec/arena.ts). */
  private readonly arena = new ArenaSlot()
  /**
   * Bytes of fresh buffers allocated by the last run (0 once the pool is warm). A plan with
   * an arena (exec/arena.ts) counts only the arrays outside it (copies of its fetches): the
   * arena is allocated whole, once.
   */
  lastRunAllocatedBytes = 0

  constructor(
    readonly graph: Graph,
    fetches: readonly OutputRef[],
  ) {
    const order = topologicalOrder(graph)
    for (const f of fetches) checkRef(graph, f, "fetch")
    this.fetchKeys = fetches.map(refKey)
    const needed = ancestorsOf(graph, fetches.map((f) => f.node))
    const consumed = new Set<string>(this.fetchKeys)
    const needs = order.filter((id) => needed.has(id))
    const ops = new Map(needs.map((id) => [id, graph.nodes[id].kind === "op" ? lookupOp(graph.registry, graph.nodes[id].op, id) : undefined]))
    checkNodesForPlan(graph, needs, ops)
    const fetched = new Set(this.fetchKeys)
    // independent nodes of similar cost made adjacent, to run side by side on two threads;
    // a fused relu_backward's gate counts as an input of the kernel that reads it
    const gates = new Map<string, string>()
    for (const [producer, a] of fusedActivations(graph, needs, ops, fetched).activation) if (a.mask !== undefined) gates.set(producer, a.mask.node)
    const pairs = pairIndependentNodes(graph, needs, ops, gates)
    const ordered = pairs.order
    for (const id of ordered) for (const r of Object.values(graph.nodes[id].inputs)) consumed.add(refKey(r))

    const lastUse = new Map<string, number>()
    ordered.forEach((id, i) => {
      for (const r of Object.values(graph.nodes[id].inputs)) lastUse.set(refKey(r), i)
    })
    const fusion = fusedActivations(graph, ordered, ops, fetched)
    // refs were checked against the graph by topologicalOrder
    const specOf = (r: OutputRef): OutputSpec => outputSpec(graph, r)!
    const releaseAt: string[][] = ordered.map(() => [])
    const steps: Step[] = ordered.map((id, i) => {
      const node = graph.nodes[id]
      const op = ops.get(id)
      const kernel = op === undefined ? undefined : kernelFor(op, graph.dtype)
      if (op !== undefined && kernel === undefined) {
        throw new GraphError(`op ${op.name} has no kernel for dtype ${graph.dtype}`, { node: id, op: op.name })
      }
      const required = new Set(op?.outputs ?? ["y"])
      const outputs = node.outputs
        .map((spec) => [spec, refKey({ node: id, output: spec.name })] as const)
        .filter(([spec, key]) => required.has(spec.name) || consumed.has(key))
      const aliasOf = fusion.aliasOf.get(id)
      for (const [, key] of outputs) {
        // Leaves (feeds, parameters) are owned by the caller: never recycled. A fused
        // producer's y lives on as its activation node's output, which is released instead.
        if (node.kind !== "op" || fetched.has(key) || fusion.absorbed.has(key)) continue
        releaseAt[lastUse.get(key) ?? i].push(key)
      }
      const inputs = Object.entries(node.inputs).map(([name, r]) => [name, refKey(r)] as const)
      const activation = fusion.activation.get(id)
      const paired = pairs.first.has(id) || (i > 0 && pairs.first.has(ordered[i - 1]))
      const offload =
        paired && offloadable(node, op)
          ? offloadText(
              op!,
              graph.dtype,
              node.attrs,
              Object.entries(node.inputs).map(([name, r]) => [name, specOf(r)] as const),
              outputs.map(([spec]) => [spec.name, spec] as const),
              activation?.activation,
              activation?.mask && specOf(activation.mask),
            )
          : undefined
      return {
        node,
        op,
        kernel,
        inputs,
        outputs,
        release: releaseAt[i],
        activation: activation?.activation,
        activationMask: activation?.mask && refKey(activation.mask),
        aliasOf,
        fusedInto: fusion.producer.get(id),
        besideNext: pairs.first.has(id),
        offload,
      }
    })
    this.steps = steps
  }

  /** Pairs of nodes that run side by side, one per thread, when there are two threads. */
  get concurrent(): [string, string][] {
    return this.steps.flatMap((s, i) => (s.besideNext === true ? [[s.node.id, this.steps[i + 1].node.id] as [string, string]] : []))
  }

  /**
   * Activation nodes the plan runs inside the kernel before them: pairs of [producer node,
   * activation node] (e.g. a conv2d and the relu on its output, or a max_pool2d_backward and
   * the relu_backward of the gradient it produces).
   */
  get fused(): [producer: string, activation: string][] {
    return this.steps.flatMap((s) => (s.fusedInto === undefined ? [] : [[s.fusedInto, s.node.id] as [string, string]]))
  }

  /** Node ids in execution order. */
  get order(): string[] {
    return this.steps.map((s) => s.node.id)
  }

  /**
   * The outputs this plan computes for a node: its always-produced outputs plus the
   * optional ones something consumes (empty when the node does not run).
   */
  outputsOf(nodeId: string): string[] {
    const step = this.steps.find((s) => s.node.id === nodeId)
    return step === undefined ? [] : step.outputs.map(([spec]) => spec.name)
  }

  /**
   * Runs the plan. `feeds` holds a tensor per input node that the fetches need;
   * `params` a tensor per parameter node. Returns the fetched tensors in order: typed
   * arrays the caller owns (`recycle` hands them back), never views of the plan's arena.
   */
  run(feeds: { readonly [name: string]: Tensor } = {}, params: ParamStore = new Map(), options: RunOptions = {}): Tensor[] {
    const max = threadCount()
    if (max <= 1 || !(options.adaptiveThreads ?? adaptiveThreads())) return this.runSteps(feeds, params, options)
    const threads = this.threadChoice.next(max)
    const started = performance.now()
    const out = threads === 1 ? runSerially(() => this.runSteps(feeds, params, options)) : this.runSteps(feeds, params, options)
    this.threadChoice.record(threads, performance.now() - started)
    return out
  }

  private readonly threadChoice = new ThreadChooser()

  private runSteps(feeds: { readonly [name: string]: Tensor }, params: ParamStore, options: RunOptions): Tensor[] {
    checkRunArguments(feeds, params)
    const detect = options.detectAnomaly === true
    const values = new Map<string, Tensor>()
    this.lastRunAllocatedBytes = 0
    const steps = this.steps
    // with an arena, feeds and parameters enter it, and the fetches leave it as copies
    const arena = this.arena.prepare(this.graph.dtype, steps, parallelBackend() !== undefined, this.pool)
    const leaf = (id: string, t: Tensor): Tensor => (arena === undefined ? t : arena.leaf(id, t))
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]
      const node = step.node
      const key = refKey({ node: node.id, output: "y" })
      // the step of a side-by-side pair that goes to the other thread (undefined: run in turn)
      const remote = step.besideNext === true && options.sideBySide !== false && canRunBeside() ? sendable(step, steps[i + 1]) : undefined
      if (node.kind === "input") {
        values.set(key, leaf(node.id, checkLeaf(node, feeds[node.id], "feed")))
      } else if (node.kind === "param") {
        values.set(key, leaf(node.id, checkLeaf(node, params.get(node.id), "parameter")))
      } else if (step.aliasOf !== undefined) {
        values.set(key, values.get(step.aliasOf)!)
        if (options.onNode) options.onNode(node, 0)
      } else if (remote !== undefined) {
        this.runPair(step, steps[i + 1], remote, values, options)
        if (detect) checkAnomaly(this.graph, node, values)
        this.release(step, values)
        i++
      } else {
        const started = options.onNode ? performance.now() : 0
        this.invoke(step, this.prepare(step, values))
        if (options.onNode) options.onNode(node, performance.now() - started)
      }
      if (detect) checkAnomaly(this.graph, steps[i].node, values)
      this.release(steps[i], values)
    }
    const fetched = this.fetchKeys.map((k) => values.get(k)!)
    return arena === undefined ? fetched : arena.copyOut(fetched, (bytes) => (this.lastRunAllocatedBytes += bytes))
  }

  private release(step: Step, values: Map<string, Tensor>): void {
    for (const k of step.release) {
      const t = values.get(k)
      if (t === undefined) continue
      values.delete(k)
      this.recycleBuffer(t.data)
    }
  }

  /**
   * Runs a pair's two kernels at once: `sent` on another thread (as the offload task), the
   * other here, each on one thread. Both nodes' outputs are taken before either runs and
   * nothing is released until both are done, so neither can be handed a buffer the other
   * still reads. With onNode, the node run here reports its own time and the other one
   * the rest of the pair's wall time.
   */
  private runPair(first: Step, second: Step, sent: Step, values: Map<string, Tensor>, options: RunOptions): void {
    const a = this.prepare(first, values)
    const b = this.prepare(second, values)
    const [remote, remoteArgs, local, localArgs] = sent === first ? [first, a, second, b] : [second, b, first, a]
    const task = offloadArgs(remote.offload!, remoteArgs.inputs, remoteArgs.outputs, remoteArgs.activationMask)
    const started = options.onNode ? performance.now() : 0
    let localMs = 0
    try {
      runBeside(KERNEL_TASK, task, () => {
        const t = options.onNode ? performance.now() : 0
        this.invoke(local, localArgs)
        if (options.onNode) localMs = performance.now() - t
      })
    } catch (e) {
      // the local kernel's errors arrive with their context already (invoke)
      if (e instanceof DagradError) throw e
      throw kernelError(remote, remoteArgs.inputs, e)
    }
    if (options.onNode) {
      options.onNode(local.node, localMs)
      options.onNode(remote.node, performance.now() - started - localMs)
    }
  }

  /** Hands buffers of tensors a caller no longer needs back to the plan's pool. */
  recycle(tensors: readonly Tensor[]): void {
    for (const t of tensors) this.recycleBuffer(t.data)
  }

  /** A step's kernel arguments, its outputs taken from the pool (and entered in `values`). */
  private prepare(step: Step, values: Map<string, Tensor>): KernelCall {
    const inputs: { [name: string]: Tensor } = {}
    for (const [name, key] of step.inputs) inputs[name] = values.get(key)!
    const outputs: { [name: string]: Tensor } = {}
    const clear = step.op?.overwritesOutputs !== true
    try {
      for (const [spec, key] of step.outputs) {
        const t = { shape: spec.shape, dtype: spec.dtype, data: this.take(spec, clear) }
        outputs[spec.name] = t
        values.set(key, t)
      }
    } catch (e) {
      throw allocationError(step.node, e)
    }
    return { inputs, outputs, activationMask: step.activationMask === undefined ? undefined : values.get(step.activationMask)! }
  }

  private invoke(step: Step, call: KernelCall): void {
    const { inputs, outputs, activationMask } = call
    try {
      const attrs = step.node.attrs
      if (step.activation === undefined) step.kernel!({ inputs, outputs, attrs })
      else if (activationMask === undefined) step.kernel!({ inputs, outputs, attrs, activation: step.activation })
      else step.kernel!({ inputs, outputs, attrs, activation: step.activation, activationMask })
    } catch (e) {
      if (e instanceof DagradError) throw e.withContext(errorContext(step, inputs))
      throw kernelError(step, inputs, e)
    }
  }

  /** An output buffer: recycled when one fits, cleared unless the op overwrites it anyway. */
  private take(spec: OutputSpec, clear: boolean): DataArray {
    const size = sizeOf(spec.shape)
    const free = this.pool.get(`${spec.dtype}:${size}`)
    const reused = free?.pop()
    if (reused !== undefined) {
      // Kernels may rely on zero-filled outputs (scatter-adds), so reuse looks fresh.
      if (clear) reused.fill(0)
      else if (poisonUncleared) poison(reused)
      return reused
    }
    // With a thread pool, buffers live in shared memory so kernels can split work.
    const data = parallelBackend()?.allocShared(spec.dtype, size) ?? allocate(spec.dtype, size)
    this.lastRunAllocatedBytes += data.byteLength
    if (!clear && poisonUncleared) poison(data)
    return data
  }

  private recycleBuffer(data: DataArray): void {
    const dtype = data instanceof Float32Array ? "float32" : data instanceof Float64Array ? "float64" : "int32"
    const key = `${dtype}:${data.length}`
    // arrays outside the arena (copies the caller hands back) serve only as copies out
    const arena = this.arena.current
    if (arena !== undefined && !arena.holds(data)) return arena.keepForOutputs(data, key)
    const list = this.pool.get(key)
    if (list === undefined) this.pool.set(key, [data])
    else if (!list.includes(data)) list.push(data)
  }
}

/** A kernel call's tensors (KernelArgs without the attrs and activation, which the step holds). */
interface KernelCall {
  readonly inputs: { readonly [name: string]: Tensor }
  readonly outputs: { readonly [name: string]: Tensor }
  readonly activationMask: Tensor | undefined
}

function errorContext(step: Step, inputs: { readonly [name: string]: Tensor }): { node: string; op: string; inputs: string[] } {
  return { node: step.node.id, op: step.node.op, inputs: Object.entries(inputs).map(([n, t]) => `${n}: ${showShape(t.shape)} ${t.dtype}`) }
}

/** A kernel's failure (not a DagradError) with the node's context. */
function kernelError(step: Step, inputs: { readonly [name: string]: Tensor }, e: unknown): KernelError {
  return new KernelError(`kernel failed: ${e instanceof Error ? e.message : String(e)}`, errorContext(step, inputs), { cause: e })
}

let poisonUncleared = false

/** NaN everywhere (int32 buffers: -2147483647, an index no kernel writes). */
function poison(data: DataArray): void {
  data.fill(data instanceof Int32Array ? -0x7fffffff : NaN)
}

/**
 * A check for op authors: while on, every output buffer handed to an op that declares
 * `overwritesOutputs` (fresh or recycled) is first filled with NaN (int32 outputs:
 * -2147483647), so a kernel that leaves an element unwritten produces a visible NaN or an
 * impossible index instead of a zero or stale value that happens to look right. The test
 * suite runs with it on (test/setup.ts).
 */
export function poisonUnclearedOutputs(on: boolean): void {
  poisonUncleared = on
}

/**
 * Compiles a graph for the given fetches. Only nodes the fetches need will run; optional
 * outputs nobody reads (max pooling's argmax in inference) are not computed.
 *
 * @example
 * const plan = compile(graph, [logits])
 * const [out] = plan.run({ x: batch }, params)
 */
export function compile(graph: Graph, fetches: readonly (OutputRef | Value)[]): Plan {
  return new Plan(
    graph,
    fetches.map((f) => ("ref" in f ? f.ref : f)),
  )
}

/** Compile and run once. */
export function run(
  graph: Graph,
  fetches: readonly (OutputRef | Value)[],
  feeds: { readonly [name: string]: Tensor } = {},
  params: ParamStore = new Map(),
): Tensor[] {
  return compile(graph, fetches).run(feeds, params)
}

/**
 * Checks every edge of a graph and returns a topological order (graphlib), throwing a
 * GraphError that names the nodes of a cycle. Graphs made by the builder are acyclic by
 * construction; graphs assembled or edited as data may not be.
 */
export function topologicalOrder(graph: Graph): string[] {
  const g = new GraphlibGraph({ directed: true })
  for (const id of graph.order) g.setNode(id)
  for (const id of Object.keys(graph.nodes)) {
    if (!g.hasNode(id)) throw new GraphError(`node '${id}' is missing from the graph's order list`, { node: id })
  }
  for (const id of graph.order) {
    const node = graph.nodes[id]
    if (node === undefined) throw new GraphError(`the order lists '${id}' but there is no such node`, { node: id })
    for (const [name, r] of Object.entries(node.inputs)) {
      checkRef(graph, r, `input '${name}' of node '${id}'`)
      g.setEdge(r.node, id)
    }
  }
  if (!alg.isAcyclic(g)) {
    const cycles = alg.findCycles(g).map((c) => c.join(" -> "))
    throw new GraphError(`the graph has a cycle through ${cycles.join("; ")} (expected a directed acyclic graph)`)
  }
  // graphlib's topsort is deterministic for a given insertion order.
  return alg.topsort(g)
}

function checkRef(graph: Graph, r: OutputRef, what: string): void {
  const node = graph.nodes[r.node]
  if (node === undefined) throw new GraphError(`${what} refers to a node '${r.node}' that is not in the graph`)
  if (!node.outputs.some((o) => o.name === r.output)) {
    throw new GraphError(`${what} refers to output '${r.output}' of '${r.node}', which has ${node.outputs.map((o) => o.name).join(", ")}`, {
      node: r.node,
      op: node.op,
    })
  }
}

/**
 * Which step of a pair can be sent to another thread: one with a description whose op the
 * backend's threads know (ParallelBackend.registry); the first such, or undefined (then the
 * pair runs in turn here).
 */
function sendable(first: Step, second: Step): Step | undefined {
  const known = parallelBackend()?.registry
  if (known === undefined) return undefined
  return [first, second].find((s) => s.offload !== undefined && s.op !== undefined && known.ops[s.op.name] === s.op)
}
