/** The parts of ConvNetJS 0.3 (untyped, CommonJS) that the benchmark uses. */
declare module "convnetjs" {
  // CommonJS `module.exports = convnetjs`: import it as a default import.
  export = convnetjs
  namespace convnetjs {
    /** A 3-d volume, HWC: index ((sx * y) + x) * depth + d. Float64Array storage. */
    export class Vol {
      constructor(sx: number, sy: number, depth: number, c?: number)
      sx: number
      sy: number
      depth: number
      w: Float64Array
      dw: Float64Array
    }

    export interface Layer {
      layer_type: string
      out_sx: number
      out_sy: number
      out_depth: number
      in_act: Vol
      out_act: Vol
      forward(v: Vol, isTraining: boolean): Vol
      backward(y?: number): number | void
    }

    /** conv and fc layers: one filter Vol per output channel and a biases Vol. */
    export interface WeightLayer extends Layer {
      filters: Vol[]
      biases: Vol
    }

    export interface ConvLayerOptions {
      in_sx: number
      in_sy: number
      in_depth: number
      sx: number
      filters: number
      stride?: number
      pad?: number
      bias_pref?: number
    }
    export class ConvLayer implements WeightLayer {
      constructor(opt: ConvLayerOptions)
      layer_type: string
      out_sx: number
      out_sy: number
      out_depth: number
      in_act: Vol
      out_act: Vol
      filters: Vol[]
      biases: Vol
      forward(v: Vol, isTraining: boolean): Vol
      backward(): void
    }

    export interface PoolLayerOptions {
      in_sx: number
      in_sy: number
      in_depth: number
      sx: number
      stride?: number
      pad?: number
    }
    export class PoolLayer implements Layer {
      constructor(opt: PoolLayerOptions)
      layer_type: string
      out_sx: number
      out_sy: number
      out_depth: number
      in_act: Vol
      out_act: Vol
      forward(v: Vol, isTraining: boolean): Vol
      backward(): void
    }

    export interface LayerDef {
      type: string
      [option: string]: string | number | boolean | undefined
    }

    export class Net {
      layers: Layer[]
      makeLayers(defs: LayerDef[]): void
      forward(v: Vol, isTraining?: boolean): Vol
      backward(y: number): number
    }

    export interface TrainerOptions {
      method?: "sgd" | "adagrad" | "adadelta" | "windowgrad"
      learning_rate?: number
      batch_size?: number
      momentum?: number
      l1_decay?: number
      l2_decay?: number
    }
    export interface TrainResult {
      cost_loss: number
      loss: number
    }
    export class Trainer {
      constructor(net: Net, options?: TrainerOptions)
      train(x: Vol, y: number): TrainResult
    }
  }
}
