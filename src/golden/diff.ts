// What differs between two versions of the corpus, in words a reviewer can check before
// accepting it: cases added and removed, and per changed case which files changed and, for
// safetensors files, which tensors (added, removed, dtype, shape, bytes) and how.

import { parseSafetensors } from "../reference/safetensors/memory.js";
import { formatShape } from "../reference/prefuse/shapes.js";
import { bytesEqual } from "../reference/tensor.js";
import { MANIFEST_FILE } from "./corpus.js";

export interface TensorChange {
  readonly tensor: string;
  readonly change: "added" | "removed" | "dtype" | "shape" | "bytes";
  readonly detail: string;
}

export interface FileChange {
  readonly file: string;
  readonly change: "added" | "removed" | "changed";
  /** For safetensors files: the tensors that differ. */
  readonly tensors?: readonly TensorChange[];
  /** For JSON files: the top-level fields that differ. */
  readonly fields?: readonly string[];
}

export interface CaseChange {
  readonly id: string;
  readonly files: readonly FileChange[];
}

export interface CorpusDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly CaseChange[];
  readonly unchanged: number;
}

/** A case folder's files by relative path. */
export type CaseFiles = ReadonlyMap<string, Uint8Array>;

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Tensor by tensor: what changed from `before` to `after` (both whole safetensors files). */
export function diffTensors(before: Uint8Array, after: Uint8Array): TensorChange[] {
  const a = parseSafetensors(before).tensors;
  const b = parseSafetensors(after).tensors;
  const out: TensorChange[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x === undefined) out.push({ tensor: name, change: "added", detail: `${y!.dtype} ${formatShape(y!.shape)}` });
    else if (y === undefined) out.push({ tensor: name, change: "removed", detail: `${x.dtype} ${formatShape(x.shape)}` });
    else if (x.dtype !== y.dtype) out.push({ tensor: name, change: "dtype", detail: `${x.dtype} -> ${y.dtype}` });
    else if (x.shape.join() !== y.shape.join()) out.push({ tensor: name, change: "shape", detail: `${formatShape(x.shape)} -> ${formatShape(y.shape)}` });
    else if (!bytesEqual(x.data, y.data)) {
      const at = firstDifference(x.data, y.data);
      let differing = 0;
      for (let i = 0; i < x.data.length; i++) if (x.data[i] !== y.data[i]) differing++;
      out.push({ tensor: name, change: "bytes", detail: `${differing} of ${x.data.length} bytes differ, the first at byte ${at}` });
    }
  }
  return out;
}

function jsonFields(before: Uint8Array, after: Uint8Array): string[] | undefined {
  try {
    const a = JSON.parse(new TextDecoder().decode(before)) as Record<string, unknown>;
    const b = JSON.parse(new TextDecoder().decode(after)) as Record<string, unknown>;
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
  } catch {
    return undefined;
  }
}

function diffFile(file: string, before: Uint8Array, after: Uint8Array): FileChange {
  if (file.endsWith(".safetensors")) {
    try {
      return { file, change: "changed", tensors: diffTensors(before, after) };
    } catch {
      return { file, change: "changed" };
    }
  }
  const fields = file.endsWith(".json") ? jsonFields(before, after) : undefined;
  return fields === undefined ? { file, change: "changed" } : { file, change: "changed", fields };
}

function diffCase(id: string, before: CaseFiles, after: CaseFiles): CaseChange | undefined {
  const files: FileChange[] = [];
  // The manifest only restates the other files' hashes.
  for (const file of [...new Set([...before.keys(), ...after.keys()])].filter((f) => f !== MANIFEST_FILE).sort()) {
    const x = before.get(file);
    const y = after.get(file);
    if (x === undefined) files.push({ file, change: "added" });
    else if (y === undefined) files.push({ file, change: "removed" });
    else if (!bytesEqual(x, y)) files.push(diffFile(file, x, y));
  }
  const manifestChanged = !bytesEqual(before.get(MANIFEST_FILE) ?? new Uint8Array(), after.get(MANIFEST_FILE) ?? new Uint8Array());
  if (files.length === 0 && manifestChanged) files.push({ file: MANIFEST_FILE, change: "changed" });
  return files.length === 0 ? undefined : { id, files };
}

export function diffCorpus(before: ReadonlyMap<string, CaseFiles>, after: ReadonlyMap<string, CaseFiles>): CorpusDiff {
  const added = [...after.keys()].filter((id) => !before.has(id)).sort();
  const removed = [...before.keys()].filter((id) => !after.has(id)).sort();
  const changed: CaseChange[] = [];
  let unchanged = 0;
  for (const id of [...after.keys()].filter((k) => before.has(k)).sort()) {
    const c = diffCase(id, before.get(id)!, after.get(id)!);
    if (c === undefined) unchanged++;
    else changed.push(c);
  }
  return { added, removed, changed, unchanged };
}

export function isEmptyDiff(d: CorpusDiff): boolean {
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0;
}

/** Tensors listed per changed file; the rest are counted. */
const MAX_LISTED_TENSORS = 12;

/** The diff as lines: `+ id`, `- id`, `~ id` with its files and tensors indented. */
export function formatDiff(d: CorpusDiff): string[] {
  const lines: string[] = [];
  for (const id of d.added) lines.push(`+ ${id} (new case)`);
  for (const id of d.removed) lines.push(`- ${id} (removed)`);
  for (const c of d.changed) {
    lines.push(`~ ${c.id}`);
    for (const f of c.files) {
      const fields = f.fields === undefined ? "" : f.fields.length > 0 ? `: ${f.fields.join(", ")}` : ": formatting only";
      const sameTensors = f.tensors !== undefined && f.tensors.length === 0 ? ": same tensors, header or metadata differ" : "";
      lines.push(`    ${f.file}: ${f.change}${fields}${sameTensors}`);
      const tensors = f.tensors ?? [];
      for (const t of tensors.slice(0, MAX_LISTED_TENSORS)) lines.push(`      ${t.tensor}: ${t.change} ${t.detail}`);
      if (tensors.length > MAX_LISTED_TENSORS) lines.push(`      ... and ${tensors.length - MAX_LISTED_TENSORS} more tensor(s)`);
    }
  }
  lines.push(`${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged`);
  return lines;
}
