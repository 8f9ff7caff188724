// The Node-only entry point, type-checked with @types/node (moduleResolution nodenext).
import { loadMnist, startThreadPool, type ThreadPool } from "dagrad/node"
import { tensor, type Tensor } from "dagrad"

const pool: Promise<ThreadPool> = startThreadPool(2)
const images: Uint8Array = loadMnist("test", "data").images
const t: Tensor = tensor(images.subarray(0, 4), [4], "float32")

export { pool, t }
