/**
 * `npm run export -- --format onnx|safetensors --out FILE [--checkpoint PATH] [--opset N]`:
 * writes a trained model (a train CLI checkpoint) as ONNX (graph + weights, input `x`,
 * output `logits`, dynamic batch) or as safetensors (weights with PyTorch state_dict names).
 */
import { parseArgs } from "node:util"
import { encodeSafetensors } from "../io/safetensors.ts"
import { exportOnnx } from "../io/onnx/export.ts"
import { buildModelGraph, initParameters } from "../nn/module.ts"
import { writeFileAtomic } from "./checkpoint.ts"
import { buildModel, checkpointPathIn } from "./train.ts"
import { loadTrainingCheckpoint } from "./training-checkpoint.ts"
import { reportCliError, UsageError } from "./cli-errors.ts"

const USAGE = `usage:
  npm run export -- --format onnx|safetensors --out FILE [--checkpoint PATH] [--opset N]

  --checkpoint  a train CLI checkpoint (default ${checkpointPathIn("runs/lenet5")})
  --format      onnx: the inference graph and weights (input x: [batch, C, H, W] normalised
                pixels, output logits: [batch, classes]; batch is dynamic)
                safetensors: the weights under PyTorch state_dict names (conv1.weight, ...)
  --opset       ONNX opset, 17 to 21 (default 17)`

/** What one export wrote. */
export interface ExportResult {
  readonly path: string
  readonly bytes: number
  readonly model: string
  readonly epoch: number
}

/**
 * Exports the checkpoint at `checkpoint` to `out` in `format` (the CLI's work, callable from code).
 *
 * @example
 * exportCheckpoint({ checkpoint: "runs/lenet5/checkpoint.dgck", format: "onnx", out: "lenet5.onnx" })
 */
export function exportCheckpoint(options: { checkpoint: string; format: "onnx" | "safetensors"; out: string; opset?: number }): ExportResult {
  const probe = loadTrainingCheckpoint(options.checkpoint)
  const model = buildModel(probe.model.name, probe.model.inputShape, probe.model.numClasses)
  const params = initParameters(model, { seed: 0 })
  const state = loadTrainingCheckpoint(options.checkpoint, params)
  let bytes: Uint8Array
  if (options.format === "safetensors") {
    bytes = encodeSafetensors(params, { metadata: { format: "pt", model: probe.model.name, epochs: String(state.epoch) } })
  } else {
    const m = buildModelGraph(model, { batchSize: 1, inputShape: probe.model.inputShape })
    bytes = exportOnnx(m.builder.graph, { outputs: { logits: m.output }, params, opset: options.opset, graphName: probe.model.name })
  }
  writeFileAtomic(options.out, bytes)
  return { path: options.out, bytes: bytes.length, model: probe.model.name, epoch: state.epoch }
}

/** Entry point; returns the process exit code. */
export function main(argv: readonly string[]): number {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { checkpoint: { type: "string" }, format: { type: "string" }, out: { type: "string" }, opset: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    })
    if (values.help) {
      console.log(USAGE)
      return 0
    }
    const format = values.format
    if (format !== "onnx" && format !== "safetensors") throw new UsageError(`--format expects onnx or safetensors, got '${String(format)}'`)
    if (values.out === undefined) throw new UsageError("--out FILE is required")
    const opset = values.opset === undefined ? undefined : Number(values.opset)
    if (opset !== undefined && !(Number.isInteger(opset) && opset >= 17 && opset <= 21)) throw new UsageError(`--opset expects an integer from 17 to 21, got '${values.opset}'`)
    const r = exportCheckpoint({ checkpoint: values.checkpoint ?? checkpointPathIn("runs/lenet5"), format, out: values.out, opset })
    console.log(`wrote ${r.path} (${format}, ${r.bytes} bytes): ${r.model} after ${r.epoch} epochs`)
    return 0
  } catch (e) {
    return reportCliError(e, USAGE)
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("export-cli.ts")) {
  process.exitCode = main(process.argv.slice(2))
}
