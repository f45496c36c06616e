// `--threads N`, shared by the commands that dequantize FP8 (dequant, fuse --dequant-fp8).

import { UsageError } from "../reference/errors.js";
import { MAX_THREADS, checkThreads, defaultThreads } from "../reference/fp8/pool.js";

export const THREADS_FLAG = "--threads <n>";
export const THREADS_HELP = `worker threads for FP8 dequantization, 1 to ${MAX_THREADS} (default: one per core, here ${defaultThreads()}; 1 runs in-process)`;

/** The flag's value, or the default when it is absent; anything but a whole number in range is a usage error. */
export function parseThreads(text: string | undefined): number {
  if (text === undefined) return defaultThreads();
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new UsageError("INVALID_ARGUMENT", `--threads must be a whole number from 1 to ${MAX_THREADS}, got '${text}'`);
  }
  return checkThreads(n);
}
