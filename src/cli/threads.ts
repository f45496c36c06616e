// `--threads N`, shared by the commands that dequantize FP8 (dequant, fuse --dequant-fp8).

import { MAX_THREADS, defaultThreads } from "../reference/fp8/pool.js";
import { wholeNumber } from "./options.js";

export const THREADS_FLAG = "--threads <n>";
export const THREADS_HELP = `worker threads for FP8 dequantization, 1 to ${MAX_THREADS} (default: one per core, here ${defaultThreads()}; 1 runs in-process)`;

/** The flag's value, or one per core when it is absent. */
export function parseThreads(text: string | undefined): number {
  return text === undefined ? defaultThreads() : wholeNumber("threads", text, 1, MAX_THREADS);
}
