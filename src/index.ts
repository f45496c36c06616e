// The library API of moe-prefuse: what tests, the CLI and other tools import.

export * from "./reference/dtypes.js";
export * from "./reference/errors.js";
export * from "./reference/tensor.js";
export * from "./reference/weights.js";
export { Checkpoint, type CheckpointTensor, type ModelConfig, CONFIG_FILE, SINGLE_FILE } from "./reference/checkpoint.js";
export { writeCheckpoint, planShards, DEFAULT_MAX_SHARD_SIZE, type CheckpointWriteOptions } from "./reference/checkpoint-writer.js";
export { parseHeader, MAX_HEADER_SIZE, type SafetensorsHeader, type TensorEntry } from "./reference/safetensors/header.js";
export { SafetensorsFile } from "./reference/safetensors/reader.js";
export { parseSafetensors, serializeSafetensors } from "./reference/safetensors/memory.js";
export { writeSafetensorsFile } from "./reference/safetensors/writer.js";
export { type TensorSource, tensorSource, fileTensorSource } from "./reference/safetensors/source.js";
export { parseSize, formatBytes } from "./reference/size.js";
export { runBenchmark, writeReport, rerenderReport, reportStem, type WrittenReport } from "./bench/bench.js";
export { checkReport, checkReportFiles, type ReportFiles } from "./bench/check.js";
export { GRIDS, getGrid, gridPoints, type Grid, type GridBlock, type GridPoint } from "./bench/grid.js";
export { STRATEGIES, getStrategy } from "./bench/strategies/registry.js";
export { STRATEGY_NAMES, type Strategy, type StrategyName } from "./bench/strategies/strategy.js";
export { MemoryLedger } from "./bench/ledger.js";
export { type RunOptions, runGrid } from "./bench/runner.js";
export type { BenchResults, PointResult, TorchRun, TorchSection } from "./bench/results.js";
