/**
 * The import rules of dagrad, checked by `npm test` (dependency-cruiser).
 * Layers, lowest first: core (errors, tensor, graph, autodiff, exec) <- kernels <- ops <-
 * nn, optim, data, io, testing, research, inspect <- node. The engine (everything but
 * src/node) must run in a browser, so only src/node may import a Node built-in.
 */
const CORE = "^src/(errors\\.ts|tensor/|graph/|autodiff/|exec/)"
const ABOVE_OPS = "^src/(nn|optim|data|io|testing|research|inspect|node)/"

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment:
        "No import cycle, type-only imports included: a cycle makes module start-up order matter and every file in it depend on every other.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "core-knows-no-op",
      severity: "error",
      comment: "The core (tensor, graph, autodiff, exec) is op-agnostic: ops, kernels and layers plug into it, never the other way.",
      from: { path: CORE },
      to: { path: "^src/(ops|kernels|nn|optim|data|io|testing|research|inspect|node)/|^src/index\\.ts" },
    },
    {
      name: "kernels-are-graph-agnostic",
      severity: "error",
      comment: "Kernels are hot loops on typed arrays: they may use tensor helpers and the thread backend, not graphs or ops.",
      from: { path: "^src/kernels/" },
      to: { path: "^src/(graph|autodiff|ops|nn|optim|data|io|testing|research|inspect|node)/|^src/index\\.ts" },
    },
    {
      name: "ops-below-layers",
      severity: "error",
      comment: "Ops know the core and kernels, never the layers, training or tools built on them.",
      from: { path: "^src/ops/" },
      to: { path: `${ABOVE_OPS}|^src/index\\.ts` },
    },
    {
      name: "nothing-imports-node-layer",
      severity: "error",
      comment: "src/node is the Node-only edge: nothing else imports it.",
      from: { path: "^src/", pathNot: "^src/node/" },
      to: { path: "^src/node/" },
    },
    {
      name: "browser-safe-engine",
      severity: "error",
      comment: "Only src/node may import Node built-ins: the engine runs in a browser.",
      from: { path: "^src/", pathNot: "^src/node/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "entry-points-are-not-internals",
      severity: "error",
      comment: "Inside src, import modules by path; the index files are the public surface for users.",
      from: { path: "^src/", pathNot: "index\\.ts$" },
      to: { path: "^src/index\\.ts$" },
    },
    {
      name: "no-unresolvable",
      comment: "Every import resolves (the worker boot file's tsx loader is a development-only import, guarded at run time).",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true, pathNot: "^tsx/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mjs", ".js"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
