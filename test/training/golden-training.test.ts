import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import "../../src/index.ts"
import { runTrainingCase, trainingTrajectoryHandler } from "../../src/testing/training-golden.ts"

const file = fileURLToPath(new URL("../golden/training.json", import.meta.url))
const golden = JSON.parse(readFileSync(file, "utf8")) as { cases: { name: string; op: string; [k: string]: unknown }[] }

describe("training.json trajectories (PyTorch SGD runs, float64)", () => {
  it("has the two recorded cases", () => {
    expect(golden.cases.map((c) => c.op)).toEqual(["training_trajectory", "training_trajectory"])
  })

  for (const c of golden.cases) {
    it(`${c.name}: every loss, gradient at init and parameter after each step match`, () => {
      const r = runTrainingCase(c)
      expect(r.detail).toBeUndefined()
      // 8 params x (grads_init + 5 steps + final) values, 5 losses, loss_after
      expect(r.checked).toBeGreaterThan(1000)
      expect(r.ok, JSON.stringify(r.worst)).toBe(true)
      expect(r.worst!.error).toBeLessThan(1e-9)
    })
  }

  it("fails loudly when the recorded trajectory is perturbed", () => {
    const c = JSON.parse(JSON.stringify(golden.cases[0])) as { losses: number[]; params_after_step: { [k: string]: { data: number[] } }[] }
    c.params_after_step[3]["fc1.bias"].data[2] += 1e-6
    const r = runTrainingCase(c)
    expect(r.ok).toBe(false)
    expect(r.worst).toMatchObject({ what: "params_after_step[3].fc1.bias", index: 2 })
  })

  it("reports malformed cases without throwing", () => {
    const r = runTrainingCase({ name: "broken" })
    expect(r.ok).toBe(false)
    expect(r.detail).toMatch(/lacks attrs/)
  })

  it("works as a golden-runner handler", () => {
    const r = trainingTrajectoryHandler(golden.cases[1] as never, { dtype: "float64", tolerance: 1e-9 })
    expect(r.status).toBe("passed")
  })
})
