// leaky_relu, elu, gelu, softplus, softmax, log_softmax: owned by the activations/losses work package.
export const activationOps = [] as const
