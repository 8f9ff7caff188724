// Child process of the kill -9 fault test (file-faults.test.ts): writes one large checkpoint
// (epoch 1, every element 1) to a path atomically, over and over, until it is killed. The
// bytes are encoded once, so nearly all of the loop's time is spent inside the atomic write
// (temp file open, written, fsynced, renamed): a kill lands inside a save.
import { encodeCheckpoint, writeFileAtomic } from "../../src/node/checkpoint.ts"

const [path, elements] = [process.argv[2], Number(process.argv[3])]
const bytes = encodeCheckpoint({ tensors: new Map([["w", { shape: [elements], dtype: "float32", data: new Float32Array(elements).fill(1) }]]), meta: { epoch: 1 } })
process.stdout.write("saving\n")
for (;;) writeFileAtomic(path, bytes)
