// Every test runs with recycled output buffers of \`overwritesOutputs\` ops poisoned (NaN),
// so a kernel that claims to write all of its outputs but skips an element fails the
// tests that reuse buffers (any graph with more than a few nodes) instead of passing on
// stale values.
import { poisonUnclearedOutputs } from "../src/exec/plan.ts"

poisonUnclearedOutputs(true)
