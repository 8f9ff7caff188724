/**
 * Lists the public names of every entry point the package exports (package.json
 * `exports`), types included, as TypeScript sees them from the sources: what a user can
 * import. `npx tsx test/api/exports.ts > test/api/public-api.json` rewrites the pinned list
 * after a deliberate change of the public API.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Entry point ("." , "./testing", ...) -> its source file, from package.json's exports. */
export function entrySources(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { exports: Record<string, { import: string }> }
  const entries = new Map<string, string>()
  for (const [name, target] of Object.entries(pkg.exports)) {
    const js = typeof target === "string" ? target : target.import
    if (!js.startsWith("./dist/")) continue // ./package.json
    entries.set(name, `${root}${js.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")}`)
  }
  return entries
}

/** Sorted public names per entry point; types are marked `type X`. */
export function publicApi(): Record<string, string[]> {
  const entries = entrySources()
  const config = ts.getParsedCommandLineOfConfigFile(`${root}tsconfig.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!
  const program = ts.createProgram([...entries.values()], config.options)
  const checker = program.getTypeChecker()
  const api: Record<string, string[]> = {}
  for (const [name, file] of entries) {
    const source = program.getSourceFile(file)
    if (source === undefined) throw new Error(`entry point ${name}: no source ${file}`)
    const moduleSymbol = checker.getSymbolAtLocation(source)
    if (moduleSymbol === undefined) throw new Error(`entry point ${name}: ${file} is not a module`)
    api[name] = checker
      .getExportsOfModule(moduleSymbol)
      .map((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
        return target.flags & ts.SymbolFlags.Value ? s.name : `type ${s.name}`
      })
      .sort()
  }
  return api
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(JSON.stringify(publicApi(), null, 1) + "\n")
