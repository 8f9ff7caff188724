/**
 * The pointwise family: elementwise arithmetic with broadcasting (./arithmetic.ts), the
 * broadcast adjoints sum_to and expand (./broadcast.ts), and the unary ops and activations
 * declared as rules (./unary.ts, made by ./table.ts).
 */
import type { AnyOp } from "../../graph/op.ts"
import { fullOp } from "../../graph/constant.ts"
import { addOp, addScalarOp, divOp, mulOp, negOp, powOp, scaleOp, subOp, whereNonzeroOp } from "./arithmetic.ts"
import { expandOp, sumToOp } from "./broadcast.ts"
import { eluPointwise, expPointwise, geluPointwise, leakyReluPointwise, logPointwise, reluPointwise, sigmoidPointwise, siluPointwise, softplusPointwise, tanhPointwise, unaryPointwise } from "./unary.ts"

export { add, sub, mul, div, neg, pow, scale, addScalar, whereNonzero } from "./arithmetic.ts"
export { addOp, subOp, mulOp, divOp, negOp, powOp, scaleOp, addScalarOp, whereNonzeroOp } from "./arithmetic.ts"
export { sumTo, expand, sumToOp, expandOp } from "./broadcast.ts"
export { full, fullOp } from "../../graph/constant.ts"
export {
  exp,
  log,
  tanh,
  sigmoid,
  relu,
  reluBackward,
  leakyRelu,
  leakyReluBackward,
  elu,
  eluBackward,
  gelu,
  geluBackward,
  softplus,
  softplusBackward,
  silu,
  siluBackward,
} from "./unary.ts"
export { pointwiseOp, type PointwiseRule, type PointwiseOp } from "./table.ts"

/** The op records of the table's rules, under the names the other op families use. */
export const expOp = expPointwise.op
/** The log op record (torch.log), input `x`, output `y` (see {@link log}). */
export const logOp = logPointwise.op
/** The tanh op record (torch.tanh), input `x`, output `y` (see {@link tanh}). */
export const tanhOp = tanhPointwise.op
/** The sigmoid op record (torch.sigmoid), input `x`, output `y` (see {@link sigmoid}). */
export const sigmoidOp = sigmoidPointwise.op
/** The relu op record (F.relu), input `x`, output `y` (see {@link relu}). */
export const reluOp = reluPointwise.op
export const reluBackwardOp = reluPointwise.backwardOp
/** The leaky_relu op record (F.leaky_relu, attr `negative_slope`), input `x`, output `y` (see {@link leakyRelu}). */
export const leakyReluOp = leakyReluPointwise.op
export const leakyReluBackwardOp = leakyReluPointwise.backwardOp
/** The elu op record (F.elu, attr `alpha`), input `x`, output `y` (see {@link elu}). */
export const eluOp = eluPointwise.op
export const eluBackwardOp = eluPointwise.backwardOp
/** The gelu op record (F.gelu, attr `approximate`: "none" or "tanh"), input `x`, output `y` (see {@link gelu}). */
export const geluOp = geluPointwise.op
export const geluBackwardOp = geluPointwise.backwardOp
/** The softplus op record (F.softplus, attrs `beta`, `threshold`), input `x`, output `y` (see {@link softplus}). */
export const softplusOp = softplusPointwise.op
export const softplusBackwardOp = softplusPointwise.backwardOp
/** The silu op record (F.silu), input `x`, output `y` (see {@link silu}). */
export const siluOp = siluPointwise.op
export const siluBackwardOp = siluPointwise.backwardOp

/** Every op of the pointwise family. */
export const pointwiseOps: readonly AnyOp[] = [
  addOp,
  subOp,
  mulOp,
  divOp,
  negOp,
  powOp,
  scaleOp,
  addScalarOp,
  whereNonzeroOp,
  fullOp,
  sumToOp,
  expandOp,
  ...unaryPointwise.flatMap((p) => [p.op, p.backwardOp]),
] as unknown as readonly AnyOp[]
