// Write speed: `writeCheckpoint` writing a 1 GiB checkpoint from in-memory tensors, against `cp`
// copying a file of the same size, alternating which goes first, several rounds; medians and
// their ratio. Both write into the page cache of the same filesystem, after a `sync` so that
// neither inherits the other's dirty pages. Target (issue 2): at least half of cp's speed.
// Run: node --import tsx bench/write-speed.ts   (BENCH_ROUNDS=n, BENCH_DIR=<dir on the disk to test>)

import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { writeCheckpoint } from "../src/reference/checkpoint-writer.js";
import { SINGLE_FILE } from "../src/reference/checkpoint.js";
import { type TensorSource, tensorSource } from "../src/reference/safetensors/source.js";
import { fmtMs, median } from "./support/measure.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const GIB = 2 ** 30;

/** An MoE-like weight dict of 1 GiB: 256 expert matrices of 4 MiB and a few small norms. */
function tensors(): Map<string, TensorSource> {
  const m = new Map<string, TensorSource>();
  const experts = 256;
  const [rows, cols] = [1024, 2048];
  for (let e = 0; e < experts; e++) {
    const data = randomFillSync(new Uint8Array(rows * cols * 2));
    m.set(`model.layers.0.mlp.experts.${e}.down_proj.weight`, tensorSource({ dtype: "BF16", shape: [rows, cols], data }));
  }
  for (let l = 0; l < 16; l++) {
    m.set(`model.layers.${l}.input_layernorm.weight`, tensorSource({ dtype: "BF16", shape: [cols], data: randomFillSync(new Uint8Array(cols * 2)) }));
  }
  return m;
}

function sync(): void {
  spawnSync("sync");
}

async function timeWriter(out: string, weights: ReadonlyMap<string, TensorSource>): Promise<number> {
  sync();
  const t0 = performance.now();
  await writeCheckpoint(out, weights);
  return performance.now() - t0;
}

function timeCp(src: string, dst: string): number {
  sync();
  const t0 = performance.now();
  const r = spawnSync("cp", [src, dst]);
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "moe-prefuse-bench-write-"));
  try {
    const weights = tensors();
    // The source for cp: a warm-up write of the same checkpoint, so the sizes are identical.
    await writeCheckpoint(join(base, "warmup"), weights);
    const src = join(base, "source.safetensors");
    renameSync(join(base, "warmup", SINGLE_FILE), src);
    const size = statSync(src).size;
    process.stdout.write(`checkpoint: ${weights.size} tensors, ${(size / GIB).toFixed(3)} GiB; ${ROUNDS} rounds, alternating order; dir ${base}\n`);

    const writer: number[] = [];
    const cp: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const runWriter = async () => {
        const out = join(base, `out-${r}`);
        writer.push(await timeWriter(out, weights));
        rmSync(out, { recursive: true, force: true });
      };
      const runCp = () => {
        const dst = join(base, `copy-${r}.safetensors`);
        cp.push(timeCp(src, dst));
        rmSync(dst, { force: true });
      };
      if (r % 2 === 0) {
        await runWriter();
        runCp();
      } else {
        runCp();
        await runWriter();
      }
      process.stdout.write(`round ${r + 1}: writeCheckpoint ${fmtMs(writer.at(-1)!)}, cp ${fmtMs(cp.at(-1)!)}\n`);
    }
    const speed = (ms: number) => `${(size / GIB / (ms / 1000)).toFixed(2)} GiB/s`;
    const [w, c] = [median(writer), median(cp)];
    process.stdout.write(`writeCheckpoint median ${fmtMs(w)} (${speed(w)})\n`);
    process.stdout.write(`cp              median ${fmtMs(c)} (${speed(c)})\n`);
    process.stdout.write(`ratio: writer speed / cp speed = ${(c / w).toFixed(2)} (target >= 0.5)\n`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
