// How a scale tensor covers its 2-D weight [m, n]. Every layout seen in the wild is a grid of
// rectangular blocks: DeepSeek/Qwen/Quark blocks [bm, bn], compressed-tensors and Quark groups
// [1, g], per-channel [1, n] and per-tensor [m, n]. The kernel only knows blocks; this file maps
// each layout to its block and says which scale shapes are acceptable, never broadcasting a
// scale that does not fit (transformers derives the block from the grid and gets 130/2 wrong).

export type ScaleLayout =
  | { readonly kind: "block"; readonly rows: number; readonly cols: number }
  | { readonly kind: "group"; readonly size: number }
  | { readonly kind: "channel" }
  | { readonly kind: "tensor" };

export function describeScaleLayout(layout: ScaleLayout): string {
  switch (layout.kind) {
    case "block":
      return `${layout.rows}x${layout.cols} blocks`;
    case "group":
      return `groups of ${layout.size} along each row`;
    case "channel":
      return "one scale per output channel";
    case "tensor":
      return "one scale per tensor";
  }
}

/** The block [bm, bn] (each at least 1) that the layout gives a weight [m, n]. */
export function blockOf(layout: ScaleLayout, m: number, n: number): readonly [number, number] {
  switch (layout.kind) {
    case "block":
      return [layout.rows, layout.cols];
    case "group":
      return [1, layout.size];
    case "channel":
      return [1, Math.max(1, n)];
    case "tensor":
      return [Math.max(1, m), Math.max(1, n)];
  }
}

/** The scale grid [ceil(m/bm), ceil(n/bn)] of a weight [m, n] under a block. */
function gridOf(block: readonly [number, number], m: number, n: number): readonly [number, number] {
  return [Math.ceil(m / block[0]), Math.ceil(n / block[1])];
}

/**
 * Scale shapes the layout accepts for a weight [m, n], canonical first. Blocks and groups need the
 * exact 2-D grid; per-channel scales are stored as [m, 1] (compressed-tensors) or [m] (Quark);
 * per-tensor scales as a scalar, [1] or [1, 1].
 */
export function acceptedScaleShapes(layout: ScaleLayout, m: number, n: number): readonly (readonly number[])[] {
  switch (layout.kind) {
    case "block":
    case "group":
      return [gridOf(blockOf(layout, m, n), m, n)];
    case "channel":
      return [[m, 1], [m]];
    case "tensor":
      return [[], [1], [1, 1]];
  }
}

export function shapeIn(shape: readonly number[], accepted: readonly (readonly number[])[]): boolean {
  return accepted.some((a) => a.length === shape.length && a.every((d, i) => d === shape[i]));
}
