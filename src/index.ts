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
export { Fp8Error, type Fp8ErrorCode } from "./reference/fp8/errors.js";
export { type ScaleLayout, describeLayout } from "./reference/fp8/layout.js";
export { type Fp8Rule, type Fp8Scheme, type ScaleSuffix, describeRule } from "./reference/fp8/rule.js";
export { resolveScheme } from "./reference/fp8/scheme.js";
export { Fp8Dequantizer, type BlockScaledWeight, type KernelStrategy } from "./reference/fp8/kernel.js";
export { planDequant, type DequantPlan, type DequantEntry, type PlanLocation } from "./reference/fp8/plan.js";
export { dequantizedConfig } from "./reference/fp8/config.js";
export { dequantFp8, dequantTensor, type DequantOptions, type DequantResult } from "./reference/fp8/dequant.js";
export { dequantView, DEQUANT_CHUNK_ELEMENTS, type DequantView, type DequantViewOptions } from "./reference/fp8/view.js";
export { dequantCheckpoint, type DequantCheckpointOptions, type DequantCheckpointResult } from "./reference/fp8/checkpoint.js";
export { resolveExpertCount, configValue, EXPERT_COUNT_KEYS, OQ_EXPERT_COUNT_KEYS, DEFAULT_COUNT_LOOKUP, type ExpertCount, type ExpertCountKey, type CountLookup } from "./reference/prefuse/expert-count.js";
export { DEFAULT_READINGS, countLookupOf, type PrefuseReadings, type ReadingPatch } from "./reference/prefuse/readings.js";
export {
  EXPERT_LAYOUTS, DEFAULT_LAYOUT, FUSE_TARGETS, PROJECTIONS, selectLayout, layoutForModelType, fusedNames, fusedPrefix, switchName,
  type ExpertLayout, type FuseTarget, type FusedOrientation, type Projection, type LayoutChoice, type ModelTypeKey,
} from "./reference/prefuse/layouts.js";
export { scanExperts, expertPattern, type ExpertGroup, type ExpertTensor, type SwitchTensor } from "./reference/prefuse/scan.js";
export { naturalCompare } from "./reference/prefuse/natural-order.js";
export { fusedDims, fusedGateUpShape, fusedDownShape, perExpertShapes, type FusedDims } from "./reference/prefuse/shapes.js";
export { checkExpertLayer, STACKED_COMPANIONS, type CompleteLayer, type LayerCheck } from "./reference/prefuse/layer-check.js";
export type { UntouchedCode, UntouchedReason } from "./reference/prefuse/reasons.js";
export { recipeInputs, type OutputRecipe, type PlannedOutput } from "./reference/prefuse/recipes.js";
export { produceExperts, Scratch, type ExpertReader } from "./reference/prefuse/produce.js";
export {
  planPrefuse, type FusePlan, type PlanOptions, type LayerPlan, type LayerState,
  type FusedLayerPlan, type UntouchedLayerPlan, type AlreadyFusedLayerPlan, type DenseLayerPlan,
} from "./reference/prefuse/plan.js";
export { DEFAULT_CHUNK, checkChunk } from "./reference/prefuse/chunk.js";
export { prefuse, type PrefuseOptions, type PrefuseResult } from "./reference/prefuse/prefuse.js";
export {
  fuseCheckpoint, fuseCheckpointDir, outputSource, expertsPerStep, ChunkBuffers, DEFAULT_STEP_BYTES,
  type FuseCheckpointOptions, type FuseDirOptions, type FuseProgress, type FuseResult,
} from "./reference/prefuse/fuse-checkpoint.js";
export { checkOutputPath } from "./reference/output-path.js";
export { planReport, moeView, type PlanReport, type MoeView, type MoeLayerView } from "./reference/prefuse/report.js";
export { type TensorBackend, type BackendName, BACKEND_NAMES } from "./reference/ops/backend.js";
export { typedBackend } from "./reference/ops/typed-backend.js";
export { OnnxBackend, createOnnxBackend } from "./reference/ops/onnx-backend.js";
export { createBackend } from "./reference/ops/engines.js";
export { TensorOpError } from "./reference/ops/geometry.js";
export { STAGES, type Stage, parseStage, runStage, type StageResult } from "./reference/stages.js";
// Fixture generation: deterministic synthetic checkpoints of real MoE families (src/fixtures-gen).
export { listFamilies, FAMILY_NAMES, type FamilyName, type FamilyInfo, type JsonValue } from "./fixtures-gen/families.js";
export { generateCheckpoint, writeGeneratedCheckpoint, IN_MEMORY_LIMIT, type GeneratedCheckpoint, type GeneratedWriteResult } from "./fixtures-gen/generate.js";
export { resolveSpec, moeLayers, type FixtureSpec, type Fp8Options, type ResolvedSpec } from "./fixtures-gen/spec.js";
export { listVariants, parseVariant, formatVariant, PARTIAL_DEFECTS, type Variant, type VariantInfo, type LayerRef, type PartialDefect, type CountKeySetting } from "./fixtures-gen/variants.js";
export { planFixture, type FixturePlan } from "./fixtures-gen/plan.js";
export type { TensorProducer } from "./fixtures-gen/producers.js";
export { encodeE4M3, quantizeBlocks, E4M3_MAX, type BlockSize, type BlockQuantized } from "./fixtures-gen/fp8-quantize.js";
export { describeMoeLayers, countKeysOf, type MoeLayerSummary, type MoeLayout, type CountKeyValue } from "./fixtures-gen/moe-structure.js";
// Real checkpoints from the Hugging Face Hub.
export { REAL_REPOS, type RealRepo } from "./fixtures-gen/real-repos.js";
export { fetchRepo, type FetchRepoOptions, type FetchRepoResult, type FetchedFile } from "./hub/fetch-repo.js";
export { hubSettings, hubCacheDir, type HubSettings } from "./hub/settings.js";
export { HubError, type HubErrorCode } from "./hub/errors.js";
export { parseHubRef, isHubRef, type HubRef } from "./hub/repo-ref.js";
export { checkRealRepos, compareWithCatalogue, type RepoCheck } from "./hub/check.js";
export * from "./golden/corpus.js";
// The golden corpus: case definitions, building, checking and updating it.
export { GOLDEN_CASES } from "./golden/cases.js";
export { buildCase, CaseDefinitionError, type CaseDefinition, type CaseSource, type BuildContext, type BuiltCase } from "./golden/build.js";
export { referenceAnswer, parseInput, outcomeProblem, type CaseInput, type ParsedInput, type ReferenceAnswer } from "./golden/answer.js";
export { checkCorpus, checkCase, type CaseCheck, type CorpusCheck } from "./golden/check.js";
export { diffCorpus, diffTensors, formatDiff, isEmptyDiff, type CorpusDiff, type CaseChange, type FileChange, type TensorChange } from "./golden/diff.js";
export { findFp8Oracle, oracleDequant, FP8_ORACLE_SCRIPT, type Fp8Oracle } from "./golden/fp8-oracle.js";
export { planCorpusUpdate, writeCorpus, readCaseFolders, type UpdatePlan, type UpdateOptions } from "./golden/update.js";
export { runBenchmark, writeReport, rerenderReport, reportStem, type WrittenReport } from "./bench/bench.js";
export { checkReport, checkReportFiles, type ReportFiles } from "./bench/check.js";
export { GRIDS, getGrid, gridPoints, type Grid, type GridBlock, type GridPoint } from "./bench/grid.js";
export { STRATEGIES, getStrategy } from "./bench/strategies/registry.js";
export { STRATEGY_NAMES, type Strategy, type StrategyName } from "./bench/strategies/strategy.js";
export { MemoryLedger } from "./bench/ledger.js";
export { type RunOptions, runGrid } from "./bench/runner.js";
export type { BenchResults, PointResult, TorchRun, TorchSection } from "./bench/results.js";
export { BenchVerificationError } from "./bench/verify.js";
export { planStage } from "./reference/stages.js";
export { writeCaseFolder, addToCorpusIndex, outcomeOf, type NewCase } from "./golden/case-writer.js";
// The release gate (src/gate): checking any prefuse implementation from the outside, through files.
export { runGate, GATE_DEFAULTS, FLOATING_STAGES, type GateOptions, type CorpusChoice } from "./gate/gate.js";
export { STAGE_CONTRACTS, type StageContract } from "./gate/contracts.js";
export { splitTemplate, expandTemplate, PLACEHOLDERS, type Placeholders } from "./gate/template.js";
export { caseArbitrary, toFixtureSpec, caseFeatures, type CaseDraw } from "./gate/case-space.js";
export { compareWeights, type Comparison, type TensorMismatch, type Tolerance } from "./gate/compare.js";
export { ulpDistance, ULP_DTYPES } from "./gate/ulp.js";
export { diagnose } from "./gate/diagnoses/diagnose.js";
export type { Diagnosis, DiagnosisKind, DiagnosisContext } from "./gate/diagnoses/diagnosis.js";
export { judge, failureSignature, type Judgement, type Verdict, type FailureKind } from "./gate/judge.js";
export type { CaseResult } from "./gate/run-case.js";
export { mergeReports, readReport, reportPasses, summaryLine, REPORT_FORMAT, type GateReport, type Totals, type ShrunkCase } from "./gate/report.js";
export { parseShard, inShard, type Shard } from "./gate/shard.js";
export { junitXml } from "./gate/junit.js";
export { markdownSummary } from "./gate/markdown.js";
export { conformanceTable } from "./gate/conformance.js";
export { READING_POINTS, REFERENCE_CHOICE, readingPoints, readingsOf, type ReadingPoint, type ReadingAlternative, type ReadingChoice } from "./gate/readings.js";
export { caseAlternatives, decidingPoints, type CaseAlternatives, type CaseVariant } from "./gate/alternatives.js";
export { settleReadings, readingRows, type ReadingRow, type ReadingsSummary, type ReadingStatus } from "./gate/fingerprint.js";
export { readReadingsFile, readingsFileText, ReadingsFileError, READINGS_FORMAT, type ReadingsFile } from "./gate/readings-file.js";
export { separatingCases, SEPARATING_FROM_RUNS } from "./gate/separating.js";
