// mse_loss, cross_entropy, nll_loss, binary_cross_entropy_with_logits: owned by the activations/losses work package.
export const lossOps = [] as const
