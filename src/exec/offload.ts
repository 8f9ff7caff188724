/**
 * Running one graph node's kernel on another thread, so that the executor can run two
 * independent nodes side by side (Plan: concurrent pairs). The node travels as a task
 * (src/exec/parallel.ts): its tensors' buffers as the task's arrays, and a JSON text
 * with the op's name, the dtype, the tensors' names and shapes, the attrs and the fused
 * activation. The receiving thread looks the op up by name in the registry its backend
 * was started with (ParallelBackend.registry, the same on every thread) and calls its
 * kernel there with one thread (it runs serially).
 *
 * Only ops of that registry qualify (a custom op defined on one thread exists only there),
 * and only nodes whose attrs survive JSON unchanged (no NaN, infinities or undefined).
 */
import { kernelFor, type Activation, type AnyOp } from "../graph/op.ts"
import type { Registry } from "../graph/registry.ts"
import { parallelTasks, type TaskArgs } from "./parallel.ts"
import type { Attrs, TensorSpec } from "../graph/types.ts"
import type { DataArray, DType, FloatDType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** The task name; its text is a {@link NodeJob}. */
export const KERNEL_TASK = "exec.kernel"

/** What the other thread needs besides the buffers, which arrive in this order: inputs, outputs, mask. */
interface NodeJob {
  readonly op: string
  readonly dtype: FloatDType
  readonly inputs: readonly (readonly [name: string, shape: readonly number[], dtype: DType])[]
  readonly outputs: readonly (readonly [name: string, shape: readonly number[], dtype: DType])[]
  readonly attrs: Attrs
  readonly activation?: Activation
  readonly mask?: readonly [shape: readonly number[], dtype: DType]
}

/**
 * True when a node with `attrs` can be described to another thread (see the header). Whether
 * that thread knows the node's op is for the backend at run time (ParallelBackend.registry).
 */
export function canDescribe(attrs: Attrs): boolean {
  return isPlainJson(attrs)
}

/** Finite numbers, strings, booleans, null, and arrays and plain objects of them. */
function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true
  if (typeof v === "number") return Number.isFinite(v)
  if (Array.isArray(v)) return v.every(isPlainJson)
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(isPlainJson)
  return false
}

/**
 * The description of a node that the other thread runs from (the task's text): the same
 * for every run of a plan, so the plan makes it once. Inputs and outputs in the order their
 * buffers travel ({@link offloadArgs}).
 */
export function offloadText(
  op: AnyOp,
  dtype: FloatDType,
  attrs: Attrs,
  inputs: readonly (readonly [name: string, spec: TensorSpec])[],
  outputs: readonly (readonly [name: string, spec: TensorSpec])[],
  activation: Activation | undefined,
  mask: TensorSpec | undefined,
): string {
  const entries = (ts: readonly (readonly [string, TensorSpec])[]) => ts.map(([name, t]) => [name, t.shape, t.dtype] as const)
  const job: NodeJob = { op: op.name, dtype, attrs, inputs: entries(inputs), outputs: entries(outputs), activation, mask: mask && [mask.shape, mask.dtype] }
  return JSON.stringify(job)
}

/** The task that runs a node described by `text` on these tensors (outputs already taken), in its order. */
export function offloadArgs(
  text: string,
  inputs: { readonly [name: string]: Tensor },
  outputs: { readonly [name: string]: Tensor },
  mask: Tensor | undefined,
): TaskArgs {
  const arrays: DataArray[] = [...Object.values(inputs).map((t) => t.data), ...Object.values(outputs).map((t) => t.data)]
  if (mask !== undefined) arrays.push(mask.data)
  return { arrays, numbers: [], text }
}

/**
 * Lets this thread run offloaded nodes of `registry`'s ops: registers the kernel task. A
 * thread pool calls it on every thread with the registry it reports as
 * ParallelBackend.registry.
 */
export function installKernelTask(registry: Registry): void {
  parallelTasks.set(KERNEL_TASK, (args) => runOffloaded(registry, args))
}

function runOffloaded(registry: Registry, { arrays, text }: TaskArgs): void {
  if (text === undefined) throw new Error(`${KERNEL_TASK}: no node description`)
  const job = JSON.parse(text) as NodeJob
  const op = registry.ops[job.op]
  const kernel = op === undefined ? undefined : kernelFor(op, job.dtype)
  if (kernel === undefined) throw new Error(`${KERNEL_TASK}: no kernel for op '${job.op}' (${job.dtype}) in this thread's registry`)
  let next = 0
  const tensors = (specs: NodeJob["inputs"]): { [name: string]: Tensor } =>
    Object.fromEntries(specs.map(([name, shape, dtype]) => [name, { shape, dtype, data: arrays[next++] }]))
  const inputs = tensors(job.inputs)
  const outputs = tensors(job.outputs)
  const activationMask = job.mask && { shape: job.mask[0], dtype: job.mask[1], data: arrays[next++] }
  kernel({ inputs, outputs, attrs: job.attrs, activation: job.activation, activationMask })
}
