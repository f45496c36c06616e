// `--threads N`, shared by the commands that dequantize FP8 (dequant, fuse --dequant-fp8).

import { MAX_THREADS, defaultThreads } from "../reference/fp8/threads.js";
import { wholeNumber } from "./options.js";

export const THREADS_FLAG = "--threads <n>";
/** What N means, after "threads for FP8 dequantization" or its like. */
export const THREADS_RANGE_HELP = `1 to ${MAX_THREADS}: the main thread and N - 1 workers (default: one per core, here ${defaultThreads()})`;
export const THREADS_HELP = `threads for FP8 dequantization, ${THREADS_RANGE_HELP}`;

/** The flag's value, or one per core when it is absent. */
export function parseThreads(text: string | undefined): number {
  return text === undefined ? defaultThreads() : wholeNumber("threads", text, 1, MAX_THREADS);
}
