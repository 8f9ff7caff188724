/**
 * `npm run golden -- [DIR|FILE ...] [--dtype float32|float64] [--op NAME] [--verbose]`
 * Runs PyTorch golden cases (default: the vendored test/golden) through the engine, prints
 * one line per failing case with its worst mismatch, the ops it skipped as unsupported, and
 * a closing `N passed, N failed` line; exits 1 on any failure. Installed: `npx dagrad golden DIR`.
 */
import { goldenMain } from "./golden-cli-lib.ts"

process.exitCode = goldenMain(process.argv.slice(2))
