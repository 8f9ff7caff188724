import { AttrError } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { add, relu } from "../ops/pointwise/index.ts"
import { flatten } from "../ops/shape/index.ts"
import { Block } from "./block.ts"
import type { Initializer } from "./init.ts"
import { Conv2d, Linear } from "./layers.ts"
import type { ForwardContext, Module } from "./module.ts"
import { BatchNorm2d } from "./normalization.ts"
import { AdaptiveAvgPool2d } from "./pooling.ts"
import { Sequential } from "./sequential.ts"

/** torchvision's ResNet conv init: kaiming_normal_(mode="fan_out", nonlinearity="relu"), std = sqrt(2 / fan_out). */
function kaimingNormalFanOut(outChannels: number, kernel: number): Initializer {
  return { kind: "normal", mean: 0, std: Math.sqrt(2 / (outChannels * kernel * kernel)) }
}

function conv(inChannels: number, outChannels: number, kernel: number, stride: number): Conv2d {
  return new Conv2d(inChannels, outChannels, kernel, {
    stride,
    padding: (kernel - 1) / 2,
    bias: false, // the batch norm after it has a bias
    weightInit: kaimingNormalFanOut(outChannels, kernel),
  })
}

/**
 * torchvision's ResNet BasicBlock: conv3x3 -> bn -> relu -> conv3x3 -> bn, plus the
 * shortcut (the input, or a strided 1x1 conv + bn `downsample` when the shape changes),
 * then relu. Parameter names are torchvision's: conv1.weight, bn1.*, conv2.weight, bn2.*,
 * downsample.0.weight, downsample.1.*.
 *
 * @example
 * new BasicBlock(16, 32, 2) // [N, 16, 28, 28] -> [N, 32, 14, 14]
 */
export class BasicBlock extends Block {
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly conv2: Conv2d
  readonly bn2: BatchNorm2d
  readonly downsample?: Sequential

  constructor(inChannels: number, outChannels: number, stride = 1) {
    super()
    this.conv1 = conv(inChannels, outChannels, 3, stride)
    this.bn1 = new BatchNorm2d(outChannels)
    this.conv2 = conv(outChannels, outChannels, 3, 1)
    this.bn2 = new BatchNorm2d(outChannels)
    if (stride !== 1 || inChannels !== outChannels) this.downsample = new Sequential([conv(inChannels, outChannels, 1, stride), new BatchNorm2d(outChannels)])
  }

  forward(x: Value, ctx: ForwardContext): Value {
    const out = relu(ctx.call(this.bn1, ctx.call(this.conv1, x)))
    const branch = ctx.call(this.bn2, ctx.call(this.conv2, out))
    const identity = this.downsample === undefined ? x : ctx.call(this.downsample, x)
    return relu(add(branch, identity))
  }
}

/** Options of {@link ResNet} and {@link resnet8} (torchvision's ResNet takes `num_classes` likewise). */
export interface ResNetOptions {
  /** Input channels (default 1). */
  readonly inChannels?: number
  /** Input height = width (default 28). */
  readonly imageSize?: number
  /** Outputs of the final linear layer (default 10). */
  readonly numClasses?: number
  /** Channels of the first stage; the second and third have 2x and 4x (default 8). */
  readonly width?: number
  /** BasicBlocks per stage (default 1: ResNet-8, i.e. 6 block convs + stem + fc). */
  readonly blocks?: number
}

/**
 * A small CIFAR-style residual network (He et al. 2016, section 4.2) for MNIST-sized
 * input: a 3x3 stem conv + bn + relu, three stages of BasicBlocks at widths w, 2w, 4w
 * (the second and third halve the resolution), global average pooling and a linear
 * classifier. Module names follow torchvision (conv1, bn1, layer1.0.conv1, ..., fc).
 */
export class ResNet extends Block {
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly layer1: Sequential
  readonly layer2: Sequential
  readonly layer3: Sequential
  readonly avgpool: AdaptiveAvgPool2d
  readonly fc: Linear

  constructor(options: ResNetOptions = {}) {
    super()
    const c = options.inChannels ?? 1
    const size = options.imageSize ?? 28
    const w = options.width ?? 8
    const blocks = options.blocks ?? 1
    if (!Number.isInteger(w) || w < 1) throw new AttrError(`width = ${w} (expected an integer >= 1)`)
    if (!Number.isInteger(blocks) || blocks < 1) throw new AttrError(`blocks = ${blocks} (expected an integer >= 1)`)
    const stage = (inC: number, outC: number, stride: number): Sequential => {
      const list: Module[] = [new BasicBlock(inC, outC, stride)]
      for (let i = 1; i < blocks; i++) list.push(new BasicBlock(outC, outC, 1))
      return new Sequential(list)
    }
    this.conv1 = conv(c, w, 3, 1)
    this.bn1 = new BatchNorm2d(w)
    this.layer1 = stage(w, w, 1)
    this.layer2 = stage(w, 2 * w, 2)
    this.layer3 = stage(2 * w, 4 * w, 2)
    this.avgpool = new AdaptiveAvgPool2d(1)
    this.fc = new Linear(4 * w, options.numClasses ?? 10)
    this.inputShape = [c, size, size]
  }

  forward(x: Value, ctx: ForwardContext): Value {
    let y = relu(ctx.call(this.bn1, ctx.call(this.conv1, x)))
    y = ctx.call(this.layer3, ctx.call(this.layer2, ctx.call(this.layer1, y)))
    return ctx.call(this.fc, flatten(ctx.call(this.avgpool, y), 1))
  }
}

/**
 * ResNet-8 for 1x28x28 digits: stem + three stages of one BasicBlock (widths 8, 16, 32 by
 * default) + fc; 19,810 trainable parameters (and 336 buffer values) at width 8.
 *
 * @example
 * summary(resnet8()).rows.length // every conv, bn, pool and fc, by dotted path
 */
export function resnet8(options: ResNetOptions = {}): ResNet {
  return new ResNet({ ...options, blocks: 1 })
}
