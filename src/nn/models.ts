import { AttrError } from "../errors.ts"
import type { Shape } from "../tensor/shape.ts"
import { Conv2d, Flatten, Linear, ReLU, type SpatialArg } from "./layers.ts"
import type { Module } from "./module.ts"
import { BatchNorm2d, Dropout } from "./normalization.ts"
import { AvgPool2d, MaxPool2d } from "./pooling.ts"
import { Sequential } from "./sequential.ts"
import type { TiePolicy } from "../ops/pool/geometry.ts"

/** Options of {@link lenet5}: input channels and size, class count (default 10), pooling tie policy. */
export interface LeNet5Options {
  /** Input channels (default 1, grayscale). */
  readonly inChannels?: number
  /** Input height = width (default 28; the first conv pads by 2 so 28 works like 32 did). */
  readonly imageSize?: number
  readonly numClasses?: number
  /** Tie policy of both max-pooling layers (default "first", PyTorch's). */
  readonly poolTie?: TiePolicy
}

/**
 * LeNet-5 for 1x28x28 digits (conv1 pads by 2, as in most MNIST ports), with ReLU and max
 * pooling:
 *
 *     conv1 6@5x5 pad 2 -> relu -> pool 2 -> conv2 16@5x5 -> relu -> pool 2 -> flatten
 *     -> fc1 120 -> relu -> fc2 84 -> relu -> fc3 10
 *
 * 61,706 parameters on 1x28x28. Parameter names: conv1.weight, conv1.bias, conv2.*,
 * fc1.*, fc2.*, fc3.*. The model is a description; build a graph for a batch size with
 * `buildModelGraph` (or let `Trainer` do it), and call again for another batch size.
 *
 * @example
 * summary(lenet5()).totalParams // 61706
 */
export function lenet5(options: LeNet5Options = {}): Sequential {
  const c = options.inChannels ?? 1
  const size = options.imageSize ?? 28
  const classes = options.numClasses ?? 10
  // 28 -(conv pad 2)-> 28 -(pool)-> 14 -(conv 5)-> 10 -(pool)-> 5
  const s = Math.floor((Math.floor(size / 2) - 4) / 2)
  if (s < 1) throw new AttrError(`lenet5 imageSize ${size} is too small (expected >= 12)`)
  return new Sequential(
    {
      conv1: new Conv2d(c, 6, 5, { padding: 2 }),
      relu1: new ReLU(),
      pool1: new MaxPool2d(2, { tie: options.poolTie }),
      conv2: new Conv2d(6, 16, 5),
      relu2: new ReLU(),
      pool2: new MaxPool2d(2, { tie: options.poolTie }),
      flatten: new Flatten(),
      fc1: new Linear(16 * s * s, 120),
      relu3: new ReLU(),
      fc2: new Linear(120, 84),
      relu4: new ReLU(),
      fc3: new Linear(84, classes),
    },
    { inputShape: [c, size, size] },
  )
}

/** Options of {@link mlp}: per-sample input shape, hidden widths, class count (default 10). */
export interface MlpOptions {
  /** Per-sample input shape (default [1, 28, 28]); it is flattened first. */
  readonly inputShape?: Shape
  /** Hidden layer widths (default [256]). */
  readonly hidden?: readonly number[]
  readonly numClasses?: number
}

/**
 * A multilayer perceptron baseline: flatten -> fc1 -> relu1 -> ... -> fc{k+1}. The
 * default 784-256-10 has 203,530 parameters.
 *
 * @example
 * const net = mlp({ hidden: [128, 64] }) // fc1, fc2, fc3
 */
export function mlp(options: MlpOptions = {}): Sequential {
  const inputShape = options.inputShape ?? [1, 28, 28]
  const hidden = options.hidden ?? [256]
  const classes = options.numClasses ?? 10
  const layers: [string, Module][] = [["flatten", new Flatten()]]
  let width = inputShape.reduce((a, b) => a * b, 1)
  hidden.forEach((h, i) => {
    layers.push([`fc${i + 1}`, new Linear(width, h)], [`relu${i + 1}`, new ReLU()])
    width = h
  })
  layers.push([`fc${hidden.length + 1}`, new Linear(width, classes)])
  return new Sequential(layers, { inputShape })
}

/** One layer as written in a golden training case or a checkpoint: `{name, op, attrs}`. */
export interface LayerSpec {
  readonly name: string
  readonly op: string
  readonly attrs?: { readonly [k: string]: unknown }
}

/**
 * Builds a Sequential from layer records with PyTorch op names and attrs (the format of
 * training.json's `attrs.layers`): conv2d, relu, max_pool2d, avg_pool2d, flatten, linear.
 *
 * @example
 * fromLayerSpecs([{ name: "fc1", op: "linear", attrs: { in_features: 4, out_features: 2, bias: true } }], [4])
 */
export function fromLayerSpecs(specs: readonly LayerSpec[], inputShape?: Shape): Sequential {
  const layers = specs.map((s): [string, Module] => [s.name, layerFromSpec(s)])
  return new Sequential(layers, inputShape === undefined ? {} : { inputShape })
}

function layerFromSpec(s: LayerSpec): Module {
  const a = s.attrs ?? {}
  const num = (k: string, fallback?: number): number => {
    const v = a[k] ?? fallback
    if (typeof v !== "number") throw new AttrError(`layer '${s.name}' (${s.op}): ${k} = ${JSON.stringify(v)} (expected a number)`)
    return v
  }
  const arg = (k: string): SpatialArg | undefined => {
    const v = a[k]
    if (v === undefined || v === null) return undefined
    if (typeof v === "number" || (Array.isArray(v) && v.every((e) => typeof e === "number"))) return v as SpatialArg
    throw new AttrError(`layer '${s.name}' (${s.op}): ${k} = ${JSON.stringify(v)} (expected an int or a list of ints)`)
  }
  const bool = (k: string, fallback: boolean): boolean => {
    const v = a[k] ?? fallback
    if (typeof v !== "boolean") throw new AttrError(`layer '${s.name}' (${s.op}): ${k} = ${JSON.stringify(v)} (expected true or false)`)
    return v
  }
  switch (s.op) {
    case "conv2d": {
      const padding = a.padding === "same" || a.padding === "valid" ? a.padding : arg("padding")
      return new Conv2d(num("in_channels"), num("out_channels"), arg("kernel_size") ?? num("kernel_size"), {
        stride: arg("stride"),
        padding,
        dilation: arg("dilation"),
        groups: num("groups", 1),
        bias: bool("bias", true),
      })
    }
    case "linear":
      return new Linear(num("in_features"), num("out_features"), { bias: bool("bias", true) })
    case "relu":
      return new ReLU()
    case "flatten":
      return new Flatten(num("start_dim", 1), num("end_dim", -1))
    case "max_pool2d":
      return new MaxPool2d(arg("kernel_size") ?? num("kernel_size"), {
        stride: arg("stride"),
        padding: arg("padding"),
        dilation: arg("dilation"),
        ceil_mode: bool("ceil_mode", false),
      })
    case "avg_pool2d": {
      const d = a.divisor_override
      return new AvgPool2d(arg("kernel_size") ?? num("kernel_size"), {
        stride: arg("stride"),
        padding: arg("padding"),
        ceil_mode: bool("ceil_mode", false),
        count_include_pad: bool("count_include_pad", true),
        divisor_override: typeof d === "number" ? d : null,
      })
    }
    case "batch_norm2d":
      // attrs.training is the mode of the recorded run; the Trainer picks the mode per graph.
      return new BatchNorm2d(num("num_features"), { eps: num("eps", 1e-5), momentum: num("momentum", 0.1), affine: bool("affine", true) })
    case "dropout":
      return new Dropout(num("p", 0.5))
    default:
      throw new AttrError(`layer '${s.name}' has op '${s.op}' (expected conv2d, relu, max_pool2d, avg_pool2d, flatten, linear, batch_norm2d or dropout)`)
  }
}
