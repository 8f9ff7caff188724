import { AttrError, ShapeError, showShape } from "../errors.ts"
import { allocate, type FloatDType } from "../tensor/dtype.ts"
import type { Random } from "../tensor/random.ts"
import { sizeOf, type Shape } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"

/**
 * How a parameter or buffer gets its initial values: plain data, so a model's parameter
 * list can be printed and compared, and the draw is reproducible from a seed.
 *
 * - `kaiming_uniform`: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculateGain(
 *   nonlinearity, a) (torch.nn.init.kaiming_uniform_). PyTorch's default for conv and
 *   linear weights is a = sqrt(5), nonlinearity leaky_relu, mode fan_in, which makes
 *   b = sqrt(2 / (1 + 5)) * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
 * - `uniform`: U(low, high) (the default bias: +-1/sqrt(fan_in)).
 * - `normal`: N(mean, std^2) (Box-Muller from the same stream).
 * - `xavier_uniform`: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
 * - `constant`: every element `value` (batch norm: weight 1, bias 0, running_var 1).
 */
export type Initializer =
  | {
      readonly kind: "kaiming_uniform"
      readonly a: number
      readonly mode: "fan_in" | "fan_out"
      readonly nonlinearity: Nonlinearity
    }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  | { readonly kind: "xavier_uniform"; readonly gain: number }
  | { readonly kind: "constant"; readonly value: number }

/** The nonlinearities {@link calculateGain} knows (torch.nn.init.calculate_gain's `nonlinearity` argument). */
export type Nonlinearity = "linear" | "conv1d" | "conv2d" | "conv3d" | "sigmoid" | "tanh" | "relu" | "leaky_relu"

/**
 * torch.nn.init.calculate_gain: the recommended scale for a nonlinearity. For leaky_relu
 * `param` is the negative slope (default 0.01): gain = sqrt(2 / (1 + slope^2)).
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "sigmoid":
      return 1
    case "tanh":
      return 5 / 3
    case "relu":
      return Math.SQRT2
    case "leaky_relu": {
      const slope = param ?? 0.01
      return Math.sqrt(2 / (1 + slope * slope))
    }
  }
}

/**
 * torch.nn.init._calculate_fan_in_and_fan_out: for a weight of shape (out, in, k...),
 * fan_in = in * prod(k) and fan_out = out * prod(k). For a grouped conv weight
 * (C_out, C_in / groups, k...) this gives fan_in = C_in / groups * prod(k).
 */
export function fanInAndOut(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new ShapeError(`fan in and fan out need a weight of rank >= 2 (got shape ${showShape(shape)})`)
  }
  const receptive = sizeOf(shape.slice(2))
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive }
}

/** PyTorch's default weight initialiser for Linear and Conv: kaiming_uniform_(a = sqrt(5)). */
export const defaultWeightInit: Initializer = Object.freeze({
  kind: "kaiming_uniform",
  a: Math.sqrt(5),
  mode: "fan_in",
  nonlinearity: "leaky_relu",
})

/** PyTorch's default bias initialiser for Linear and Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function defaultBiasInit(fanIn: number): Initializer {
  // PyTorch: bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0
  return { kind: "uniform", low: -bound, high: bound }
}

/** The bound b of U(-b, b) a kaiming_uniform or xavier_uniform initialiser draws from. */
export function uniformBound(init: Initializer, shape: Shape): number {
  switch (init.kind) {
    case "kaiming_uniform": {
      const { fanIn, fanOut } = fanInAndOut(shape)
      const fan = init.mode === "fan_in" ? fanIn : fanOut
      const gain = calculateGain(init.nonlinearity, init.a)
      // std = gain / sqrt(fan); a uniform with that std has bound sqrt(3) * std
      return fan > 0 ? Math.sqrt(3) * (gain / Math.sqrt(fan)) : 0
    }
    case "xavier_uniform": {
      const { fanIn, fanOut } = fanInAndOut(shape)
      return init.gain * Math.sqrt(6 / (fanIn + fanOut))
    }
    case "uniform":
      return Math.max(Math.abs(init.low), Math.abs(init.high))
    default:
      throw new AttrError(`initialiser ${init.kind} has no uniform bound (expected kaiming_uniform, xavier_uniform or uniform)`)
  }
}

/**
 * Fills `t` in place, drawing its elements in row-major order from `random` (one draw per
 * element for the uniform kinds), so the values are a pure function of the seed and of the
 * order in which parameters are initialised.
 */
export function initializeInPlace(t: Tensor, init: Initializer, random: Random): void {
  const d = t.data
  const n = d.length
  switch (init.kind) {
    case "constant":
      d.fill(init.value)
      return
    case "uniform":
      fillUniform(d, init.low, init.high, random)
      return
    case "kaiming_uniform":
    case "xavier_uniform": {
      const b = uniformBound(init, t.shape)
      fillUniform(d, -b, b, random)
      return
    }
    case "normal":
      for (let i = 0; i < n; i++) d[i] = init.mean + init.std * random.normal()
      return
  }
}

/**
 * A new tensor of `shape` initialised by `init`.
 *
 * @example
 * const w = initTensor(defaultWeightInit, [6, 1, 5, 5], "float32", new Random(0))
 * // every value lies in [-1/5, 1/5): fan_in = 1 * 5 * 5
 */
export function initTensor(init: Initializer, shape: Shape, dtype: FloatDType, random: Random): Tensor {
  const t: Tensor = { shape: [...shape], dtype, data: allocate(dtype, sizeOf(shape)) }
  initializeInPlace(t, init, random)
  return t
}

function fillUniform(d: Float32Array | Float64Array | Int32Array, low: number, high: number, random: Random): void {
  // uniform_(low, high) = low + (high - low) * u, u in [0, 1)
  const n = d.length
  for (let i = 0; i < n; i++) d[i] = random.uniform(low, high)
}

/** Short text for summaries: "kaiming_uniform(a=2.236)", "uniform(-0.2, 0.2)". */
export function describeInit(init: Initializer): string {
  const f = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4))
  switch (init.kind) {
    case "kaiming_uniform":
      return `kaiming_uniform(a=${f(init.a)}, ${init.mode}, ${init.nonlinearity})`
    case "uniform":
      return `uniform(${f(init.low)}, ${f(init.high)})`
    case "normal":
      return `normal(${f(init.mean)}, ${f(init.std)})`
    case "xavier_uniform":
      return `xavier_uniform(gain=${f(init.gain)})`
    case "constant":
      return `constant(${f(init.value)})`
  }
}
