// Workers start as plain JavaScript: register tsx's loader, then load the TypeScript worker.
import { register } from "tsx/esm/api"
register()
await import("./thread-worker.ts")
