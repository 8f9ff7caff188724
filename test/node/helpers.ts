// Helpers shared by the Node-edge tests (IDX files, checkpoints).
import { FormatError } from "../../src/errors.ts"
import { errorOf } from "../helpers.ts"

/** The FormatError `f` throws; fails the test when it throws nothing or something else. */
export const formatErrorOf = (f: () => unknown): FormatError => errorOf(FormatError, f)
