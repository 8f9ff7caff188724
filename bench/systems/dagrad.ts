/** The dagrad adapter: W3/GEMM from the functional ops, W1/W2/W4 from src/nn (lazily). */
import type { CaseResult, SystemAdapter, WorkloadId } from "../lib/workloads.ts"
import { createOpsCase } from "./dagrad-ops.ts"

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]

async function createCase(workload: WorkloadId): Promise<CaseResult> {
  const fromOps = createOpsCase(workload)
  if (fromOps !== undefined) return fromOps
  let nn: typeof import("./dagrad-nn.ts")
  try {
    nn = await import("./dagrad-nn.ts")
  } catch (e) {
    return { skip: `dagrad: src/nn does not load yet (${message(e)})` }
  }
  const c = nn.createNnCase(workload)
  if (c === undefined) throw new Error(`dagrad: no case for ${workload}`)
  return c
}

export const dagradAdapter: SystemAdapter = {
  name: "dagrad",
  version: "dagrad (this checkout)",
  notes: [],
  createCase,
}
