/**
 * Checkpoint files (the byte format is src/io/checkpoint.ts): written atomically, validated
 * on read.
 *
 * Writing goes to a temporary file in the same directory, which is fsynced and then
 * renamed over the target: rename is atomic on POSIX file systems, so a crash or kill at
 * any point leaves either the old checkpoint or the new one, never half of one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { FormatError } from "../errors.ts"
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "../io/checkpoint.ts"

export { checkTensorsMatch, crc32, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type JsonValue } from "../io/checkpoint.ts"

/** File-system steps of an atomic write, replaceable in tests to simulate a crash. */
export interface AtomicWriteHooks {
  /** Default `fs.renameSync`. */
  readonly rename?: (from: string, to: string) => void
}

/**
 * Writes `bytes` to `path` atomically: temporary file in the same directory (same file
 * system, so rename is atomic), write, fsync, close, rename, then fsync the directory so
 * the rename itself is durable. If anything fails the temporary file is removed and the
 * previous content of `path` is untouched. After a successful write, temporary files that
 * earlier writes of the same target left behind (killed before their rename) are removed.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array, hooks: AtomicWriteHooks = {}): void {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`)
  const rename = hooks.rename ?? renameSync
  try {
    const fd = openSync(tmp, "w")
    try {
      let written = 0
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    rename(tmp, path)
  } catch (e) {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone (or never created)
    }
    throw e
  }
  try {
    const dfd = openSync(dir, "r")
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  }
  removeStrayTemps(dir, basename(path))
}

/**
 * Removes `.<name>.<pid>.<time>.tmp` files of dead writers: a process killed between
 * creating its temp file and renaming it leaves one behind, and nothing else ever would.
 * Temps of live processes are kept (another process may be writing the same target right
 * now; deleting its temp would fail its rename). Our own pid's temps are never in flight
 * here, since writeFileAtomic is synchronous.
 */
function removeStrayTemps(dir: string, name: string): void {
  const prefix = `.${name}.`
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith(".tmp")) continue
    const match = /^(\d+)\.[0-9a-z]+\.tmp$/.exec(entry.slice(prefix.length))
    if (match === null) continue
    const pid = Number(match[1])
    if (pid !== process.pid && processAlive(pid)) continue
    try {
      unlinkSync(join(dir, entry))
    } catch {
      // removed meanwhile by another writer's cleanup
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Saves a checkpoint atomically.
 *
 * @example
 * saveCheckpoint("runs/lenet5/checkpoint.dgck", { tensors: params, meta: { epoch: 3 } })
 */
export function saveCheckpoint(path: string, checkpoint: Checkpoint, hooks: AtomicWriteHooks = {}): void {
  writeFileAtomic(path, encodeCheckpoint(checkpoint), hooks)
}

/** Reads and validates a checkpoint file. */
export function loadCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array
  try {
    bytes = readFileSync(path)
  } catch (e) {
    throw new FormatError(`${path}: cannot read the file (${e instanceof Error ? e.message : String(e)}), expected a dagrad checkpoint`)
  }
  return decodeCheckpoint(bytes, path)
}
