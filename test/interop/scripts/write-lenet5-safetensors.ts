// Writes the dagrad side of the PyTorch safetensors check: lenet5() initialised with seed 7,
// saved with encodeSafetensors. Run: npx tsx test/interop/scripts/write-lenet5-safetensors.ts OUT
import { writeFileSync } from "node:fs"
import { encodeSafetensors } from "../../../src/io/safetensors.ts"
import { lenet5 } from "../../../src/nn/models.ts"
import { initParameters } from "../../../src/nn/module.ts"

const out = process.argv[2] ?? "/tmp/dagrad-lenet5.safetensors"
writeFileSync(out, encodeSafetensors(initParameters(lenet5(), { seed: 7 }), { metadata: { format: "pt" } }))
console.log(`wrote ${out}`)
