// The library API of moe-prefuse: what the manual (docs/) documents, and nothing else. The CLI is
// one client of it; internals (step buffers, recipes, engines' scratch, bench ledgers) stay
// private so that they can change without breaking callers.

// Tensors, dtypes, weight maps and the typed errors every call can throw.
export * from "./reference/dtypes.js";
export * from "./reference/errors.js";
export * from "./reference/tensor.js";
export * from "./reference/weights.js";
export { parseSize, formatBytes } from "./reference/size.js";

// safetensors and checkpoints (docs/safetensors.md).
export { Checkpoint, type CheckpointTensor, type ModelConfig, CONFIG_FILE, SINGLE_FILE } from "./reference/checkpoint.js";
export { writeCheckpoint, DEFAULT_MAX_SHARD_SIZE, type CheckpointWriteOptions } from "./reference/checkpoint-writer.js";
export { parseHeader, MAX_HEADER_SIZE, type SafetensorsHeader, type TensorEntry } from "./reference/safetensors/header.js";
export { SafetensorsFile } from "./reference/safetensors/reader.js";
export { parseSafetensors, serializeSafetensors } from "./reference/safetensors/memory.js";
export { writeSafetensorsFile } from "./reference/safetensors/writer.js";
export { type TensorSource, tensorSource, fileTensorSource } from "./reference/safetensors/source.js";

// The prefuse contract (docs/contract.md): decide, fuse in memory, fuse disk to disk.
export { configPath } from "./reference/config-path.js";
export {
  resolveExpertCount,
  EXPERT_COUNT_KEYS,
  OQ_EXPERT_COUNT_KEYS,
  DEFAULT_COUNT_LOOKUP,
  type ExpertCount,
  type ExpertCountKey,
  type CountLookup,
} from "./reference/prefuse/expert-count.js";
export { DEFAULT_READINGS, countLookupOf, type PrefuseReadings, type ReadingPatch } from "./reference/prefuse/readings.js";
export {
  EXPERT_LAYOUTS,
  DEFAULT_LAYOUT,
  FUSE_TARGETS,
  PROJECTIONS,
  selectLayout,
  layoutForModelType,
  fusedNames,
  fusedPrefix,
  switchName,
  followsOqPattern,
  type ExpertLayout,
  type ExpertStorage,
  type SourceRef,
  type FuseTarget,
  type FusedOrientation,
  type Projection,
  type LayoutChoice,
  type ModelTypeKey,
} from "./reference/prefuse/layouts.js";
export { scanExperts, type ExpertGroup, type ExpertTensor, type SwitchTensor } from "./reference/prefuse/scan.js";
export { naturalCompare } from "./reference/prefuse/natural-order.js";
export { checkExpertLayer, STACKED_COMPANIONS, type CompleteLayer, type LayerCheck } from "./reference/prefuse/layer-check.js";
export { UNTOUCHED_REASONS, READING_REASONS, type UntouchedCode, type UntouchedReason, type LayerCode } from "./reference/prefuse/reasons.js";
export {
  planPrefuse,
  type FusePlan,
  type PlanOptions,
  type LayerPlan,
  type LayerState,
  type FusedLayerPlan,
  type UntouchedLayerPlan,
  type AlreadyFusedLayerPlan,
  type DenseLayerPlan,
} from "./reference/prefuse/plan.js";
export { DEFAULT_CHUNK } from "./reference/prefuse/chunk.js";
export { prefuse, type PrefuseOptions, type PrefuseResult } from "./reference/prefuse/prefuse.js";
export {
  fuseCheckpoint,
  fuseCheckpointDir,
  type FuseCheckpointOptions,
  type FuseDirOptions,
  type FuseProgress,
  type FuseResult,
} from "./reference/prefuse/fuse-checkpoint.js";
export { planReport, moeView, type PlanReport, type MoeView, type MoeLayerView } from "./reference/prefuse/report.js";
export { type BackendName, BACKEND_NAMES } from "./reference/ops/backend.js";
export { createBackend } from "./reference/ops/engines.js";
export { STAGES, type Stage, parseStage, runStage, planStage, type StageOptions, type StageResult } from "./reference/stages.js";

// FP8 block dequantization (docs/fp8.md).
export { Fp8Error, type Fp8ErrorCode } from "./reference/fp8/errors.js";
export { type ScaleLayout, describeScaleLayout } from "./reference/fp8/layout.js";
export { type Fp8Rule, type Fp8Scheme, type ScaleSuffix, describeRule } from "./reference/fp8/rule.js";
export { resolveScheme } from "./reference/fp8/scheme.js";
export { Fp8Dequantizer, type BlockScaledWeight, type KernelStrategy } from "./reference/fp8/kernel.js";
export { planDequant, type DequantPlan, type DequantEntry, type PlanLocation } from "./reference/fp8/plan.js";
export { dequantizedConfig } from "./reference/fp8/config.js";
export { dequantFp8, dequantTensor, type DequantOptions, type DequantResult } from "./reference/fp8/dequant.js";
export { dequantView, type DequantView, type DequantViewOptions } from "./reference/fp8/view.js";
export { dequantCheckpoint, type DequantCheckpointOptions, type DequantCheckpointResult } from "./reference/fp8/checkpoint.js";
export { DequantPool, defaultPool, type DequantPoolOptions } from "./reference/fp8/pool.js";
export { defaultThreads, MAX_THREADS } from "./reference/fp8/threads.js";

// Fixtures: deterministic synthetic checkpoints of real MoE families (docs/fixtures-and-hub.md).
export { listFamilies, FAMILY_NAMES, type FamilyName, type FamilyInfo, type JsonValue } from "./fixtures-gen/families.js";
export { generateCheckpoint, writeGeneratedCheckpoint, IN_MEMORY_LIMIT, type GeneratedCheckpoint, type GeneratedWriteResult } from "./fixtures-gen/generate.js";
export { resolveSpec, moeLayers, type FixtureSpec, type Fp8Options, type ResolvedSpec } from "./fixtures-gen/spec.js";
export {
  listVariants,
  parseVariant,
  formatVariant,
  PARTIAL_DEFECTS,
  type Variant,
  type VariantInfo,
  type LayerRef,
  type PartialDefect,
  type CountKeySetting,
} from "./fixtures-gen/variants.js";
export { planFixture, type FixturePlan } from "./fixtures-gen/plan.js";
export { encodeE4M3, quantizeBlocks, E4M3_MAX, type BlockSize, type BlockQuantized } from "./fixtures-gen/fp8-quantize.js";
export { describeMoeLayers, countKeysOf, type MoeLayerSummary, type MoeLayout, type CountKeyValue } from "./fixtures-gen/moe-structure.js";

// Real checkpoints from the Hugging Face Hub (docs/fixtures-and-hub.md).
export { REAL_REPOS, type RealRepo } from "./fixtures-gen/real-repos.js";
export { fetchRepo, HUB_LIMITS, type FetchRepoOptions, type FetchRepoResult, type FetchedFile, type HubLimits } from "./hub/fetch-repo.js";
export { hubSettings, hubCacheDir, type HubSettings } from "./hub/settings.js";
export { HubError, type HubErrorCode } from "./hub/errors.js";
export { parseHubRef, isHubRef, type HubRef } from "./hub/repo-ref.js";
export { checkRealRepos, compareWithCatalogue, type RepoCheck } from "./hub/check.js";

// What a prefuse will do and cost, from headers alone, for a directory or a Hub repository (docs/plan.md).
export { readRemoteHeaders, type RemoteHeaders, type RemoteHeadersOptions, type RemoteFile } from "./hub/remote-headers.js";
export {
  localHeaders,
  hubHeaders,
  planCheckpoint,
  checkpointPlanReport,
  type CheckpointHeaders,
  type HubHeadersOptions,
  type CheckpointPlan,
  type CheckpointPlanOptions,
  type CheckpointPlanReport,
} from "./plan/plan.js";
export { MEMORY_STRATEGIES, memoryEstimates, predictPeak, type MemoryEstimate, type MemoryStrategyName, type MemoryModelInput } from "./plan/memory.js";

// The golden corpus (docs/corpus.md).
export * from "./golden/corpus.js";
export { GOLDEN_CASES } from "./golden/cases.js";
export { CaseDefinitionError, type CaseDefinition } from "./golden/build.js";
export { checkCorpus, checkCase, type CaseCheck, type CorpusCheck } from "./golden/check.js";
export { planCorpusUpdate, writeCorpus, type UpdatePlan, type UpdateOptions } from "./golden/update.js";
export { writeCaseFolder, addToCorpusIndex, outcomeOf, type NewCase } from "./golden/case-writer.js";

// The release gate (docs/gate.md, docs/gate-protocols.md): any prefuse implementation, checked from the outside through files.
export { runGate, GATE_DEFAULTS, FLOATING_STAGES, MAX_RUNS, type GateOptions, type CorpusChoice } from "./gate/gate.js";
export { STAGE_CONTRACTS, type StageContract } from "./reference/contracts.js";
// Reading points: where oQ's contract is open (docs/gate-readings.md).
export {
  READING_POINTS,
  REFERENCE_CHOICE,
  readingPoints,
  readingsOf,
  type ReadingPoint,
  type ReadingAlternative,
  type ReadingChoice,
} from "./reference/reading-points.js";
export { caseAlternatives, decidingPoints, type CaseAlternatives, type CaseVariant } from "./reference/alternatives.js";
export { settleReadings, readingRows, type ReadingRow, type ReadingsSummary, type ReadingStatus } from "./gate/fingerprint.js";
export { readReadingsFile, readingsFileText, ReadingsFileError, READINGS_FORMAT, type ReadingsFile } from "./gate/readings-file.js";
export { separatingCases, SEPARATING_FROM_RUNS } from "./gate/separating.js";
export { splitTemplate, expandTemplate, PLACEHOLDERS, type Placeholders, type Protocol } from "./gate/template.js";
export { caseArbitrary, toFixtureSpec, caseFeatures, type CaseDraw } from "./gate/case-space.js";
export { compareWeights, type Comparison, type TensorMismatch, type Tolerance } from "./gate/compare.js";
export { ulpDistance, ULP_DTYPES } from "./gate/ulp.js";
export { diagnose } from "./gate/diagnoses/diagnose.js";
export type { Diagnosis, DiagnosisKind, DiagnosisContext } from "./gate/diagnoses/diagnosis.js";
export { judge, failureSignature, type Judgement, type Verdict, type FailureKind, type Ending } from "./gate/judge.js";
export type { CaseResult, CaseRunner } from "./gate/run-case.js";
export { mergeReports, readReport, reportPasses, summaryLine, REPORT_FORMAT, type GateReport, type Totals, type ShrunkCase } from "./gate/report.js";
export { parseShard, inShard, type Shard } from "./gate/shard.js";
export { junitXml } from "./gate/junit.js";
export { markdownSummary } from "./gate/markdown.js";
export { conformanceTable } from "./gate/conformance.js";

// Benchmarks (docs/benchmarks.md).
export { runBenchmark, writeReport, rerenderReport, type WrittenReport } from "./bench/bench.js";
export { checkReport, checkReportFiles, type ReportFiles } from "./bench/check.js";
export { GRIDS, getGrid, type Grid } from "./bench/grid.js";
export { STRATEGY_NAMES, type StrategyName } from "./bench/strategies/strategy.js";
export type { BenchResults, PointResult } from "./bench/results.js";
export { BenchVerificationError } from "./bench/verify.js";
