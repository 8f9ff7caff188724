import { Random } from "../tensor/random.ts"
import { sizeOf, type Shape } from "../tensor/shape.ts"
import { tensor, type Tensor } from "../tensor/tensor.ts"

/**
 * A float64 tensor of `shape` with values drawn uniformly from [low, high) by the seeded
 * PRNG, in row-major order: the same seed gives the same tensor on every machine.
 *
 * @example
 * const x = randomTensor([2, 3, 8, 8], 1)   // values in [-1, 1)
 */
export function randomTensor(shape: Shape, seed: number, low = -1, high = 1): Tensor {
  const rng = new Random(seed)
  return tensor(
    Array.from({ length: sizeOf(shape) }, () => rng.uniform(low, high)),
    shape,
    "float64",
  )
}
