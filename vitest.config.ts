import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // recycled outputs of overwritesOutputs ops arrive as NaN: unwritten elements show up
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2-core machines: one worker per core, forks isolate heavy kernels cleanly
    pool: "forks",
    maxWorkers: 2,
  },
})
