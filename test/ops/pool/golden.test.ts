// The PyTorch golden cases of the pooling family, in float64 and float32 (also run by
// test/golden.test.ts and `npm run golden`; kept here so the pooling suite stands alone).
import { describeGoldenFiles } from "../../helpers.ts"

describeGoldenFiles(["max_pool.json", "avg_pool.json", "lp_pool.json", "adaptive_pool.json", "max_unpool.json"])
