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
export const logOp = logPointwise.op
export const tanhOp = tanhPointwise.op
export const sigmoidOp = sigmoidPointwise.op
export const reluOp = reluPointwise.op
export const reluBackwardOp = reluPointwise.backwardOp
export const leakyReluOp = leakyReluPointwise.op
export const leakyReluBackwardOp = leakyReluPointwise.backwardOp
export const eluOp = eluPointwise.op
export const eluBackwardOp = eluPointwise.backwardOp
export const geluOp = geluPointwise.op
export const geluBackwardOp = geluPointwise.backwardOp
export const softplusOp = softplusPointwise.op
export const softplusBackwardOp = softplusPointwise.backwardOp
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
