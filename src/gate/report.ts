// The gate's JSON report (`--report`): the run's settings, every case's result with its reason
// and diagnoses, skipped cases, saved counterexamples and the totals. Shards of one run (same
// stage, candidate, corpus, seed and runs) merge into the report of the whole run, which reads
// as if it had run on one machine.

import { readFile } from "node:fs/promises";
import { UsageError } from "../reference/errors.js";
import type { Stage } from "../reference/stages.js";
import type { SkippedCase } from "./cases.js";
import type { Tolerance } from "./compare.js";
import type { CaseResult } from "./run-case.js";
import { type ReadingsSummary, settleReadings } from "./fingerprint.js";
import type { Shard } from "./shard.js";

export const REPORT_FORMAT = "moe-prefuse-gate-report/1";

export interface ShrunkCase {
  /** The generated case that failed. */
  readonly from: string;
  /** Its failure (first diagnosis, or the kind of failure) that the shrunk case keeps. */
  readonly signature: string;
  /** The golden case folder written, ready to commit. */
  readonly path: string;
  readonly id: string;
  readonly label: string;
  /** Candidate runs the shrinking took. */
  readonly runs: number;
}

export interface Totals {
  readonly passed: number;
  readonly failed: number;
  /** i_ cases: run and recorded, not judged. */
  readonly open: number;
  /** Corpus cases outside the stage's contract. */
  readonly skipped: number;
}

export interface GateReport {
  readonly format: typeof REPORT_FORMAT;
  readonly tool: string;
  readonly stage: Stage;
  readonly contract: string;
  /** The command template, as given. */
  readonly candidate: string;
  /** The candidate protocol that ran: `case/1` (a process per case) or `serve/1` (workers); absent in reports of older versions (case/1). */
  readonly protocol?: "case/1" | "serve/1";
  /** serve/1: workers replaced because one died, timed out or broke the protocol. */
  readonly restarts?: number;
  /** A short name for the implementation (conformance tables). */
  readonly name: string;
  readonly corpus: string | null;
  readonly seed: number;
  readonly runs: number;
  readonly tolerance: Tolerance | null;
  /** The shards this report covers (all of them once merged). */
  readonly shards: readonly Shard[];
  /** Cases of the whole run, all shards together. */
  readonly totalCases: number;
  readonly durationMs: number;
  readonly cases: readonly CaseResult[];
  readonly skipped: readonly SkippedCase[];
  readonly shrunk: readonly ShrunkCase[];
  readonly totals: Totals;
  /** The readings table (reading points of the stage; absent in reports of older versions). */
  readonly readings?: ReadingsSummary;
}

export function totalsOf(cases: readonly CaseResult[], skipped: readonly SkippedCase[]): Totals {
  const count = (v: CaseResult["verdict"]) => cases.filter((c) => c.verdict === v).length;
  return { passed: count("pass"), failed: count("fail"), open: count("open"), skipped: skipped.length };
}

/** The closing line of every gate run: `N passed, M failed`. */
export function summaryLine(t: Totals): string {
  return `${t.passed} passed, ${t.failed} failed`;
}

/** Cases the report's shards hold (every case of the run once all shards are merged). */
export function casesCovered(r: GateReport): number {
  const count = r.shards[0]?.count ?? 1;
  const per = (index: number) => Math.floor(r.totalCases / count) + (index - 1 < r.totalCases % count ? 1 : 0);
  return r.shards.reduce((n, s) => n + per(s.index), 0);
}

/** A report passes when no case failed and every case of its shards is in it. */
export function reportPasses(r: GateReport): boolean {
  return r.totals.failed === 0 && r.cases.length === casesCovered(r);
}

export async function readReport(file: string): Promise<GateReport> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new UsageError("INVALID_ARGUMENT", `${file}: not a readable JSON gate report (${(e as Error).message})`);
  }
  const r = parsed as Partial<GateReport>;
  if (r.format !== REPORT_FORMAT || !Array.isArray(r.cases) || !Array.isArray(r.shards)) {
    throw new UsageError("INVALID_ARGUMENT", `${file}: not a gate report (format ${JSON.stringify(r.format)}, expected ${REPORT_FORMAT})`);
  }
  return r as GateReport;
}

const SAME_RUN: readonly (keyof GateReport)[] = ["stage", "candidate", "corpus", "seed", "runs", "totalCases"];

/** Shards of one run were pinned to the same readings. */
const pinnedOf = (r: GateReport) => JSON.stringify(r.readings?.pinned ?? null);

/** The report of a whole run from the reports of its shards; refuses reports of different runs, repeated or missing shards. */
export function mergeReports(reports: readonly GateReport[]): GateReport {
  const first = reports[0];
  if (first === undefined) throw new UsageError("INVALID_ARGUMENT", "merge needs at least one report");
  for (const r of reports.slice(1)) {
    for (const k of SAME_RUN) {
      if (JSON.stringify(r[k]) !== JSON.stringify(first[k])) {
        throw new UsageError(
          "INVALID_ARGUMENT",
          `reports of different runs: ${k} is ${JSON.stringify(first[k])} in one and ${JSON.stringify(r[k])} in another`,
        );
      }
    }
    if (pinnedOf(r) !== pinnedOf(first))
      throw new UsageError("INVALID_ARGUMENT", `reports of different runs: pinned readings ${pinnedOf(first)} in one and ${pinnedOf(r)} in another`);
  }
  const shards = reports.flatMap((r) => r.shards).sort((a, b) => a.index - b.index);
  const count = shards[0]?.count ?? 1;
  if (shards.some((s) => s.count !== count)) throw new UsageError("INVALID_ARGUMENT", "reports split the run into different numbers of shards");
  const seen = new Set<number>();
  for (const s of shards) {
    if (seen.has(s.index)) throw new UsageError("INVALID_ARGUMENT", `shard ${s.index}/${count} appears twice`);
    seen.add(s.index);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0)
    throw new UsageError("INVALID_ARGUMENT", `shard(s) ${missing.map((i) => `${i}/${count}`).join(", ")} missing: merge the reports of every shard`);
  // Each shard inferred readings from its own cases: the whole run's are settled again over all of them.
  const pinned = first.readings?.pinned ?? null;
  const settled = settleReadings(
    reports.flatMap((r) => r.cases).sort((a, b) => a.index - b.index),
    (first.readings?.rows ?? []).map((r) => r.point),
    pinned,
  );
  const cases = settled.cases;
  const skipped = first.skipped;
  return {
    ...first,
    shards,
    durationMs: Math.max(...reports.map((r) => r.durationMs)),
    cases,
    skipped,
    shrunk: reports.flatMap((r) => r.shrunk),
    ...(first.restarts !== undefined ? { restarts: reports.reduce((n, r) => n + (r.restarts ?? 0), 0) } : {}),
    totals: totalsOf(cases, skipped),
    ...(first.readings !== undefined ? { readings: settled.summary } : {}),
  };
}
