// conv1d/2d/3d, conv_transpose2d and their backward ops: owned by the conv/linalg work package.
export const convOps = [] as const
