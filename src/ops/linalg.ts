// matmul, linear: owned by the conv/linalg work package.
export const linalgOps = [] as const
