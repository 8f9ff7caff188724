// batch_norm2d, dropout: owned by the activations/losses work package.
export const normOps = [] as const
