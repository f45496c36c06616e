// `golden update`: rebuild the corpus from its definitions (src/golden/cases.ts), compare it with
// what is on disk, and (when asked) replace it. The new corpus is written whole into a temporary
// sibling directory and swapped in by renames, so a reader sees the old corpus or the new one,
// never a mixture; files at the corpus root that are not cases (README.md) are carried over.

import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { registerTemp, releaseTemp } from "../reference/cleanup.js";
import { type BuildContext, type BuiltCase, type CaseDefinition, buildCase } from "./build.js";
import { CASE_FILE, CORPUS_FORMAT, INDEX_FILE } from "./corpus.js";
import { type CaseFiles, type CorpusDiff, diffCorpus } from "./diff.js";
import type { Fp8Oracle } from "./fp8-oracle.js";

export interface UpdateOptions {
  /** Folder of the committed FP8 oracle cases (corpus/fp8). */
  readonly fp8Fixtures: string;
  /** The FP8 oracle, or why it cannot run here (its cases then keep their committed expected output). */
  readonly oracle: Fp8Oracle | string;
}

export interface UpdatePlan {
  readonly root: string;
  readonly cases: readonly BuiltCase[];
  readonly diff: CorpusDiff;
  /** Per case, what the build could not do as defined. */
  readonly notes: readonly string[];
}

async function readTree(dir: string, rel = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel === "" ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) for (const [k, v] of await readTree(dir, r)) out.set(k, v);
    else if (e.isFile()) out.set(r, new Uint8Array(await readFile(join(dir, r))));
  }
  return out;
}

/** Every case folder on disk (a folder holding case.json), whatever index.json says. */
export async function readCaseFolders(root: string): Promise<Map<string, CaseFiles>> {
  const out = new Map<string, CaseFiles>();
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw e;
  }
  for (const e of entries.filter((d) => d.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const files = await readTree(join(root, e.name));
    if (files.has(CASE_FILE)) out.set(e.name, files);
  }
  return out;
}

export async function planCorpusUpdate(root: string, definitions: readonly CaseDefinition[], options: UpdateOptions): Promise<UpdatePlan> {
  const ids = definitions.map((d) => d.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new Error(`golden case ${twice} is defined twice`);
  const before = await readCaseFolders(root);
  const ctx: BuildContext = {
    fp8Fixtures: options.fp8Fixtures,
    oracle: options.oracle,
    committed: async (id, file) => before.get(id)?.get(file),
  };
  const cases: BuiltCase[] = [];
  for (const def of [...definitions].sort((a, b) => (a.id < b.id ? -1 : 1))) cases.push(await buildCase(def, ctx));
  const after = new Map(cases.map((c) => [c.meta.id, c.files] as const));
  const notes = cases.flatMap((c) => c.notes.map((n) => `${c.meta.id}: ${n}`));
  return { root, cases, diff: diffCorpus(before, after), notes };
}

export function indexText(ids: readonly string[]): string {
  return `${JSON.stringify({ format: CORPUS_FORMAT, cases: [...ids].sort() }, null, 2)}\n`;
}

/** Writes the planned corpus: a whole new directory, swapped in for the old one. */
export async function writeCorpus(plan: UpdatePlan): Promise<void> {
  const { root } = plan;
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const temp = join(dirname(root), `.${basename(root)}.tmp-${tag}`);
  const old = join(dirname(root), `.${basename(root)}.old-${tag}`);
  registerTemp(temp);
  try {
    await mkdir(temp, { recursive: true });
    for (const c of plan.cases) {
      for (const [file, bytes] of c.files) {
        await mkdir(dirname(join(temp, c.meta.id, file)), { recursive: true });
        await writeFile(join(temp, c.meta.id, file), bytes);
      }
    }
    await writeFile(join(temp, INDEX_FILE), indexText(plan.cases.map((c) => c.meta.id)));
    let hadRoot = true;
    try {
      for (const e of await readdir(root, { withFileTypes: true })) {
        if (e.isFile() && e.name !== INDEX_FILE) await copyFile(join(root, e.name), join(temp, e.name));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      hadRoot = false;
    }
    if (hadRoot) await rename(root, old);
    try {
      await rename(temp, root);
    } catch (e) {
      if (hadRoot) await rename(old, root);
      throw e;
    }
    await rm(old, { recursive: true, force: true });
  } finally {
    await rm(temp, { recursive: true, force: true });
    releaseTemp(temp);
  }
}
