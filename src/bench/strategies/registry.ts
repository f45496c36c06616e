// The strategies under benchmark, by name, in report order.

import { UsageError } from "../../reference/errors.js";
import { prealloc } from "./prealloc.js";
import { splitRetain } from "./split-retain.js";
import { stackConcat } from "./stack-concat.js";
import { stream } from "./stream.js";
import { STRATEGY_NAMES, type Strategy, type StrategyName } from "./strategy.js";

export const STRATEGIES: ReadonlyMap<StrategyName, Strategy> = new Map([stackConcat, prealloc, splitRetain, stream].map((s) => [s.name, s] as const));

export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}

export function getStrategy(name: string): Strategy {
  const s = isStrategyName(name) ? STRATEGIES.get(name) : undefined;
  if (s === undefined) throw new UsageError("INVALID_ARGUMENT", `unknown strategy '${name}' (known: ${STRATEGY_NAMES.join(", ")})`);
  return s;
}
