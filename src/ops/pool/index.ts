// The pooling family (max, avg, lp, adaptive, unpool): owned by the pooling work package.
export const poolOps = [] as const
