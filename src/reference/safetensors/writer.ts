// Streaming safetensors writing: the header first (from the layout), then each tensor's chunks
// in layout order. Small chunks are staged into one buffer so that many small tensors cost few
// syscalls; large chunks go straight to the file. Sources that compute their bytes are asked to
// start ahead (`prefetch`), so computing overlaps writing. Every source must yield exactly the
// bytes its spec promises, or the write fails (and, through `atomic.ts`, leaves nothing behind).

import { open, type FileHandle } from "node:fs/promises";
import { OutputError } from "../errors.js";
import { writeFileAtomically } from "../atomic.js";
import { type FileLayout, layoutFile } from "./layout.js";
import type { TensorSource } from "./source.js";

/** Bytes of the staging buffer each file write holds (memory accounting in bench/ counts it). */
export const STAGE = 4 << 20;

/**
 * Bytes of the tensors after the current one that are asked to prefetch (always the next one):
 * enough small computed tensors in flight that the threads computing them are never idle while
 * one is written, few enough that memory stays flat.
 */
export const PREFETCH_BYTES = 8 << 20;

class StagedWriter {
  private readonly stage = new Uint8Array(STAGE);
  private used = 0;
  private position = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length < STAGE / 4) {
      if (this.used + chunk.length > STAGE) await this.flush();
      this.stage.set(chunk, this.used);
      this.used += chunk.length;
      return;
    }
    await this.flush();
    await this.raw(chunk);
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    await this.raw(this.stage.subarray(0, n));
  }

  private async raw(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}

/**
 * Where the prefetch window ends while each tensor is written: tensor k is written while
 * tensors [k + 1, ends[k]) have been asked to start, always the next one, then more while the
 * bytes asked ahead and not yet written total at most PREFETCH_BYTES. The ends never decrease.
 * (plan's memory model counts what the window holds: src/plan/memory.ts.)
 */
export function prefetchEnds(byteLengths: readonly number[]): number[] {
  const ends: number[] = [];
  let next = 0;
  let ahead = 0;
  for (let k = 0; k < byteLengths.length; k++) {
    if (next > k) ahead -= byteLengths[k]!;
    else next = k + 1;
    for (; next < byteLengths.length && (next === k + 1 || ahead + byteLengths[next]! <= PREFETCH_BYTES); next++) ahead += byteLengths[next]!;
    ends.push(next);
  }
  return ends;
}

/** Writes a laid-out file to `path` (which must be a fresh, non-shared path). */
export async function writeLayout(path: string, layout: FileLayout<TensorSource>, displayName = path): Promise<void> {
  const handle = await open(path, "wx");
  try {
    const out = new StagedWriter(handle);
    await out.write(layout.prefix);
    const { placed } = layout;
    const ends = prefetchEnds(placed.map((p) => p.tensor.byteLength));
    // Tensors [1, asked) have been asked to prefetch (the first is written at once), and those
    // of them from `begun` on not yet asked for their chunks: a failure gives back what they started.
    let asked = 1;
    let begun = 0;
    try {
      for (const [k, { name, tensor }] of placed.entries()) {
        for (; asked < ends[k]!; asked++) placed[asked]!.tensor.prefetch?.();
        begun = k + 1;
        await writeTensor(out, name, tensor, displayName);
      }
    } catch (e) {
      for (const { tensor } of placed.slice(begun, asked)) {
        try {
          await tensor.cancel?.();
        } catch {
          // The write's own error is the one to report; the other tensors are still cancelled.
        }
      }
      throw e;
    }
    await out.flush();
  } finally {
    await handle.close();
  }
}

/** Writes one tensor's chunks, which must be exactly the bytes its spec promises. */
async function writeTensor(out: StagedWriter, name: string, tensor: TensorSource, displayName: string): Promise<void> {
  let got = 0;
  for await (const chunk of tensor.chunks()) {
    got += chunk.length;
    if (got > tensor.byteLength) break;
    await out.write(chunk);
  }
  if (got !== tensor.byteLength) {
    throw new OutputError("SOURCE_MISMATCH", `source yielded ${got > tensor.byteLength ? "more than" : got} of the ${tensor.byteLength} bytes its spec needs`, {
      file: displayName,
      tensor: name,
    });
  }
}

/** Writes one .safetensors file atomically. */
export async function writeSafetensorsFile(
  path: string,
  tensors: Iterable<readonly [string, TensorSource]>,
  metadata?: Readonly<Record<string, string>>,
): Promise<{ size: number }> {
  const layout = layoutFile(tensors, metadata, path);
  await writeFileAtomically(path, (temp) => writeLayout(temp, layout, path));
  return { size: layout.size };
}
