import { describe, expect, it } from "vitest"
import { EpochProgress, formatDuration, formatStats } from "../../src/node/progress.ts"

function sink(): { lines: string[]; write(s: string): void; isTTY: boolean } {
  const lines: string[] = []
  return { lines, write: (s: string) => void lines.push(s), isTTY: false }
}

describe("progress", () => {
  it("formats durations and stats", () => {
    expect(formatDuration(42.4)).toBe("42s")
    expect(formatDuration(185)).toBe("3m05s")
    expect(formatDuration(3720)).toBe("1h02m")
    expect(formatDuration(Number.NaN)).toBe("?")
    expect(formatStats({ loss: 0.12345, accuracy: 0.961, imagesPerSecond: 850.4 })).toBe("loss 0.1235 | acc 96.10% | 850 img/s")
  })

  it("prints plain lines every 10% when not on a terminal, and the last step", () => {
    const out = sink()
    const p = new EpochProgress({ total: 35, label: "epoch 1/2", stream: out })
    for (let i = 1; i <= 35; i++) p.update(i, { loss: 1 / i, accuracy: 0.5, imagesPerSecond: 100 })
    p.stop()
    expect(out.lines.length).toBe(10)
    expect(out.lines[0]).toMatch(/^epoch 1\/2  11% 4\/35 \| loss 0\.2500 \| acc 50\.00% \| 100 img\/s \| ETA /)
    expect(out.lines[9]).toMatch(/^epoch 1\/2 100% 35\/35 .* took /)
    expect(out.lines.every((l) => !l.includes("\r"))).toBe(true)
  })

  it("draws a live bar on a terminal", () => {
    const chunks: string[] = []
    const stream = { write: (s: string) => void chunks.push(s), isTTY: true, columns: 160, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => stream, removeListener: () => stream }
    const p = new EpochProgress({ total: 4, label: "epoch 1/1", stream, tty: true })
    for (let i = 1; i <= 4; i++) p.update(i, { loss: 0.5, accuracy: 0.75, imagesPerSecond: 10 })
    p.stop()
    const text = chunks.join("")
    expect(text).toContain("epoch 1/1")
    expect(text).toContain("4/4")
    expect(text).toContain("acc 75.00%")
  })
})
