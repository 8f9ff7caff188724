// `npm run build`: a clean dist/ from src/ (tsconfig.build.json), then two touch-ups tsc
// does not do itself.
//  - Declarations keep the sources' `.ts` specifiers (rewriteRelativeImportExtensions only
//    rewrites JavaScript; TypeScript accepts `.ts` in a .d.ts, but other tools and editors
//    look for the `.js` file). `.ts` -> `.js` keeps every column, so the .d.ts.map stays right.
//  - The CLI entry (package.json `bin`) gets its executable bit.
import { spawnSync } from "node:child_process"
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const dist = join(root, "dist")
rmSync(dist, { recursive: true, force: true })

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
const built = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" })
if (built.status !== 0) process.exit(built.status ?? 1)

/** Relative specifiers ending in .ts, in `from "..."`, `import("...")` and bare `import "..."`. */
const TS_SPECIFIER = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*)\.ts(["'])/g
function rewriteDeclarations(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) rewriteDeclarations(path)
    else if (entry.name.endsWith(".d.ts")) {
      const text = readFileSync(path, "utf8")
      const fixed = text.replace(TS_SPECIFIER, "$1$2.js$3")
      if (fixed !== text) writeFileSync(path, fixed)
    }
  }
}
rewriteDeclarations(dist)

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
for (const bin of Object.values(pkg.bin ?? {})) chmodSync(join(root, bin), 0o755)
