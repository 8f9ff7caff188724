import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = fileURLToPath(new URL("./src/", import.meta.url))

export default defineConfig({
  // "dagrad" and "dagrad/<entry>" (the examples import the package by name) run from the
  // sources, as tsconfig.json's `paths` resolve them for tsc and tsx.
  resolve: {
    alias: [
      { find: /^dagrad$/, replacement: `${src}index.ts` },
      { find: /^dagrad\/onnx$/, replacement: `${src}io/onnx/index.ts` },
      { find: /^dagrad\/(\w+)$/, replacement: `${src}$1/index.ts` },
    ],
  },
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
