// `moe-prefuse inspect` on a ~4 GiB synthetic MoE checkpoint (40 layers x 256 experts x 3
// projections, ~31,000 tensors, sharded with an index, and the same as one file): median wall
// time, CPU time and peak RSS of the real CLI in a child process, side by side with bare `node`
// startup.
// The checkpoint is built cheaply: each shard is its real header followed by a sparse extension
// to the full size (valid safetensors whose data reads as zeros), so it costs no disk.
// Targets (issue 2): well under a second, peak RSS under 150 MB.
// Run: node --import tsx bench/inspect-large.ts   (BENCH_RUNS=n for more rounds)

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { planShards } from "../src/reference/checkpoint-writer.js";
import { CONFIG_FILE, SINGLE_FILE } from "../src/reference/checkpoint.js";
import { layoutFile } from "../src/reference/safetensors/layout.js";
import { INDEX_FILE, serializeShardIndex, shardFileName } from "../src/reference/safetensors/shard-index.js";
import { type TensorSpec, specByteLength } from "../src/reference/tensor.js";
import { fmtMiB, fmtMs, median, runMeasured } from "./support/measure.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "moe-prefuse.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const LAYERS = 40;
const EXPERTS = 256;
const HIDDEN = 512;
const MOE_INTERMEDIATE = 136;
const VOCAB = 32000;

interface Spec extends TensorSpec {
  readonly byteLength: number;
}

function moeTensors(): Map<string, Spec> {
  const m = new Map<string, Spec>();
  const add = (name: string, shape: number[], dtype: TensorSpec["dtype"] = "BF16") =>
    m.set(name, { dtype, shape, byteLength: specByteLength({ dtype, shape }) });
  add("model.embed_tokens.weight", [VOCAB, HIDDEN]);
  add("lm_head.weight", [VOCAB, HIDDEN]);
  add("model.norm.weight", [HIDDEN]);
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    for (const x of ["q", "k", "v", "o"]) add(`${p}.self_attn.${x}_proj.weight`, [HIDDEN, HIDDEN]);
    add(`${p}.input_layernorm.weight`, [HIDDEN]);
    add(`${p}.post_attention_layernorm.weight`, [HIDDEN]);
    add(`${p}.mlp.gate.weight`, [EXPERTS, HIDDEN]);
    for (let e = 0; e < EXPERTS; e++) {
      add(`${p}.mlp.experts.${e}.gate_proj.weight`, [MOE_INTERMEDIATE, HIDDEN]);
      add(`${p}.mlp.experts.${e}.up_proj.weight`, [MOE_INTERMEDIATE, HIDDEN]);
      add(`${p}.mlp.experts.${e}.down_proj.weight`, [HIDDEN, MOE_INTERMEDIATE]);
    }
  }
  return m;
}

/** A valid safetensors file of the full size whose data region is a hole. */
async function sparseFile(path: string, tensors: ReadonlyMap<string, Spec>, names: readonly string[]): Promise<number> {
  const layout = layoutFile(
    names.map((n) => [n, tensors.get(n)!] as const),
    { format: "pt" },
  );
  const handle = await open(path, "wx");
  try {
    await handle.write(layout.prefix, 0, layout.prefix.length, 0);
    await handle.truncate(layout.size);
  } finally {
    await handle.close();
  }
  return layout.size;
}

async function build(dir: string, tensors: ReadonlyMap<string, Spec>, sharded: boolean): Promise<number> {
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify({ model_type: "qwen3_moe", num_hidden_layers: LAYERS, num_experts: EXPERTS }));
  if (!sharded) return sparseFile(join(dir, SINGLE_FILE), tensors, [...tensors.keys()]);
  const groups = planShards(tensors, 1 << 30);
  let size = 0;
  const weightMap = new Map<string, string>();
  for (const [k, g] of groups.entries()) {
    const name = shardFileName(k + 1, groups.length);
    size += await sparseFile(join(dir, name), tensors, g);
    for (const t of g) weightMap.set(t, name);
  }
  const total = [...tensors.values()].reduce((a, t) => a + t.byteLength, 0);
  await writeFile(join(dir, INDEX_FILE), serializeShardIndex(total, weightMap));
  return size;
}

async function main(): Promise<void> {
  // The CLI runs from dist/: build it as users get it.
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
  const base = mkdtempSync(join(tmpdir(), "moe-prefuse-bench-inspect-"));
  try {
    const tensors = moeTensors();
    const cases: { label: string; dir: string; size: number }[] = [];
    for (const sharded of [true, false]) {
      const dir = join(base, sharded ? "sharded" : "single");
      execFileSync("mkdir", [dir]);
      cases.push({ label: sharded ? "sharded (index + shards)" : "single model.safetensors", dir, size: await build(dir, tensors, sharded) });
    }
    process.stdout.write(`checkpoint: ${tensors.size} tensors, ${(cases[0]!.size / 2 ** 30).toFixed(2)} GiB (sparse), ${RUNS} runs each, alternating\n`);

    const commands = [
      { label: "node startup (baseline)", args: ["-e", "0"] },
      ...cases.flatMap((c) => [
        { label: `inspect ${c.label}`, args: [BIN, "inspect", c.dir] },
        { label: `inspect --json ${c.label}`, args: [BIN, "inspect", "--json", c.dir] },
      ]),
    ];
    const results = commands.map(() => ({ ms: [] as number[], cpu: [] as number[], rss: [] as number[] }));
    for (let r = 0; r < RUNS; r++) {
      for (const [i, c] of commands.entries()) {
        const run = runMeasured(process.execPath, c.args);
        if (run.status !== 0) throw new Error(`${c.label} exited ${run.status}: ${run.stderr.slice(0, 500)}`);
        if (c.args.includes("inspect") && !run.stdout.includes("model.layers.39.mlp.experts.255.up_proj.weight"))
          throw new Error(`${c.label}: output lacks the last expert`);
        results[i]!.ms.push(run.wallMs);
        results[i]!.cpu.push(run.cpuMs);
        results[i]!.rss.push(run.maxRssKiB);
      }
    }
    for (const [i, c] of commands.entries()) {
      const { ms, cpu, rss } = results[i]!;
      process.stdout.write(
        `${c.label.padEnd(42)} wall median ${fmtMs(median(ms)).padStart(7)}  cpu median ${fmtMs(median(cpu)).padStart(7)}  peak RSS max ${fmtMiB(Math.max(...rss)).padStart(10)} (median ${fmtMiB(median(rss))})\n`,
      );
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
