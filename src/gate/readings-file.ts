// The readings file: what `gate --record-readings FILE` writes and `gate --readings FILE` pins.
// Stable, reviewable JSON: the format, the gate that wrote it, the stage, and point -> alternative
// in the points' order (only points the run had evidence for, and read one way). Reading it is
// strict: a missing file, bad JSON, another format or stage, an unknown point or alternative is
// one line naming the file, with a stable code.

import { readFile } from "node:fs/promises";
import { MoePrefuseError } from "../reference/errors.js";
import type { Stage } from "../reference/stages.js";
import type { ReadingsSummary } from "./fingerprint.js";
import { type ReadingChoice, readingPoints } from "../reference/reading-points.js";

export const READINGS_FORMAT = "moe-prefuse-readings/1";

export type ReadingsFileErrorCode = "READINGS_FILE_MISSING" | "READINGS_FILE_INVALID";

export class ReadingsFileError extends MoePrefuseError<ReadingsFileErrorCode> {
  override readonly name = "ReadingsFileError";
}

export interface ReadingsFile {
  readonly format: typeof READINGS_FORMAT;
  /** The gate (tool and version) that recorded it. */
  readonly gate: string;
  readonly stage: Stage;
  /** The implementation it was recorded from. */
  readonly candidate: string;
  /** Point -> alternative. */
  readonly readings: ReadingChoice;
}

/** The file's text for a run's readings table: points read one way only (inferred or pinned and kept). */
export function readingsFileText(summary: ReadingsSummary, meta: { gate: string; stage: Stage; candidate: string }): string {
  const readings = Object.fromEntries(
    summary.rows.filter((r) => r.alternative !== null && (r.status === "inferred" || r.status === "pinned")).map((r) => [r.point, r.alternative!]),
  );
  const file: ReadingsFile = { format: READINGS_FORMAT, gate: meta.gate, stage: meta.stage, candidate: meta.candidate, readings };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Reads and checks a readings file for `stage`: the pinned choice. */
export async function readReadingsFile(file: string, stage: Stage): Promise<ReadingChoice> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ReadingsFileError("READINGS_FILE_MISSING", `cannot read the readings file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      file,
    });
  }
  const bad = (detail: string) => new ReadingsFileError("READINGS_FILE_INVALID", `not a readings file: ${detail}`, { file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`invalid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad("not a JSON object");
  const f = json as Partial<Record<keyof ReadingsFile, unknown>>;
  if (f.format !== READINGS_FORMAT) throw bad(`format ${JSON.stringify(f.format)}, expected ${READINGS_FORMAT}`);
  if (f.stage !== stage) throw bad(`recorded for stage ${JSON.stringify(f.stage)}, this run is stage ${stage}`);
  if (typeof f.readings !== "object" || f.readings === null || Array.isArray(f.readings)) throw bad("'readings' must be an object of point -> alternative");
  const points = readingPoints(stage);
  const choice: Record<string, string> = {};
  for (const [point, alt] of Object.entries(f.readings as Record<string, unknown>)) {
    const p = points.find((x) => x.id === point);
    if (p === undefined) throw bad(`unknown reading point '${point}' (known: ${points.map((x) => x.id).join(", ")})`);
    if (typeof alt !== "string" || !p.alternatives.some((a) => a.id === alt)) {
      throw bad(`'${point}' must be one of ${p.alternatives.map((a) => a.id).join(", ")}, not ${JSON.stringify(alt)}`);
    }
    choice[point] = alt;
  }
  return choice;
}
