/**
 * The last run in IndexedDB: one record, the checkpoint bytes, so a reload resumes it.
 * Works in the page and in a worker.
 */
const DB = "dagrad-playground"
const STORE = "runs"
const KEY = "last-run"

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

function request<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode)
        const req = act(tx.objectStore(STORE))
        tx.oncomplete = () => {
          db.close()
          resolve(req.result)
        }
        tx.onerror = () => reject(tx.error)
      }),
  )
}

/** The saved checkpoint bytes, or undefined (none, or IndexedDB unavailable). */
export async function loadLastRun(): Promise<Uint8Array | undefined> {
  if (typeof indexedDB === "undefined") return undefined
  const v = await request("readonly", (s) => s.get(KEY) as IDBRequest<unknown>)
  return v instanceof Uint8Array ? v : undefined
}

/** Replaces the saved run. */
export async function saveLastRun(bytes: Uint8Array): Promise<void> {
  if (typeof indexedDB === "undefined") return
  await request("readwrite", (s) => s.put(bytes, KEY))
}

/** Forgets the saved run (the page's reset). */
export async function clearLastRun(): Promise<void> {
  if (typeof indexedDB === "undefined") return
  await request("readwrite", (s) => s.delete(KEY))
}
