/** How dagrad's command-line tools report a bad command line or bad input. */
import { DagradError } from "../errors.ts"

/** A mistake in the command line: reported with the usage text. */
export class UsageError extends Error {}

/** node:util parseArgs's own errors (unknown flag, missing value). */
function isParseArgsError(e: unknown): e is TypeError {
  return e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS")
}

/**
 * The exit code of a CLI that failed with `e`: 1 for what the user can fix (a UsageError,
 * a parseArgs error, or a DagradError about the input), after printing the message and,
 * for command-line mistakes, the usage; anything else is a bug and is rethrown.
 */
export function reportCliError(e: unknown, usage: string): number {
  if (!(e instanceof UsageError || e instanceof DagradError || isParseArgsError(e))) throw e
  console.error(`error: ${e.message}`)
  if (!(e instanceof DagradError)) console.error(usage)
  return 1
}
