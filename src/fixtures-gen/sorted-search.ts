// Binary search in an ascending array, for the E4M3 code table and the part offsets of
// concatenated tensors.

/** The largest index i with sorted[i] <= x (0 when x is below every element). */
export function lastAtMost(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sorted[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
