/** Optimizers: they update the tensors of a parameter store in place. */
export { SGD, type SGDOptions, type SGDState, type SGDBufferState } from "./sgd.ts"
