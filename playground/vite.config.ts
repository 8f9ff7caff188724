/**
 * The playground's Vite config: a static app in playground/, built into playground/dist/.
 * Both servers send COOP/COEP, so the page is cross-origin isolated (SharedArrayBuffer
 * available); everything the page loads is same-origin, so require-corp costs nothing.
 */
import { defineConfig } from "vite"

const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
}

export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  server: { host: "127.0.0.1", port: 5173, headers: isolation, fs: { allow: [".."] } },
  preview: { host: "127.0.0.1", port: 4173, headers: isolation },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  worker: { format: "es" },
})
