// Shapes of the prefuse. Per expert: gate and up `[I, H]`, down `[H, I]`. Fused `rows`:
// gate_up `[E, 2I, H]`, down `[E, H, I]`; fused `columns` (stored transposed): gate_up
// `[E, H, 2I]`, down `[E, I, H]`; switch_mlp: gate and up `[E, I, H]`, down `[E, H, I]`.

import type { FusedOrientation } from "./layouts.js";

export type Shape = readonly number[];

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(s: Shape): string {
  return `[${s.join(", ")}]`;
}

/** Expected per-expert shapes of an unquantized layer whose gate is `[I, H]`. */
export function perExpertShapes(I: number, H: number): { readonly gate: Shape; readonly up: Shape; readonly down: Shape } {
  return { gate: [I, H], up: [I, H], down: [H, I] };
}

/** gate_up of E experts: gate then up along the intermediate axis, in the layout's orientation. */
export function fusedGateUpShape(E: number, gate: Shape, up: Shape, orientation: FusedOrientation): Shape {
  const rows = gate[0]! + up[0]!;
  return orientation === "rows" ? [E, rows, gate[1]!] : [E, gate[1]!, rows];
}

export function fusedDownShape(E: number, down: Shape, orientation: FusedOrientation): Shape {
  return orientation === "rows" ? [E, ...down] : [E, down[1]!, down[0]!];
}

export interface FusedDims {
  readonly E: number;
  readonly I: number;
  readonly H: number;
}

/** E, I and H of a fused pair, or why the pair is not one. */
export function fusedDims(gateUp: Shape, down: Shape, orientation: FusedOrientation): FusedDims | string {
  if (gateUp.length !== 3 || down.length !== 3) return `fused tensors must be 3-D, got gate_up ${formatShape(gateUp)} and down ${formatShape(down)}`;
  const [E, a, b] = gateUp as [number, number, number];
  const twoI = orientation === "rows" ? a : b;
  const H = orientation === "rows" ? b : a;
  if (twoI % 2 !== 0) return `gate_up ${formatShape(gateUp)} has an odd intermediate size ${twoI}, so it cannot hold gate and up halves`;
  const I = twoI / 2;
  const expected = orientation === "rows" ? [E, H, I] : [E, I, H];
  if (!sameShape(down, expected)) return `down ${formatShape(down)} does not match gate_up ${formatShape(gateUp)} (expected ${formatShape(expected)})`;
  return { E, I, H };
}
