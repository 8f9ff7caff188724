/**
 * Images as stored on disk: `count` uint8 images of `channels x height x width`, row-major
 * (NCHW), and one uint8 label each.
 */
export interface ImageDataset {
  readonly images: Uint8Array
  readonly labels: Uint8Array
  readonly count: number
  readonly channels: number
  readonly height: number
  readonly width: number
  readonly numClasses: number
}
