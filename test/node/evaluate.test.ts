import { describe, expect, it } from "vitest"
import { asciiImage, formatConfusion, formatProbabilities, softmaxRow } from "../../src/node/evaluate.ts"

describe("evaluation text", () => {
  it("formats a confusion matrix with per-class recall", () => {
    const text = formatConfusion([
      [5, 1],
      [0, 4],
    ])
    expect(text.split("\n")).toEqual(["      0   1   recall", "  0   5   1    83.3%", "  1   0   4   100.0%"])
  })

  it("softmax is stable for large logits and sums to 1", () => {
    const p = softmaxRow([1000, 1000 + Math.log(3)])
    expect(p[0]).toBeCloseTo(0.25, 12)
    expect(p[1]).toBeCloseTo(0.75, 12)
  })

  it("renders pixels darker-is-brighter, two characters each", () => {
    expect(asciiImage([0, 255, 128, 0], 2, 2).split("\n")).toEqual(["  @@", "++"])
    expect(formatProbabilities([0.25, 0.75], 4).split("\n")).toEqual(["0  0.2500 #", "1  0.7500 ###"])
  })
})
