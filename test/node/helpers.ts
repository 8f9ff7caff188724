// Helpers shared by the Node-edge tests (IDX files, checkpoints).
import { expect } from "vitest"
import { FormatError } from "../../src/errors.ts"

/** The FormatError `f` throws; fails the test when it throws nothing or something else. */
export function formatErrorOf(f: () => unknown): FormatError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError)
    return e as FormatError
  }
  throw new Error("expected a FormatError")
}
