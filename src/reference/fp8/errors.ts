// The typed rejections of FP8 dequantization. Every one names the file (checkpoint or config) and
// the tensor it concerns; scale/weight pairing errors name both tensors in the message.

import { MoePrefuseError } from "../errors.js";

export type Fp8ErrorCode =
  /** A scale grid whose shape is not the one the weight's shape and block size imply. */
  | "SCALE_SHAPE_MISMATCH"
  /** A `<W>_scale_inv` / `<W>.weight_scale` whose weight is not in the checkpoint. */
  | "SCALE_WITHOUT_WEIGHT"
  /** A scale whose weight is not FP8 (already dequantized, or a broken checkpoint). */
  | "SCALE_ON_UNQUANTIZED_WEIGHT"
  /** An FP8 weight with no scale tensor. */
  | "WEIGHT_WITHOUT_SCALE"
  /** An FP8 weight with both a `_scale_inv` and a `_scale` tensor: which applies is unknown. */
  | "AMBIGUOUS_SCALE"
  /** A scale named in a way the scheme does not use for this weight. */
  | "SCALE_NAME_MISMATCH"
  /** An FP8 weight that is not 2-D: no dequantization rule applies. */
  | "UNSUPPORTED_RANK"
  /** A weight in an 8-bit float dtype the harness has no decoder for (FNUZ variants). */
  | "UNSUPPORTED_WEIGHT_DTYPE"
  /** A scale dtype that is not F32, BF16, F16 or F8_E8M0 (U8 only where the config says E8M0). */
  | "UNSUPPORTED_SCALE_DTYPE"
  /** The weight's FP8 dtype differs from the format the config declares. */
  | "FORMAT_MISMATCH"
  /** FP8 weights, but no `quantization_config` to say how they are scaled. */
  | "NO_QUANTIZATION_CONFIG"
  /** A quantization method or sub-scheme that is not FP8 weight quantization the harness can undo. */
  | "UNSUPPORTED_SCHEME"
  /** A `quantization_config` whose fields are malformed. */
  | "INVALID_QUANTIZATION_CONFIG"
  /** The config matches a weight to several different scale layouts, or to none. */
  | "AMBIGUOUS_SCHEME"
  | "NO_RULE"
  /** A dequantization worker thread failed (could not start, crashed, or its kernel threw). */
  | "WORKER_FAILED";

export class Fp8Error extends MoePrefuseError<Fp8ErrorCode> {
  override readonly name = "Fp8Error";
}
