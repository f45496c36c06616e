// The golden corpus on disk: the format every consumer relies on (the `golden` commands, the
// release gate, and projects in other languages that read the folders directly).
//
//   <corpus>/index.json                 {"format": 1, "cases": [<case id>, ...]} (sorted)
//   <corpus>/<case id>/case.json        what the case tests (CaseMeta)
//   <corpus>/<case id>/input/config.json
//   <corpus>/<case id>/input/model.safetensors
//   <corpus>/<case id>/expected.safetensors   the stage's whole output (absent for outcome "error")
//   <corpus>/<case id>/manifest.json    {"files": {<relative path>: <sha256 hex>}} of every other file
//
// Case ids carry their outcome like JSONTestSuite's file names: `y_` the stage must transform the
// input (fuse / dequantize), `n_` it must leave it as it is or refuse it, `i_` the contract leaves
// the answer open (the reference's answer is stored, and a comparison reports, never judges).

import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CorpusError } from "../reference/errors.js";
import { type Stage, parseStage } from "../reference/stages.js";

export const CORPUS_FORMAT = 1;
export const INDEX_FILE = "index.json";
export const CASE_FILE = "case.json";
export const MANIFEST_FILE = "manifest.json";
export const INPUT_DIR = "input";
export const EXPECTED_FILE = "expected.safetensors";

export const OUTCOMES = ["transform", "untouched", "error", "open"] as const;
/** transform: the stage changes the input (y_); untouched: it must leave it as is (n_); error: it must refuse it (n_); open: implementation-defined (i_). */
export type Outcome = (typeof OUTCOMES)[number];

export const OUTCOME_PREFIX: Readonly<Record<Outcome, "y_" | "n_" | "i_">> = { transform: "y_", untouched: "n_", error: "n_", open: "i_" };

export interface CaseMeta {
  readonly id: string;
  /** One sentence: what the case tests and why it matters. */
  readonly description: string;
  readonly stage: Stage;
  readonly outcome: Outcome;
  /** Feature tags for filtering and per-feature reports (e.g. "chunk-seam", "numeric-order", "oq-test-plan"). */
  readonly features: readonly string[];
  /** The fixture family the input was generated from, or null for hand-built inputs. */
  readonly family: string | null;
  /** How the input was made (the fixture spec, or a note), so `golden update` can remake it. */
  readonly source: Readonly<Record<string, unknown>>;
  /** What the reference's plan says per layer prefix (fused, untouched, already-fused, dense). */
  readonly layers: Readonly<Record<string, string>>;
  /**
   * The reading points of oQ's contract that decide the outcome (the release gate's
   * src/reference/reading-points.ts): under another alternative of each, the expected output differs.
   */
  readonly points: readonly string[];
  /** For outcome "error": the typed error's stable code. */
  readonly errorCode?: string;
  /** Optional: per untouched layer prefix, why the reference leaves it untouched (one line per finding). */
  readonly reasons?: Readonly<Record<string, readonly string[]>>;
}

export interface GoldenCase {
  readonly dir: string;
  readonly meta: CaseMeta;
  readonly inputDir: string;
  /** Path of expected.safetensors, or undefined for outcome "error". */
  readonly expected: string | undefined;
  /** sha256 of each file the manifest covers (relative path), checked when the case was read. */
  readonly hashes: Readonly<Record<string, string>>;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function bad(file: string, detail: string): CorpusError {
  return new CorpusError("CORPUS_INVALID", detail, { file });
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new CorpusError("CORPUS_FILE_MISSING", "missing", { file });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(file, `not valid JSON (${(e as Error).message})`);
  }
}

function isReasons(v: unknown): v is Record<string, string[]> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((r) => Array.isArray(r) && r.every((x) => typeof x === "string"));
}

function parseMeta(json: unknown, file: string, id: string): CaseMeta {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad(file, "not a JSON object");
  const m = json as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof m[k] !== "string") throw bad(file, `'${k}' must be a string`);
    return m[k] as string;
  };
  if (str("id") !== id) throw bad(file, `id '${m.id}' does not match the folder name '${id}'`);
  const outcome = str("outcome") as Outcome;
  if (!OUTCOMES.includes(outcome)) throw bad(file, `outcome must be one of ${OUTCOMES.join(", ")}`);
  if (!id.startsWith(OUTCOME_PREFIX[outcome])) throw bad(file, `a case with outcome '${outcome}' is named ${OUTCOME_PREFIX[outcome]}...`);
  if (!Array.isArray(m.features) || !m.features.every((f) => typeof f === "string")) throw bad(file, "'features' must be a list of strings");
  if (typeof m.layers !== "object" || m.layers === null) throw bad(file, "'layers' must be an object");
  if (m.points !== undefined && (!Array.isArray(m.points) || !m.points.every((p) => typeof p === "string")))
    throw bad(file, "'points' must be a list of reading point names");
  return {
    id,
    description: str("description"),
    stage: parseStage(str("stage")),
    outcome,
    features: m.features as string[],
    family: typeof m.family === "string" ? m.family : null,
    source: (m.source ?? {}) as Record<string, unknown>,
    layers: m.layers as Record<string, string>,
    points: (m.points ?? []) as string[],
    ...(typeof m.errorCode === "string" ? { errorCode: m.errorCode } : {}),
    ...(isReasons(m.reasons) ? { reasons: m.reasons } : {}),
  };
}

/** The files of a case that the manifest covers, relative to the case folder, sorted. */
export function caseFiles(outcome: Outcome): string[] {
  const files = [CASE_FILE, `${INPUT_DIR}/config.json`, `${INPUT_DIR}/model.safetensors`];
  if (outcome !== "error") files.push(EXPECTED_FILE);
  return files.sort();
}

/** Reads one case and checks every file against its manifest. */
export async function readCase(dir: string, id: string): Promise<GoldenCase> {
  const meta = parseMeta(await readJson(join(dir, CASE_FILE)), join(dir, CASE_FILE), id);
  const manifestFile = join(dir, MANIFEST_FILE);
  const manifest = (await readJson(manifestFile)) as { files?: Record<string, string> };
  const listed = Object.keys(manifest.files ?? {}).sort();
  const wanted = caseFiles(meta.outcome);
  if (listed.join("\n") !== wanted.join("\n")) throw bad(manifestFile, `lists ${listed.join(", ")}; a '${meta.outcome}' case has ${wanted.join(", ")}`);
  for (const f of wanted) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, f));
    } catch {
      throw new CorpusError("CORPUS_FILE_MISSING", "listed in the manifest but missing", { file: join(dir, f) });
    }
    if (sha256(bytes) !== manifest.files![f]) {
      throw new CorpusError("CORPUS_HASH_MISMATCH", `sha256 differs from ${MANIFEST_FILE}: the file changed since the corpus was written`, {
        file: join(dir, f),
      });
    }
  }
  return {
    dir,
    meta,
    inputDir: join(dir, INPUT_DIR),
    expected: meta.outcome === "error" ? undefined : join(dir, EXPECTED_FILE),
    hashes: { ...manifest.files },
  };
}

/**
 * A file of a case read again later (the release gate reads cases while candidates run): the
 * bytes returned are those whose hash matched the one taken when the case was read, so nothing
 * written into the corpus in between is ever used.
 */
export async function readCaseFile(c: GoldenCase, file: string): Promise<Uint8Array> {
  const path = join(c.dir, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new CorpusError("CORPUS_FILE_MISSING", "removed during the run", { file: path });
  }
  if (sha256(bytes) !== c.hashes[file])
    throw new CorpusError("CORPUS_HASH_MISMATCH", "changed during the run (sha256 differs from the one checked at the start)", { file: path });
  return bytes;
}

/** The case ids index.json lists; fails on a folder it does not list. */
export async function readIndex(root: string): Promise<string[]> {
  const indexFile = join(root, INDEX_FILE);
  const index = (await readJson(indexFile)) as { format?: unknown; cases?: unknown };
  if (index.format !== CORPUS_FORMAT) throw bad(indexFile, `format ${String(index.format)} is not ${CORPUS_FORMAT}`);
  if (!Array.isArray(index.cases) || !index.cases.every((c) => typeof c === "string")) throw bad(indexFile, "'cases' must be a list of case ids");
  const ids = index.cases as string[];
  const folders = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const unlisted = folders.filter((f) => !ids.includes(f));
  if (unlisted.length > 0) throw bad(indexFile, `case folder(s) not listed: ${unlisted.join(", ")}`);
  return ids;
}

/** Reads a whole corpus (every case in index.json, and no folder that index.json does not list). */
export async function readCorpus(root: string): Promise<GoldenCase[]> {
  const ids = await readIndex(root);
  const cases: GoldenCase[] = [];
  for (const id of ids) cases.push(await readCase(join(root, id), id));
  return cases;
}
