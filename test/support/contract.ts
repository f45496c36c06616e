// Facts of the README's contract restated by hand for the tests, never imported from the code
// under test, so that a change to the code that the contract does not allow makes tests fail.

import type { ExpertCountKey } from "../../src/reference/prefuse/expert-count.js";

/**
 * Where the expert count is looked up, first found wins: oQ's four keys, then our extension
 * (DeepSeek-style n_routed_experts, ERNIE/Step moe_num_experts), each top level then text_config.
 */
export const COUNT_KEY_PRECEDENCE: readonly ExpertCountKey[] = [
  "num_local_experts",
  "text_config.num_local_experts",
  "num_experts",
  "text_config.num_experts",
  "n_routed_experts",
  "text_config.n_routed_experts",
  "moe_num_experts",
  "text_config.moe_num_experts",
];
