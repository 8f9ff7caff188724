import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { configFromFlags, main } from "../../src/node/train-cli.ts"
import { loadTrainingCheckpoint } from "../../src/node/training-checkpoint.ts"

const tmp = (): string => mkdtempSync(join(tmpdir(), "dagrad-train-optim-"))

afterEach(() => void vi.restoreAllMocks())

function capture(): { lines: string[] } {
  const lines: string[] = []
  const keep = (...a: unknown[]): void => void lines.push(...a.map(String).join(" ").split("\n"))
  vi.spyOn(console, "log").mockImplementation(keep)
  vi.spyOn(console, "error").mockImplementation(keep)
  vi.spyOn(process.stdout, "write").mockImplementation(() => true)
  return { lines }
}

describe("train CLI: optimizer, schedule and clipping flags", () => {
  it("each optimizer's defaults apply unless a flag is given; SGD keeps the old defaults", () => {
    expect(configFromFlags({})).toMatchObject({ optimizer: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: "cosine", clipNorm: null })
    expect(configFromFlags({ optimizer: "adamw" })).toMatchObject({ lr: 1e-3, weightDecay: 1e-2 })
    expect(configFromFlags({ optimizer: "adamw", lr: "3e-3", schedule: "onecycle", "clip-norm": "1" })).toMatchObject({
      optimizer: "adamw",
      lr: 3e-3,
      schedule: "onecycle",
      clipNorm: 1,
    })
  })

  it("trains with --optimizer adamw --schedule onecycle --clip-norm 1 and refuses a contradicting --resume", async () => {
    const out = tmp()
    const c = capture()
    const args = ["train", "--model", "mlp", "--epochs", "2", "--limit", "128", "--test-limit", "64", "--threads", "1", "--out", out]
    expect(await main([...args, "--optimizer", "adamw", "--lr", "3e-3", "--schedule", "onecycle", "--clip-norm", "1"])).toBe(0)
    expect(c.lines).toContain("epochs 2, batch 64, adamw lr 0.003 (onecycle per step), weight decay 0.01, clip norm 1, seed 1, first 128 training images, first 64 test images")
    expect(c.lines.at(-1)).toMatch(/^final test accuracy: \d{1,3}\.\d\d%$/)
    const saved = loadTrainingCheckpoint(join(out, "checkpoint.dgck"))
    expect(saved.config).toMatchObject({ optimizer: "adamw", schedule: "onecycle", clipNorm: 1 })
    expect(saved.scheduler).toMatchObject({ type: "one_cycle_lr", lastEpoch: 4 })
    expect(await main([...args, "--resume", "--optimizer", "sgd"])).toBe(1)
    expect(c.lines.some((l) => l.startsWith("error: --optimizer sgd differs from the checkpoint's adamw"))).toBe(true)
  })
})
